"""The error tree: every message is written for the person who reads it.

    ChatfeedbackError
     ├── ConfigError      bad settings file, env variable, flag or model entry
     ├── StoreError       the database could not be opened, read or written
     │    └── NotFound    a conversation or message that does not exist (or is not yours)
     ├── FeedbackError    a rating that the rules refuse (locked, out of range, too long)
     ├── ReviewError      a review action the rules refuse (unknown queue, not your item)
     └── BackendError     a model server failed; the text says what failed and where

The CLI prints ``str(error)`` as one line and exits with code 2; the UI shows it in place.
"""

from __future__ import annotations


class ChatfeedbackError(Exception):
    """Base class: ``str(err)`` is a one-line message meant for the user."""


class ConfigError(ChatfeedbackError):
    pass


class StoreError(ChatfeedbackError):
    pass


class NotFound(StoreError):
    pass


class FeedbackError(ChatfeedbackError):
    pass


class ReviewError(ChatfeedbackError):
    pass


class BackendError(ChatfeedbackError):
    """A model server failed. ``partial`` is whatever text arrived before the failure."""

    def __init__(self, message: str, *, partial: str = "") -> None:
        super().__init__(message)
        self.partial = partial
