"""From a chat to the observability stack: an answer streamed from the OpenAI-protocol
server on 127.0.0.1 carries its trace in a response header (``trace_header``), the person
rates and comments it, and ``chatfeedback sinks deliver`` (the outbox's worker) sends both
events to a real OTLP/HTTP receiver (decoded with ``opentelemetry-proto``) and to a real
HTTP server standing in for Langfuse (which cannot run here: it records what the SDK
sends). Each rating lands on the answer's trace; a failed delivery is retried until it
arrives; a ``redact = true`` sink gets the comment redacted."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("langfuse", reason="the 'sinks' extra is not installed")
pytest.importorskip("opentelemetry.sdk", reason="the 'sinks' extra is not installed")

from click.testing import CliRunner

from chatfeedback.chat import ChatService
from chatfeedback.cli import main
from chatfeedback.config import load_settings
from harness.receiver import Receiver

from .openai_server import Script
from .test_sink_otel import decode, values

pytestmark = pytest.mark.all_databases

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


def deliver(config: Path, db_url: str) -> str:
    result = CliRunner().invoke(main, ["sinks", "deliver", "--config", str(config),
                                       "--db", db_url])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_rated_answer_arrives_on_its_trace_in_both_tools(tmp_path, db_url, openai_server,
                                                           monkeypatch):
    monkeypatch.setenv("LF_PUBLIC", "pk-lf-test")
    monkeypatch.setenv("LF_SECRET", "sk-lf-test")
    openai_server.reply(Script(text="Paris.", headers={"traceparent":
                                                       f"00-{TRACE}-{SPAN}-01"}))
    with Receiver() as collector, Receiver(status=500) as langfuse:
        config = tmp_path / "chatfeedback.toml"
        config.write_text(f"""
[feedback]
mode = "changeable"

[outbox]
backoff = 0.05

[[models]]
name = "llm"
backend = "openai"
base_url = "{openai_server.base_url}"
model = "test-model"
trace_header = "traceparent"

[[sinks]]
name = "collector"
kind = "otel"
url = "{collector.url}"
timeout = 5

[[sinks]]
name = "langfuse"
kind = "langfuse"
url = "{langfuse.url}"
public_key_env = "LF_PUBLIC"
secret_env = "LF_SECRET"
redact = true
timeout = 5
""", encoding="utf-8")
        service = ChatService.open(load_settings(config, db_url, environ={}))
        deliver(config, db_url)  # the worker knows the sinks from now on (events before:
        #                          `chatfeedback sinks replay`)
        turn = service.send(None, "Capital of France?")
        reply = service.reply(turn.answer)
        assert "".join(reply) == "Paris."
        assert reply.message.trace_id == f"00-{TRACE}-{SPAN}-01"
        service.rate(turn.answer.id, 1, actor="ana@example.org")
        service.annotate(turn.answer.id, comment="Right. Mail me: ana@example.org",
                         actor="ana@example.org")

        first = deliver(config, db_url)
        assert "collector: 2 delivered" in first and "langfuse: 0 delivered" in first
        langfuse.status, langfuse.reply = 202, {"message": "Accepted"}
        outputs = [first]
        for _ in range(200):  # the failed ones are due again after their backoff
            outputs.append(deliver(config, db_url))
            if len({s["id"] for r in langfuse.requests if r.status == 202
                    for s in r.json()}) == 2:
                break
        else:
            raise AssertionError(f"Langfuse never got both scores: {outputs}")

        events = sorted((decode(r.body)[1] for r in collector.wait_for(2)),  # sent at once
                        key=lambda e: values(e)["chatfeedback.action"] != "set")
        scores = {s["id"]: s for r in langfuse.requests if r.status == 202
                  for s in r.json()}

    assert [values(e)["chatfeedback.action"] for e in events] == ["set", "comment"]
    for event in events:
        assert event.trace_id.hex() == TRACE and event.span_id.hex() == SPAN
        assert values(event)["gen_ai.response.id"] == turn.answer.id
        assert values(event)["user.id"] == "ana@example.org"
    assert values(events[1])["gen_ai.evaluation.explanation"] == \
        "Right. Mail me: ana@example.org"  # the collector's sink does not redact
    assert {values(e)["chatfeedback.event.id"] for e in events} == set(scores)
    rated, commented = sorted(scores.values(), key=lambda s: s["metadata"]["action"] != "set")
    assert (rated["traceId"], rated["name"], rated["value"], rated["dataType"]) == (
        TRACE, "user_feedback", 1, "BOOLEAN")
    assert (commented["traceId"], commented["name"], commented["dataType"]) == (
        TRACE, "user_feedback_comment", "TEXT")
    assert "ana@example.org" not in commented["value"]  # this sink has redact = true
    assert commented["value"].startswith("Right. Mail me: ")
