"""Persistence: the schema, its migrations and the Store that owns them."""

from .store import Conversation, Exposure, Message, Rating, Store

__all__ = ["Conversation", "Exposure", "Message", "Rating", "Store"]
