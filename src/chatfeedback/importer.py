"""Import conversations from JSON Lines in the OpenAI chat format, one conversation a line.

Each line: ``{"messages": [{"role": ..., "content": ...}, ...], "model": "...",
"metadata": {...}}`` (``model`` and ``metadata`` optional). Content is a string or a list
of text parts (``[{"type": "text", "text": ...}]``); the ``developer`` role counts as
``system``; other keys are ignored. A line that does not fit is reported with its number and the reason and the
other lines are still imported, each conversation in its own transaction.

Rated logs: a conversation may carry ``user`` (the person: its owner, and the unit of an
experiment), ``experiment`` and ``arm``; an assistant message may carry ``rating``:
``{"value": 1, "scale": "thumbs", "rater": "ann@example.org", "rated_at":
"2026-11-02T10:00:00Z"}`` (``rater`` and ``rated_at`` optional: the user, and now). Each
rating is a ``set`` event at its own time, through Store.rate, so it counts everywhere
(dashboard, running totals, experiment reports, exports).

Traced logs: an assistant message may carry ``trace_id``, the answer's id in an
observability tool (Langfuse, an OpenTelemetry trace, a request id); a ``trace_id`` on the
line itself is its last answer's (a log of one call: the messages and the completion).
The Langfuse and OpenTelemetry sinks send that answer's ratings to that trace.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any, TypeVar

from . import scales
from .errors import ChatfeedbackError, FeedbackError
from .store import Store

T = TypeVar("T")

TRACE_ID_LIMIT = 200  # characters (messages.trace_id's size)
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


class LineError(ChatfeedbackError):
    """One line of an import file that cannot be imported; ``str()`` is the reason."""


@dataclass(frozen=True)
class ImportedRating:
    answer: int            # which assistant message of the conversation (0 = the first)
    value: int
    scale: str
    rater: str | None
    rated_at: datetime | None


@dataclass(frozen=True)
class Parsed:
    messages: list[tuple[str, str]]
    model: str | None
    metadata: dict[str, Any] | None
    user: str | None = None
    experiment: str | None = None
    arm: str | None = None
    ratings: tuple[ImportedRating, ...] = ()
    trace_ids: tuple[str | None, ...] = ()  # one per message (None: none, or not an answer)


@dataclass(frozen=True)
class Outcome:
    """What happened to one non-blank line: a conversation id, or an error."""

    line: int
    conversation_id: str | None = None
    error: str | None = None


def json_object(text: str) -> dict[str, Any]:
    """The JSON object on one line, or LineError saying what is wrong with it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LineError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise LineError(f"expected a JSON object, got {json_kind(data)}")
    return data


def parse_line(text: str) -> Parsed:
    """The conversation on one line, or LineError saying what is wrong with it."""
    data = json_object(text)
    raw = data.get("messages")
    if not isinstance(raw, list) or not raw:
        raise LineError("'messages' must be a non-empty list")
    model = data.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise LineError("'model' must be a non-empty string")
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise LineError(f"'metadata' must be an object, got {json_kind(metadata)}")
    user, experiment, arm = (_text(data, key) for key in ("user", "experiment", "arm"))
    if (experiment is None) != (arm is None):
        raise LineError("'experiment' and 'arm' go together: give both or neither")
    messages = [parse_message(item, n) for n, item in enumerate(raw, start=1)]
    for n, (previous, current) in enumerate(pairwise(messages), start=2):
        if previous[0] == current[0] == "assistant":
            raise LineError(f"message {n}: two assistant messages in a row (an answer must "
                            "follow a user message)")
    ratings, answers = [], 0
    for n, (item, (role, _)) in enumerate(zip(raw, messages, strict=True), start=1):
        if "rating" in item:
            if role != "assistant":
                raise LineError(f"message {n}: only assistant messages can carry a rating")
            ratings.append(_rating(item["rating"], n, answers, user))
        answers += role == "assistant"
    return Parsed(messages, model.strip() if model else None, metadata, user, experiment,
                  arm, tuple(ratings), _trace_ids(data, raw, messages))


def _trace_ids(data: dict[str, Any], raw: list[Any],
               messages: list[tuple[str, str]]) -> tuple[str | None, ...]:
    """Each message's trace id: its own ``trace_id`` (answers only), the line's for the
    last answer that has none."""
    found: list[str | None] = []
    for n, (item, (role, _)) in enumerate(zip(raw, messages, strict=True), start=1):
        trace = _trace_id(item, f"message {n}: ")
        if trace is not None and role != "assistant":
            raise LineError(f"message {n}: only assistant messages can carry a trace_id")
        found.append(trace)
    line_trace = _trace_id(data, "")
    if line_trace is not None:
        last = max((i for i, (role, _) in enumerate(messages) if role == "assistant"),
                   default=None)
        if last is None:
            raise LineError("'trace_id' belongs to an answer, and the line has none")
        found[last] = found[last] or line_trace
    return tuple(found)


def _trace_id(data: dict[str, Any], where: str) -> str | None:
    value = data.get("trace_id")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > TRACE_ID_LIMIT:
        raise LineError(f"{where}'trace_id' must be a non-empty string of at most "
                        f"{TRACE_ID_LIMIT} characters, got {json_kind(value)}")
    return value.strip()


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise LineError(f"'{key}' must be a non-empty string, got {json_kind(value)}")
    return value.strip()


def _rating(raw: Any, n: int, answer: int, user: str | None) -> ImportedRating:
    where = f"message {n}: rating"
    if not isinstance(raw, dict):
        raise LineError(f"{where} must be an object like {{\"value\": 1, \"scale\": "
                        f"\"thumbs\"}}, got {json_kind(raw)}")
    unknown = sorted(set(raw) - {"value", "scale", "rater", "rated_at"})
    if unknown:
        raise LineError(f"{where}: unknown key '{unknown[0]}'")
    scale, value = raw.get("scale", "thumbs"), raw.get("value")
    try:
        scales.check(scale, value)
    except FeedbackError as exc:
        raise LineError(f"{where}: {exc}") from None
    if value is None:
        raise LineError(f"{where}: 'value' is required")
    rater = raw.get("rater")
    if rater is not None and (not isinstance(rater, str) or not rater.strip()):
        raise LineError(f"{where}: 'rater' must be a non-empty string")
    when = raw.get("rated_at")
    rated_at = None
    if when is not None:
        try:
            rated_at = datetime.fromisoformat(when) if isinstance(when, str) else None
        except ValueError:
            rated_at = None
        if rated_at is None:
            raise LineError(f"{where}: 'rated_at' must be an ISO 8601 time like "
                            f"\"2026-11-02T10:00:00Z\", got {when!r}")
        if rated_at.tzinfo is None:
            rated_at = rated_at.replace(tzinfo=UTC)  # times without a zone are UTC
    return ImportedRating(answer, value, scale, (rater or user or None), rated_at)


def parse_message(item: Any, n: int) -> tuple[str, str]:
    if not isinstance(item, dict):
        raise LineError(f"message {n}: expected an object, got {json_kind(item)}")
    role = item.get("role")
    if role not in ROLES:
        raise LineError(f"message {n}: role {role!r} is not supported (use system, user or "
                        "assistant)")
    return ROLES[role], _content(item.get("content"), n)


def _content(content: Any, n: int) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" \
                    or not isinstance(part.get("text"), str):
                kind = part.get("type") if isinstance(part, dict) else json_kind(part)
                raise LineError(f"message {n}: only text content can be imported (found a "
                                f"{kind!r} part)")
            texts.append(part["text"])
        return "".join(texts)
    raise LineError(f"message {n}: 'content' must be a string or a list of text parts, "
                    f"got {json_kind(content)}")


def parsed_lines(lines: Iterable[str | bytes],
                 parse: Callable[[str], T]) -> Iterator[tuple[int, T | LineError]]:
    """Each non-blank line's number with what ``parse`` made of it, or the LineError that
    says what is wrong with it (bytes must be UTF-8; a BOM on the first line is allowed)."""
    for number, raw in enumerate(lines, start=1):
        try:
            text = _decode(raw, number)
            if not text.strip():
                continue
            parsed: T | LineError = parse(text)
        except LineError as exc:
            parsed = exc
        yield number, parsed


def _decode(raw: str | bytes, number: int) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise LineError(f"not UTF-8 text (byte {exc.start + 1} of the line)") from None


def json_kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null", int: "a number", float: "a number"}.get(type(value),
                                                                         type(value).__name__)


def import_lines(store: Store, lines: Iterable[str | bytes], *,
                 owner: str | None = None, batch: str | None = None) -> Iterator[Outcome]:
    """Import each non-blank line as one conversation (one transaction each), yielding an
    Outcome per line as it goes so that a caller can report progress on big files.
    Lines given as bytes must be UTF-8 (a BOM on the first line is allowed). ``batch``
    marks every conversation as part of one import (a review queue can select it)."""
    for number, parsed in parsed_lines(lines, parse_line):
        if isinstance(parsed, LineError):
            yield Outcome(number, error=str(parsed))
            continue
        conversation = store.import_conversation(
            parsed.messages, model=parsed.model, meta=parsed.metadata,
            owner=parsed.user or owner, import_batch=batch, experiment=parsed.experiment,
            arm=parsed.arm, unit=parsed.user, trace_ids=parsed.trace_ids)
        if parsed.ratings:
            answers = [m.id for m in store.messages(conversation.id) if m.role == "assistant"]
            for rating in parsed.ratings:
                store.rate(answers[rating.answer], rating.value, scale=rating.scale,
                           actor=rating.rater, at=rating.rated_at)
        yield Outcome(number, conversation_id=conversation.id)
