"""The one query behind every rated-answer row (the exports, the Parquet reader, the
dashboard's lowest-rated answers), its columns, and the order of a turn's messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, String, Text, case, cast, func, select, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from .filters import Filters
from .schema import conversations, messages, ratings

# A turn's messages in the order they were said: system, prompt, answer.
ROLE_ORDER = case((messages.c.role == "system", 0), (messages.c.role == "user", 1), else_=2)

# The columns of an exported rated answer (JSON Lines, CSV and Parquet), in their order.
EXPORT_COLUMNS = (
    "conversation_id", "message_id", "prompt", "response", "rating", "scale", "score",
    "comment", "tags", "model", "backend", "settings", "system_prompt", "status", "version",
    "versions", "ttft_ms", "latency_ms", "prompt_tokens", "completion_tokens", "total_tokens",
    "finish_reason", "created_at", "rated_at", "rater", "experiment", "arm", "trace_id",
)
_CONVERSATION_COLUMNS = ("training_consent", "owner", "experiment", "arm")

PROMPT = messages.alias("prompt")
_SIBLING = messages.alias("sibling")


def answer_columns(rated: Any = ratings, *, raw: bool = False,
                   text_times: bool = False) -> dict[str, Any]:
    """Every column a rated-answer row can have, by name. ``rated``: the ratings table or a
    selectable with its columns. ``raw``: JSON columns as their JSON text; ``text_times``
    (SQLite): times as their stored UTC text, for readers that convert whole columns."""
    def json(column: Any) -> Any:
        return cast(column, Text) if raw else column

    def when(column: Any) -> Any:
        return type_coerce(column, String) if text_times else column

    versions = (select(func.count()).where(_SIBLING.c.parent_id == messages.c.parent_id)
                .scalar_subquery())
    return {
        "conversation_id": rated.c.conversation_id, "message_id": rated.c.message_id,
        "prompt": PROMPT.c.content, "response": messages.c.content, "rating": rated.c.value,
        "scale": rated.c.scale, "score": rated.c.score, "comment": rated.c.comment,
        "tags": json(rated.c.tags), "model": messages.c.model, "backend": messages.c.backend,
        "settings": json(messages.c.settings), "system_prompt": messages.c.system_prompt,
        "status": messages.c.status, "version": messages.c.version, "versions": versions,
        "parent_id": messages.c.parent_id, "turn": messages.c.turn,
        "ttft_ms": messages.c.ttft_ms, "latency_ms": messages.c.latency_ms,
        "prompt_tokens": messages.c.prompt_tokens,
        "completion_tokens": messages.c.completion_tokens,
        "total_tokens": messages.c.total_tokens, "finish_reason": messages.c.finish_reason,
        "created_at": when(messages.c.created_at), "rated_at": when(rated.c.rated_at),
        "rater": rated.c.rater, "training_consent": conversations.c.training_consent,
        "owner": conversations.c.owner, "experiment": conversations.c.experiment,
        "arm": conversations.c.arm, "trace_id": messages.c.trace_id,
    }


def rated_answers(names: Sequence[str], filters: Filters | None = Filters(), *,
                  rated: Any = ratings, raw: bool = False,
                  text_times: bool = False) -> Select[Any]:
    """The rated answers that pass ``filters`` (None: ``rated`` is already filtered), with
    the columns ``names`` (see :func:`answer_columns`), oldest rating first."""
    columns = answer_columns(rated, raw=raw, text_times=text_times)
    source = rated.join(messages, messages.c.id == rated.c.message_id)
    if any(name in _CONVERSATION_COLUMNS for name in names):
        source = source.join(conversations, conversations.c.id == rated.c.conversation_id)
    where: list[ColumnElement[Any]] = [] if filters is None else filters.rated(rated)
    return (select(*(columns[name].label(name) for name in names))
            .select_from(source.outerjoin(PROMPT, PROMPT.c.id == messages.c.parent_id))
            .where(*where).order_by(rated.c.rated_at, rated.c.message_id))
