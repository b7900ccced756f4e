"""chatfeedback: chat with your LLM and rate every answer; durable feedback, analytics and
training-ready exports.

The Python API (see :mod:`chatfeedback.api`) for apps that answer with their own model::

    import chatfeedback

    fb = chatfeedback.connect("sqlite:///feedback.db")
    turn = fb.log("What is 2 + 2?", "4", model="my-model", user="ann@example.org")
    fb.rate(turn.answer.id, 1, rater="ann@example.org")

The drop-in chat for a Streamlit app is ``chatfeedback.streamlit.feedback_chat``.

Importing the package is cheap: the API's modules (SQLAlchemy, Alembic...) load on first use
of a name below, so the CLI and the UI, which import ``chatfeedback.*`` modules, pay nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    BackendError,
    ChatfeedbackError,
    ConfigError,
    FeedbackError,
    NotFound,
    ReviewError,
    StoreError,
)

if TYPE_CHECKING:
    from .api import Feedback, connect
    from .chat import Turn
    from .store.arena import ArenaRound, ArenaVote
    from .store.records import Conversation, Message, Rating

    __version__: str

__all__ = ["ArenaRound", "ArenaVote", "BackendError", "ChatfeedbackError", "ConfigError", "Conversation", "Feedback",
           "FeedbackError", "Message", "NotFound", "Rating", "ReviewError", "StoreError",
           "Turn", "__version__", "connect"]

# Where each lazily loaded name lives.
_LAZY = {"Feedback": ".api", "connect": ".api", "Turn": ".chat",
         "ArenaRound": ".store.arena", "ArenaVote": ".store.arena",
         "Conversation": ".store.records", "Message": ".store.records",
         "Rating": ".store.records"}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        value: Any = version("chatfeedback")
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    else:
        raise AttributeError(f"module 'chatfeedback' has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
