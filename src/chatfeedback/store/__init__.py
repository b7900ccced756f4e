"""Persistence: the schema, its migrations and the Store that owns them."""

from .arena import ArenaRound, ArenaVote
from .filters import Filters
from .store import Conversation, Message, Rating, Store

__all__ = ["ArenaRound", "ArenaVote", "Conversation", "Filters", "Message", "Rating", "Store"]
