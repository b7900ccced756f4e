"""What a sink sees and promises: the :class:`Event`, the :class:`Sink` contract and a
``[[sinks]]`` entry's :class:`SinkSettings`. No SQL, no Streamlit, no network."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Protocol

from ..errors import ChatfeedbackError, ConfigError

KINDS = ("webhook", "langfuse", "otel")


@dataclass(frozen=True)
class Event:
    """One outbox row as a sink sees it: a rating event and the state it left behind.

    ``action``: ``set`` | ``change`` | ``clear`` | ``comment`` | ``tags`` (a rating),
    ``vote`` (an arena vote on answer A's ``message_id``: ``label`` is the winner,
    ``model_a`` | ``model_b`` | ``tie`` | ``tie (bothbad)``, ``value`` its index, ``model``
    "A vs B", ``scale`` "arena"), ``review`` (a reviewer's judgement of one ``criterion``:
    ``label`` the value as stored, ``value`` it as a number when it is one).
    Every event carries the answer's rating as it stands after it (``value``, ``scale``,
    ``comment``, ``tags``) so that one event is enough to know the state.
    """

    id: str                        # the rating event's id: the idempotency key
    action: str
    message_id: str | None
    conversation_id: str | None
    value: int | None              # the stored rating value (None on clear)
    scale: str | None              # thumbs | faces | stars | arena | a criterion's kind
    actor: str                     # the rater
    at: str                        # ISO 8601 UTC
    model: str | None = None       # the answer's model entry name
    trace_id: str | None = None    # the answer's external trace id, when it carries one
    comment: str | None = None
    tags: tuple[str, ...] = ()
    criterion: str | None = None   # review events: the rubric criterion judged
    label: str | None = None       # vote winner, a choice criterion's option

    def as_json(self) -> dict[str, Any]:
        """Every field, JSON-ready: what a webhook POSTs."""
        data = asdict(self)
        data["tags"] = list(self.tags)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        """The event stored in the outbox (unknown keys ignored, missing optional ones
        defaulted, so that rows written by an older or newer version still read)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["tags"] = tuple(values.get("tags") or ())
        values.setdefault("actor", "")
        return cls(**values)


class DeliveryError(ChatfeedbackError):
    """A failed send (refused, timed out, a non-2xx answer); the worker backs off and
    retries, and after ``max_tries`` the delivery is dead (``chatfeedback sinks retry``)."""


class Sink(Protocol):
    """A destination. ``send`` may be called from several worker threads at once."""

    name: str

    def send(self, event: Event) -> None:
        """Deliver one event; raise DeliveryError on any failure. Returning = delivered."""

    def close(self) -> None:
        """Flush and release (connections, SDK buffers)."""


@dataclass(frozen=True)
class SinkSettings:
    """One ``[[sinks]]`` entry (parsed by :func:`parse_sinks`)."""

    # Each key's one line of help is in its metadata: the docs' configuration reference is
    # generated from these fields.
    name: str = field(metadata={"help": "the sink's name, in status and errors"})
    kind: str = field(metadata={"help": "webhook | langfuse | otel"})
    url: str = field(metadata={"help": "where events are delivered (http or https)"})
    secret_env: str | None = field(default=None, metadata={
        "help": "the NAME of the environment variable holding the secret"})
    timeout: float = field(default=10.0, metadata={"help": "seconds per delivery"})
    max_tries: int = field(default=12, metadata={"help": "tries before a delivery is dead"})
    redact: bool = field(default=False, metadata={
        "help": "comments pass through chatfeedback.redact first"})
    options: Mapping[str, Any] = field(default_factory=dict)  # the kind's own keys

    @property
    def label(self) -> str:
        return f"sink '{self.name}'"

    def secret(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The value of the variable ``secret_env`` names (None without secret_env)."""
        return None if self.secret_env is None else env_value(self.secret_env, self.label,
                                                              "secret_env", environ)


def kind_options(options: Mapping[str, Any], kind: str,
                 spec: Mapping[str, type]) -> dict[str, Any]:
    """A ``[[sinks]]`` entry's own keys checked against its kind's ``spec`` (key -> type;
    strings must not be empty); ConfigError names the key."""
    for key, value in options.items():
        if key not in spec:
            raise ConfigError(f"unknown key '{key}' for kind '{kind}' (known: "
                              f"{', '.join(spec)})")
        wanted = spec[key]
        if isinstance(value, bool) and wanted is not bool or not isinstance(value, wanted) \
                or value == "":
            raise ConfigError(f"'{key}' must be a{'' if value != '' else ' non-empty'} "
                              f"{wanted.__name__}, got {value!r}")
    return dict(options)


def env_value(name: str, label: str, key: str,
              environ: Mapping[str, str] | None = None) -> str:
    """The value of the environment variable ``name`` (given in ``key`` of ``label``);
    ConfigError when it is not set or empty."""
    value = (os.environ if environ is None else environ).get(name)
    if not value:
        raise ConfigError(f"{label}: {key} names the environment variable {name}, "
                          "which is not set")
    return value
