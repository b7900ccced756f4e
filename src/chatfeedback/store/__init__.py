"""Persistence: the schema, its migrations and the Store that owns them."""

from .filters import Filters
from .store import Conversation, Message, Rating, Store

__all__ = ["Conversation", "Filters", "Message", "Rating", "Store"]
