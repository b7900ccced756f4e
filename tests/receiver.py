"""The tests' name for :mod:`harness.receiver`."""

from harness.receiver import Receiver, Request

__all__ = ["Receiver", "Request"]
