"""An outbox event as an evaluation result: its name, value and label, and the trace it
belongs to. One rule for the sinks that speak in scores (Langfuse, OpenTelemetry).

- ``name``: a review event's criterion; ``arena`` for a vote; else the sink's configured
  name (``user_feedback`` by default) for ratings.
- ``value``: the stored number (thumbs 0/1, faces and stars 1-5, a review's number, a
  vote's index); None on a clear, and on a ``comment`` or ``tags`` event: those annotate a
  rating given earlier (they carry its value as it stands), and counting that value again
  would weigh a commented answer twice.
- ``label``: a vote's winner or a choice criterion's option, else the scale's words for
  the value (``thumbs up``, ``4/5 stars``: see scales.LABELS); None without a value.
- trace context: an answer's external trace id read as a W3C ``traceparent``
  (``00-<32 hex>-<16 hex>-<2 hex>``: trace and span) or as 32 hex digits (a trace);
  anything else (an ``x-request-id`` such as ``req_abc``) is no trace context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from .. import scales
from .base import Event

DEFAULT_NAME = "user_feedback"
ARENA_NAME = "arena"
NOTES = ("comment", "tags")  # events that annotate a rating instead of giving one

_HEX32 = re.compile(r"[0-9a-f]{32}")
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")


@dataclass(frozen=True)
class Evaluation:
    name: str
    value: float | None
    label: str | None


def evaluation(event: Event, name: str = DEFAULT_NAME) -> Evaluation:
    """What ``event`` says as one evaluation result (see the module docstring)."""
    if event.action == "review" and event.criterion:
        name = event.criterion
    elif event.action == "vote":
        name = ARENA_NAME
    if event.action in NOTES:
        return Evaluation(name=name, value=None, label=None)
    value = None if event.value is None else float(event.value)
    label = event.label
    if label is None and event.scale in scales.RANGES and event.value is not None:
        label = scales.label(event.scale, event.value)
    return Evaluation(name=name, value=value, label=label)


def trace_context(trace_id: str | None) -> tuple[str, str | None] | None:
    """``(trace id, span id or None)`` as lowercase hex when ``trace_id`` is a W3C
    traceparent or a 32-hex trace id (not all zeros); None otherwise."""
    if not trace_id:
        return None
    text = trace_id.strip().lower()
    parent = _TRACEPARENT.fullmatch(text)
    if parent is not None:
        trace, span = parent.group(1), parent.group(2)
        if int(trace, 16) and int(span, 16):
            return trace, span
        return None
    if _HEX32.fullmatch(text) and int(text, 16):
        return text, None
    return None


def event_time(at: str) -> datetime | None:
    """The event's ISO 8601 time, timezone-aware (a naive time is UTC); None if unreadable."""
    try:
        when = datetime.fromisoformat(at)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
