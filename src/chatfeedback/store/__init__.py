"""Persistence: the schema, its migrations and the Store that owns them.

The names below load on first use, so that importing one store module (the schema, the
filters, the Parquet reader's child process) does not load the whole Store."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .arena import ArenaRound, ArenaVote
    from .filters import Filters
    from .store import Conversation, Message, Rating, Store

__all__ = ["ArenaRound", "ArenaVote", "Conversation", "Filters", "Message", "Rating", "Store"]

# Where each name lives.
_LAZY = {"ArenaRound": ".arena", "ArenaVote": ".arena", "Filters": ".filters",
         "Conversation": ".store", "Message": ".store", "Rating": ".store", "Store": ".store"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
