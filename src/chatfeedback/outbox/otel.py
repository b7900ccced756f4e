"""The ``otel`` sink: each event as an OpenTelemetry ``gen_ai.evaluation.result`` event,
exported over OTLP/HTTP (protobuf) with the official ``opentelemetry-sdk`` and
``opentelemetry-exporter-otlp-proto-http``.

The event follows the GenAI semantic conventions: ``gen_ai.evaluation.name``,
``gen_ai.evaluation.score.value``, ``gen_ai.evaluation.score.label`` (see scoring.py),
``gen_ai.evaluation.explanation`` (the comment), ``gen_ai.response.id`` (the answer's
message id), ``gen_ai.conversation.id``, the rater as ``user.id``, and chatfeedback's own
``chatfeedback.*`` attributes (event id, action, scale, model, tags, the raw external trace
id). When the answer's trace id is a W3C traceparent or a 32-hex trace id, the log record
carries that trace (and span) so that a tracing backend shows the rating on the answer's
trace.

Each ``send`` exports one record synchronously and checks the exporter's result: a refused
connection, a timeout or a non-2xx answer raises DeliveryError (the exporter itself retries
429/5xx within the sink's ``timeout``), so the outbox's at-least-once delivery holds.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from importlib.metadata import version
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import requests
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor, ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from ..errors import ConfigError
from .base import DeliveryError, Event, SinkSettings, kind_options
from .scoring import DEFAULT_NAME, evaluation, event_time, trace_context

EVENT_NAME = "gen_ai.evaluation.result"
LOGS_PATH = "/v1/logs"
OPTIONS: dict[str, type] = {
    "headers": dict, "secret_header": str, "evaluation_name": str, "service_name": str}


class OtelSink:
    """``[[sinks]] kind = "otel"``: ``url`` is the collector's OTLP/HTTP endpoint
    (``http://collector:4318`` or the full ``.../v1/logs``)."""

    options: ClassVar[dict[str, type]] = OPTIONS  # its own keys (the reference lists them)

    def __init__(self, settings: SinkSettings) -> None:
        self.name = settings.name
        options = check_options(settings.options)
        headers = dict(options.get("headers", {}))
        secret = settings.secret()
        if secret is not None:  # e.g. a vendor's API key header; never written in settings
            headers[options.get("secret_header", "authorization")] = secret
        self.endpoint = logs_endpoint(settings.url)
        self.evaluation_name = options.get("evaluation_name", DEFAULT_NAME)
        self._answers = _Answers()
        self._exporter = OTLPLogExporter(endpoint=self.endpoint, headers=headers,
                                         timeout=settings.timeout, session=self._answers.session)
        self._outcome = _SyncExport(self._exporter)
        self._provider = LoggerProvider(
            resource=Resource.create({"service.name": options.get("service_name",
                                                                  "chatfeedback")}),
            shutdown_on_exit=False)
        self._provider.add_log_record_processor(self._outcome)
        self._logger = self._provider.get_logger("chatfeedback", version("chatfeedback"))

    def send(self, event: Event) -> None:
        self._answers.clear()
        self._outcome.result.value = None
        self._logger.emit(timestamp=_nanoseconds(event.at), context=_context(event.trace_id),
                          event_name=EVENT_NAME, attributes=attributes(event,
                                                                       self.evaluation_name))
        result = self._outcome.result.value
        if result is None:  # the SDK made no record: it is switched off
            raise DeliveryError("the OpenTelemetry SDK exported nothing (is "
                                "OTEL_SDK_DISABLED=true set for this process?)")
        if result is not LogRecordExportResult.SUCCESS:
            raise DeliveryError(f"the OTLP export to {self.endpoint} failed "
                                f"({self._answers.describe()})")

    def close(self) -> None:
        self._provider.shutdown()


def attributes(event: Event, name: str = DEFAULT_NAME) -> dict[str, Any]:
    """The event's attributes (semantic-convention names first; no None values)."""
    result = evaluation(event, name)
    values: dict[str, Any] = {
        "gen_ai.evaluation.name": result.name,
        "gen_ai.evaluation.score.value": result.value,
        "gen_ai.evaluation.score.label": result.label,
        "gen_ai.evaluation.explanation": event.comment or None,
        "gen_ai.response.id": event.message_id,
        "gen_ai.conversation.id": event.conversation_id,
        "user.id": event.actor or None,
        "chatfeedback.event.id": event.id,
        "chatfeedback.action": event.action,
        "chatfeedback.scale": event.scale,
        "chatfeedback.model": event.model,
        "chatfeedback.tags": list(event.tags) or None,
        "chatfeedback.trace_id": event.trace_id,
    }
    return {k: v for k, v in values.items() if v is not None}


def check_options(options: Mapping[str, Any]) -> dict[str, Any]:
    checked = kind_options(options, "otel", OPTIONS)
    headers = checked.get("headers", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise ConfigError("'headers' must map header names to strings")
    return checked


def logs_endpoint(url: str) -> str:
    """The OTLP/HTTP logs endpoint: ``url`` as given when its path ends in /v1/logs,
    else the base URL with /v1/logs appended (as OTEL_EXPORTER_OTLP_ENDPOINT works)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if not path.endswith(LOGS_PATH):
        path += LOGS_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


class _SyncExport(LogRecordProcessor):
    """Exports each record as it is emitted, in the emitting thread, and keeps the
    exporter's result for that thread (the SDK's own processors only log failures)."""

    def __init__(self, exporter: OTLPLogExporter) -> None:
        self._exporter = exporter
        self.result = threading.local()

    def on_emit(self, log_record: Any) -> None:
        readable = ReadableLogRecord(log_record=log_record.log_record,
                                     resource=log_record.resource,
                                     instrumentation_scope=log_record.instrumentation_scope,
                                     limits=log_record.limits)
        self.result.value = self._exporter.export((readable,))

    def shutdown(self) -> None:
        self._exporter.shutdown()  # type: ignore[no-untyped-call]

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # nothing is buffered


class _Answers:
    """The collector's last HTTP answer in this thread, for the error message."""

    def __init__(self) -> None:
        self.session = requests.Session()
        self.session.hooks["response"].append(self._record)
        self._last = threading.local()

    def _record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last.status = f"{response.status_code} {response.reason or ''}".strip()

    def clear(self) -> None:
        self._last.status = None

    def describe(self) -> str:
        status = getattr(self._last, "status", None)
        return f"it answered {status}" if status else "no answer: refused or timed out"


def _context(trace_id: str | None) -> Any:
    """A context holding the answer's trace (and span) when its trace id is one."""
    found = trace_context(trace_id)
    if found is None:
        return Context()  # empty: no ambient span of the worker's thread is borrowed
    trace_hex, span_hex = found
    span = SpanContext(trace_id=int(trace_hex, 16), span_id=int(span_hex or "0", 16),
                       is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return trace.set_span_in_context(NonRecordingSpan(span))


def _nanoseconds(at: str) -> int | None:
    """The event's time in nanoseconds since the epoch."""
    when = event_time(at)
    if when is None:
        return None
    return int(when.timestamp()) * 10**9 + when.microsecond * 1000
