"""The ``langfuse`` sink: each event as a Langfuse score, through the official ``langfuse``
SDK's API client (``POST /api/public/scores``).

- The event id is the score id and the event's time its timestamp, so a retried delivery
  updates the same score instead of adding one (Langfuse: "to update an existing score,
  send it again with the same id and timestamp").
- The score attaches to the answer's trace: its external trace id when it has one (a W3C
  traceparent's or a 32-hex trace id as it is; any other id, e.g. an ``x-request-id``,
  through the SDK's ``Langfuse.create_trace_id(seed=id)``), else
  ``Langfuse.create_trace_id(seed=<the answer's message id>)``. An app that traces its
  calls with the same seed finds the rating on its trace; the message and conversation
  ids, the rater, action, model and tags go in the score's metadata either way.
- thumbs are BOOLEAN scores (1 up, 0 down), faces, stars and review numbers NUMERIC, a
  vote or a choice criterion CATEGORICAL (its label); a comment given with the rating is
  the score's comment. A comment or reason tags added later are TEXT scores of their own,
  ``<score_name>_comment`` and ``<score_name>_tags`` (at most 500 characters, Langfuse's
  limit; a longer comment is cut there and kept whole in the metadata), so that the
  rating's value is counted once. A cleared rating, comment or tag list has no value, and
  Langfuse no score without one: it is acknowledged without a request (the earlier score
  stays).

The SDK's ``Langfuse.create_score`` queues scores for a background thread that logs and
drops a failed batch; the sink calls the same API client synchronously instead, so that a
refused connection, a timeout, an error status or a rejected score (HTTP 207) is a
DeliveryError and the outbox retries it. No other Langfuse service (tracing, media, prompt
cache) is started, so nothing is sent anywhere but ``url``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
from langfuse import Langfuse
from langfuse.api import LangfuseAPI
from langfuse.api.core import ApiError
from langfuse.api.scores.types.create_score_batch_results import CreateScoreBatchResults

from ..errors import ConfigError
from .base import DeliveryError, Event, SinkSettings, env_value, kind_options
from .scoring import DEFAULT_NAME, NOTES, evaluation, event_time, trace_context

OPTIONS: dict[str, type] = {"public_key_env": str, "score_name": str, "environment": str}
TEXT_LIMIT = 500  # characters of a TEXT score's value (Langfuse's limit)
ENVIRONMENT = re.compile(r"[a-z0-9_-]{1,40}")


class LangfuseSink:
    """``[[sinks]] kind = "langfuse"``: ``url`` is the Langfuse host; ``secret_env`` and
    ``public_key_env`` name the variables holding the project's secret and public keys."""

    options: ClassVar[dict[str, type]] = OPTIONS  # its own keys (the reference lists them)
    required: ClassVar[tuple[str, ...]] = ("public_key_env",)

    def __init__(self, settings: SinkSettings) -> None:
        self.name = settings.name
        options = check_options(settings.options)
        if settings.secret_env is None or any(key not in options for key in self.required):
            raise ConfigError("a langfuse sink needs secret_env and public_key_env (the "
                              "NAMES of the variables holding the project's secret and "
                              "public keys)")
        public_key = env_value(options["public_key_env"], f"sink '{self.name}'",
                               "public_key_env")
        secret_key = settings.secret()
        self.url = settings.url.rstrip("/")
        self.score_name: str = options.get("score_name", DEFAULT_NAME)
        self.environment: str | None = options.get("environment")
        self._http = httpx.Client(timeout=settings.timeout)
        self._api = LangfuseAPI(base_url=self.url, username=public_key, password=secret_key,
                                x_langfuse_sdk_name="python", x_langfuse_public_key=public_key,
                                x_langfuse_sdk_version=_sdk_version(),
                                httpx_client=self._http, timeout=settings.timeout)

    def send(self, event: Event) -> None:
        score = score_of(event, self.score_name, self.environment)
        if score is None:
            return  # nothing to score: a clear, a comment or tags removed
        try:
            # The outbox retries with backoff; the SDK's own retries would only hide time.
            response = self._api.scores.create(request=[score],
                                               request_options={"max_retries": 0})
        except ApiError as exc:
            raise DeliveryError(f"Langfuse at {self.url} answered {exc.status_code}: "
                                f"{_short(exc.body)}") from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"Langfuse at {self.url} could not be reached "
                                f"({type(exc).__name__}: {exc})") from None
        except ValueError as exc:  # a 2xx answer that is not the API's JSON
            raise DeliveryError(f"Langfuse at {self.url} sent an unreadable answer "
                                f"({exc})") from None
        if isinstance(response, CreateScoreBatchResults) and response.rejected:
            errors = "; ".join(e.message for e in response.errors) or "no reason given"
            raise DeliveryError(f"Langfuse rejected the score ({errors})")

    def close(self) -> None:
        self._http.close()


def score_of(event: Event, name: str = DEFAULT_NAME,
             environment: str | None = None) -> dict[str, Any] | None:
    """The score body (the API's field names) for ``event``; None when it has nothing to
    score (a clear, a comment or tags removed)."""
    result = evaluation(event, name)
    metadata: dict[str, Any] = {
        "message_id": event.message_id, "conversation_id": event.conversation_id,
        "rater": event.actor, "action": event.action, "scale": event.scale,
        "model": event.model, "tags": list(event.tags), "trace_id": event.trace_id,
        "label": result.label}
    comment = event.comment or None
    value: float | str
    if event.action in NOTES:  # a later comment or tags: a TEXT score of their own
        text = comment if event.action == "comment" else ", ".join(event.tags)
        if not text:
            return None
        name, data_type, comment = f"{result.name}_{event.action}", "TEXT", None
        value = text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"
        if value != text:
            metadata[event.action] = text  # the whole of it
    elif result.value is None and result.label is None:
        return None
    elif event.scale == "thumbs" and result.value is not None:
        name, value, data_type = result.name, result.value, "BOOLEAN"
    elif event.action == "vote" or result.value is None:
        name, value, data_type = result.name, result.label or "", "CATEGORICAL"
    else:
        name, value, data_type = result.name, result.value, "NUMERIC"
    score = {"id": event.id, "traceId": trace_id(event), "name": name, "value": value,
             "dataType": data_type, "comment": comment, "timestamp": _timestamp(event.at),
             "environment": environment,
             "metadata": {k: v for k, v in metadata.items() if v not in (None, [])}}
    return {k: v for k, v in score.items() if v is not None}


def trace_id(event: Event) -> str | None:
    """The Langfuse trace the score attaches to (see the module docstring)."""
    found = trace_context(event.trace_id)
    if found is not None:
        return found[0]
    seed = event.trace_id or event.message_id or event.conversation_id
    return None if seed is None else Langfuse.create_trace_id(seed=seed)


def check_options(options: Mapping[str, Any]) -> dict[str, Any]:
    checked = kind_options(options, "langfuse", OPTIONS)
    environment = checked.get("environment")
    if environment is not None and (not ENVIRONMENT.fullmatch(environment)
                                    or environment.startswith("langfuse")):
        raise ConfigError(f"'environment' must be lowercase letters, digits, - and _, not "
                          f"starting with 'langfuse' (Langfuse's rule), got {environment!r}")
    return checked


def _timestamp(at: str) -> str:
    """The event's time as ISO 8601 with an offset (the API refuses a naive time)."""
    when = event_time(at)
    return at if when is None else when.isoformat()


def _short(body: object, limit: int = 200) -> str:
    text = " ".join(str(body).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _sdk_version() -> str:
    from importlib.metadata import version
    return version("langfuse")
