"""Persistence: the schema, its migrations and the Store that owns them."""

from .store import Conversation, Message, Rating, Store

__all__ = ["Conversation", "Message", "Rating", "Store"]
