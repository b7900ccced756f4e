"""What the Store returns: conversations, messages and ratings as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .engine import as_utc


@dataclass(frozen=True)
class Conversation:
    id: str
    owner: str | None
    title: str
    model: str | None
    source: str
    training_consent: bool
    meta: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    import_batch: str | None = None
    experiment: str | None = None    # a randomized experiment's conversation: its name,
    arm: str | None = None           # the arm it was assigned,
    unit: str | None = None          # the unit randomized (a person or the conversation)
    assignment_p: float | None = None  # and the chance of that arm


@dataclass(frozen=True)
class Message:
    id: str
    conversation_id: str
    parent_id: str | None
    turn: int
    role: str
    content: str
    version: int = 1
    selected: bool = True
    status: str = "complete"
    error: str | None = None
    model: str | None = None
    backend: str | None = None
    settings: dict[str, Any] | None = None
    system_prompt: str | None = None
    ttft_ms: float | None = None
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    finish_reason: str | None = None
    trace_id: str | None = None  # the answer's trace in an observability tool, if known
    shown_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    siblings: int = 1  # how many versions answer the same prompt


@dataclass(frozen=True)
class Rating:
    message_id: str
    conversation_id: str
    scale: str
    value: int | None
    comment: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    rater: str | None = None
    rated_at: datetime | None = None


# The generation metadata an answer row takes beside its text and status.
ANSWER_FIELDS = {"model", "backend", "settings", "system_prompt", "ttft_ms", "latency_ms",
                 "prompt_tokens", "completion_tokens", "total_tokens", "finish_reason",
                 "error", "trace_id"}


def to_conversation(row: Any) -> Conversation:
    data = dict(row)
    data["created_at"] = as_utc(data["created_at"])
    data["updated_at"] = as_utc(data["updated_at"])
    return Conversation(**data)


def to_message(row: Any, siblings: int = 1) -> Message:
    data = dict(row)
    data.pop("context_from", None)  # read with Store.context, never part of a Message
    data.pop("context", None)
    for key in ("created_at", "updated_at", "shown_at"):
        data[key] = as_utc(data[key])
    return Message(**data, siblings=siblings)


def to_rating(row: Any) -> Rating:
    return Rating(message_id=row["message_id"], conversation_id=row["conversation_id"],
                  scale=row["scale"], value=row["value"], comment=row["comment"],
                  tags=tuple(row["tags"] or ()), rater=row["rater"],
                  rated_at=as_utc(row["rated_at"]))
