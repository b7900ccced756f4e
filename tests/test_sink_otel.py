"""The ``otel`` sink against a real HTTP receiver on 127.0.0.1 that decodes each OTLP/HTTP
request with ``opentelemetry-proto`` (ExportLogsServiceRequest), as a collector would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the 'sinks' extra is not installed")

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
)

from chatfeedback.config import load_settings
from chatfeedback.errors import ConfigError
from chatfeedback.outbox import registry
from chatfeedback.outbox.base import DeliveryError, Event, SinkSettings
from chatfeedback.outbox.otel import OtelSink, logs_endpoint
from harness.receiver import Receiver, Request, check_concurrent_sends

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


def event(**changes: object) -> Event:
    values: dict[str, object] = dict(
        id="01JEVENT0000000000000000001", action="set", message_id="01JANSWER",
        conversation_id="01JCONV", value=4, scale="stars", actor="ana@example.org",
        at="2026-12-01T22:30:00.123456+00:00", model="local-llama",
        comment="Good, but too long", tags=("verbose", "correct"))
    values.update(changes)
    return Event(**values)  # type: ignore[arg-type]


def decode(body: bytes) -> tuple[ExportLogsServiceRequest, object]:
    request = ExportLogsServiceRequest()
    request.ParseFromString(body)
    [resource_logs] = request.resource_logs
    [scope_logs] = resource_logs.scope_logs
    [record] = scope_logs.log_records
    return request, record


def values(record: object) -> dict[str, object]:
    found: dict[str, object] = {}
    for kv in record.attributes:  # type: ignore[attr-defined]
        kind = kv.value.WhichOneof("value")
        value = getattr(kv.value, kind)
        if kind == "array_value":
            value = [v.string_value for v in value.values]
        found[kv.key] = value
    return found


def sink(url: str, **settings: object) -> OtelSink:
    settings.setdefault("timeout", 5.0)
    return OtelSink(SinkSettings(name="traces", kind="otel", url=url,
                                 **settings))  # type: ignore[arg-type]


def test_a_rating_arrives_as_a_gen_ai_evaluation_result_event(
        connections: list[object]) -> None:
    with Receiver() as receiver:
        otel = sink(receiver.url, options={"service_name": "support-bot"})
        try:
            otel.send(event())
        finally:
            otel.close()
        [sent] = receiver.wait_for(1)
        port = int(receiver.url.rsplit(":", 1)[1])
    assert {a[1] for a in connections} == {port}  # type: ignore[index]  # nowhere else
    assert sent.path == "/v1/logs"
    assert sent.headers["content-type"] == "application/x-protobuf"
    request, record = decode(sent.body)
    assert record.event_name == "gen_ai.evaluation.result"
    assert values(record) == {
        "gen_ai.evaluation.name": "user_feedback",
        "gen_ai.evaluation.score.value": 4.0,
        "gen_ai.evaluation.score.label": "4/5 stars",
        "gen_ai.evaluation.explanation": "Good, but too long",
        "gen_ai.response.id": "01JANSWER",
        "gen_ai.conversation.id": "01JCONV",
        "user.id": "ana@example.org",
        "chatfeedback.event.id": "01JEVENT0000000000000000001",
        "chatfeedback.action": "set",
        "chatfeedback.scale": "stars",
        "chatfeedback.model": "local-llama",
        "chatfeedback.tags": ["verbose", "correct"],
    }
    assert record.time_unix_nano == 1796164200123456000  # the rating's time, not the send's
    assert record.trace_id == b""  # the answer carries no trace id
    resource = {kv.key: kv.value.string_value
                for kv in request.resource_logs[0].resource.attributes}
    assert resource["service.name"] == "support-bot"


def test_the_answers_trace_context_is_the_events_trace() -> None:
    with Receiver() as receiver:
        otel = sink(receiver.url + "/v1/logs")
        try:
            otel.send(event(trace_id=f"00-{TRACE}-{SPAN}-01", value=0, scale="thumbs",
                            comment=None, tags=()))
            otel.send(event(id="01JEVENT2", trace_id=TRACE.upper()))
            otel.send(event(id="01JEVENT3", trace_id="req_8f3a2b"))  # not a trace id
        finally:
            otel.close()
        first, second, third = receiver.wait_for(3)
    _, record = decode(first.body)
    assert record.trace_id.hex() == TRACE and record.span_id.hex() == SPAN
    attributes = values(record)
    assert attributes["gen_ai.evaluation.score.value"] == 0.0
    assert attributes["gen_ai.evaluation.score.label"] == "thumbs down"
    assert "gen_ai.evaluation.explanation" not in attributes
    assert attributes["chatfeedback.trace_id"] == f"00-{TRACE}-{SPAN}-01"
    _, record = decode(second.body)
    assert record.trace_id.hex() == TRACE and record.span_id == b""
    _, record = decode(third.body)
    assert record.trace_id == b""
    assert values(record)["chatfeedback.trace_id"] == "req_8f3a2b"


def test_a_clear_a_vote_a_review_and_later_notes() -> None:
    """A comment or tags added after the rating is a result without a score (it carries the
    rating's value as it stands; counting it again would weigh the answer twice)."""
    with Receiver() as receiver:
        otel = sink(receiver.url)
        try:
            otel.send(event(action="clear", value=None, comment=None, tags=()))
            otel.send(event(id="e2", action="vote", value=0, scale="arena", label="a"))
            otel.send(event(id="e3", action="review", value=None, scale="choice",
                            criterion="tone", label="friendly"))
            otel.send(event(id="e4", action="comment", comment="Too long"))
            otel.send(event(id="e5", action="tags", comment=None, tags=("verbose",)))
        finally:
            otel.close()
        clear, vote, review, comment, tags = (values(decode(r.body)[1])
                                              for r in receiver.wait_for(5))
    for note in (comment, tags):
        assert note["gen_ai.evaluation.name"] == "user_feedback"
        assert "gen_ai.evaluation.score.value" not in note
        assert "gen_ai.evaluation.score.label" not in note
    assert comment["gen_ai.evaluation.explanation"] == "Too long"
    assert tags["chatfeedback.tags"] == ["verbose"]
    assert clear["chatfeedback.action"] == "clear"
    assert "gen_ai.evaluation.score.value" not in clear
    assert "gen_ai.evaluation.score.label" not in clear
    assert vote["gen_ai.evaluation.name"] == "arena"
    assert vote["gen_ai.evaluation.score.label"] == "a"
    assert review["gen_ai.evaluation.name"] == "tone"
    assert review["gen_ai.evaluation.score.label"] == "friendly"


def test_a_failing_collector_is_a_delivery_error_never_a_silent_drop() -> None:
    with Receiver(status=500) as receiver:
        otel = sink(receiver.url, timeout=0.5)
        try:
            with pytest.raises(DeliveryError, match=r"^the OTLP export to http://127\.0\.0\.1:"
                               r"\d+/v1/logs failed \(it answered 500 Internal Server Error\)$"):
                otel.send(event())
            receiver.status = 400  # not retried by the exporter, still not delivered
            with pytest.raises(DeliveryError, match="400 Bad Request"):
                otel.send(event())
            receiver.status = 200
            otel.send(event())  # the same sink recovers
        finally:
            otel.close()
        assert len(receiver.wait_for(3)) >= 3


def test_a_refused_connection_is_a_delivery_error() -> None:
    with Receiver() as receiver:
        url = receiver.url
    otel = sink(url, timeout=0.5)
    try:
        with pytest.raises(DeliveryError, match="no answer: refused or timed out"):
            otel.send(event())
    finally:
        otel.close()


def test_a_disabled_sdk_is_a_delivery_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    with Receiver() as receiver:
        otel = sink(receiver.url)
        try:
            with pytest.raises(DeliveryError, match="exported nothing .*OTEL_SDK_DISABLED"):
                otel.send(event())
        finally:
            otel.close()
    assert receiver.requests == []


def test_headers_and_the_secret_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TOKEN", "s3cr3t-token")
    with Receiver() as receiver:
        otel = sink(receiver.url, secret_env="OTEL_TOKEN",
                    options={"headers": {"x-tenant": "team-a"},
                             "secret_header": "x-api-key"})
        try:
            otel.send(event())
        finally:
            otel.close()
        [sent] = receiver.wait_for(1)
    assert sent.headers["x-tenant"] == "team-a"
    assert sent.headers["x-api-key"] == "s3cr3t-token"


def test_bad_options_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="unknown key 'colour' for kind 'otel'"):
        sink("http://127.0.0.1:4318", options={"colour": "red"})
    with pytest.raises(ConfigError, match="'headers' must map header names to strings"):
        sink("http://127.0.0.1:4318", options={"headers": {"x-a": 1}})
    with pytest.raises(ConfigError, match="'service_name' must be a non-empty str, got ''"):
        sink("http://127.0.0.1:4318", options={"service_name": ""})
    with pytest.raises(ConfigError, match="'evaluation_name' must be a str, got 3"):
        sink("http://127.0.0.1:4318", options={"evaluation_name": 3})
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(ConfigError, match="NOT_SET_ANYWHERE, which is not set"):
        sink("http://127.0.0.1:4318", secret_env="NOT_SET_ANYWHERE")


def test_the_logs_endpoint() -> None:
    assert logs_endpoint("http://collector:4318") == "http://collector:4318/v1/logs"
    assert logs_endpoint("http://collector:4318/") == "http://collector:4318/v1/logs"
    assert logs_endpoint("https://otel.example.org/otlp/v1/logs") == \
        "https://otel.example.org/otlp/v1/logs"
    assert logs_endpoint("https://otel.example.org/otlp") == \
        "https://otel.example.org/otlp/v1/logs"


def test_built_from_the_settings_file(tmp_path: Path) -> None:
    with Receiver() as receiver:
        path = tmp_path / "chatfeedback.toml"
        path.write_text(f'[[sinks]]\nname = "collector"\nkind = "otel"\nurl = "{receiver.url}"\n'
                        'evaluation_name = "thumbs"\n', encoding="utf-8")
        [settings] = load_settings(path, environ={}).sinks
        otel = registry.build(settings)
        try:
            assert isinstance(otel, OtelSink) and otel.name == "collector"
            otel.send(event())
        finally:
            otel.close()
        [sent] = receiver.wait_for(1)
    assert values(decode(sent.body)[1])["gen_ai.evaluation.name"] == "thumbs"


def test_no_sink_sdk_is_imported_unless_such_a_sink_is_configured() -> None:
    """The CLI, the settings and the registry load neither OpenTelemetry nor Langfuse."""
    code = ("import sys, chatfeedback.cli, chatfeedback.config, chatfeedback.outbox.registry\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'opentelemetry', "
            "'langfuse'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_concurrent_sends_from_worker_threads_each_arrive_once() -> None:
    """The outbox's worker sends from several threads at once: each send's outcome is its
    own (the collector fails every third event: exactly those raise), and every event
    arrives once."""
    def event_id(request: Request) -> str:
        return str(values(decode(request.body)[1])["chatfeedback.event.id"])

    check_concurrent_sends(sink, lambda id_: event(id=id_), event_id)
