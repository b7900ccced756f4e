"""The ``langfuse`` sink through the official ``langfuse`` SDK.

Langfuse itself (a web app with PostgreSQL, ClickHouse, Redis and S3) cannot run here, so
these tests point the SDK at a real HTTP server on 127.0.0.1 that records the requests it
receives and answers as Langfuse's scores API documents (202 ``{"message": "Accepted"}``,
207 with rejected scores, error statuses); they assert on what the SDK sent. Every socket
the process opens during a send is recorded too: the SDK connects nowhere else.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

pytest.importorskip("langfuse", reason="the 'sinks' extra is not installed")

from chatfeedback.config import load_settings
from chatfeedback.errors import ConfigError
from chatfeedback.outbox import registry
from chatfeedback.outbox.base import DeliveryError, Event, SinkSettings
from chatfeedback.outbox.langfuse import LangfuseSink
from harness.receiver import Receiver, check_concurrent_sends

ACCEPTED = {"message": "Accepted"}
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def event(**changes: object) -> Event:
    values: dict[str, object] = {
        "id": "01JEVENT0000000000000000001", "action": "set", "message_id": "01JANSWER",
        "conversation_id": "01JCONV", "value": 1, "scale": "thumbs",
        "actor": "ana@example.org", "at": "2026-12-01T22:30:00.123456+00:00",
        "model": "local-llama", "comment": "Spot on", "tags": ("correct",)}
    values.update(changes)
    return Event(**values)  # type: ignore[arg-type]


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LF_PUBLIC", "pk-lf-test")
    monkeypatch.setenv("LF_SECRET", "sk-lf-test")
    for name in ("LANGFUSE_HOST", "LANGFUSE_BASE_URL", "LANGFUSE_PUBLIC_KEY",
                 "LANGFUSE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)


def sink(url: str, **options: object) -> LangfuseSink:
    return LangfuseSink(SinkSettings(
        name="lf", kind="langfuse", url=url, secret_env="LF_SECRET", timeout=5.0,
        options={"public_key_env": "LF_PUBLIC", **options}))


def test_a_rating_becomes_a_score_with_the_event_id(keys: None,
                                                    connections: list[object]) -> None:
    with Receiver(status=202, reply=ACCEPTED) as receiver:
        langfuse = sink(receiver.url, environment="staging")
        try:
            langfuse.send(event(trace_id=TRACE))
        finally:
            langfuse.close()
        [sent] = receiver.wait_for(1)
        port = int(receiver.url.rsplit(":", 1)[1])
    assert {a[1] for a in connections} == {port}  # type: ignore[index]
    assert (sent.method, sent.path) == ("POST", "/api/public/scores")
    assert sent.headers["authorization"] == "Basic " + base64.b64encode(
        b"pk-lf-test:sk-lf-test").decode()
    assert sent.headers["x-langfuse-public-key"] == "pk-lf-test"
    assert sent.headers["x-langfuse-sdk-name"] == "python"
    assert sent.json() == [{
        "id": "01JEVENT0000000000000000001", "traceId": TRACE, "name": "user_feedback",
        "value": 1, "dataType": "BOOLEAN", "comment": "Spot on",
        "timestamp": "2026-12-01T22:30:00.123456+00:00", "environment": "staging",
        "metadata": {"message_id": "01JANSWER", "conversation_id": "01JCONV",
                     "rater": "ana@example.org", "action": "set", "scale": "thumbs",
                     "model": "local-llama", "tags": ["correct"], "trace_id": TRACE,
                     "label": "thumbs up"}}]


def test_where_a_score_attaches_and_its_type(keys: None) -> None:
    with Receiver(status=202, reply=ACCEPTED) as receiver:
        langfuse = sink(receiver.url, score_name="helpfulness")
        try:
            langfuse.send(event(value=4, scale="stars", comment=None, tags=()))
            langfuse.send(event(id="e2", trace_id=f"00-{TRACE}-00f067aa0ba902b7-01"))
            langfuse.send(event(id="e3", trace_id="req_8f3a2b"))
            langfuse.send(event(id="e4", action="vote", value=0, scale="arena", label="a"))
            langfuse.send(event(id="e5", action="clear", value=None))  # nothing to score
        finally:
            langfuse.close()
        stars, parent, request_id, vote = (r.json()[0] for r in receiver.wait_for(4))
    # No trace id: a deterministic one from the message id (Langfuse's own seed rule,
    # sha256 of the seed, first 16 bytes), which an app tracing with that seed shares.
    assert stars["traceId"] == hashlib.sha256(b"01JANSWER").digest()[:16].hex()
    assert (stars["name"], stars["value"], stars["dataType"]) == ("helpfulness", 4, "NUMERIC")
    assert "comment" not in stars and stars["metadata"]["label"] == "4/5 stars"
    assert parent["traceId"] == TRACE
    assert request_id["traceId"] == hashlib.sha256(b"req_8f3a2b").digest()[:16].hex()
    assert request_id["metadata"]["trace_id"] == "req_8f3a2b"
    assert (vote["name"], vote["value"], vote["dataType"]) == ("arena", "a", "CATEGORICAL")
    assert len(receiver.requests) == 4  # the clear sent nothing


def test_a_later_comment_or_tags_are_text_scores_of_their_own(keys: None) -> None:
    """The rating's value is scored once: a comment or tags added later (their events carry
    the value as it stands) become TEXT scores named after the rating's score."""
    long = "Too long. " * 60  # 600 characters: Langfuse takes at most 500 in a TEXT score
    with Receiver(status=202, reply=ACCEPTED) as receiver:
        langfuse = sink(receiver.url)
        try:
            langfuse.send(event(id="e1", action="comment", comment="Too long"))
            langfuse.send(event(id="e2", action="tags", comment=None,
                                tags=("verbose", "wrong")))
            langfuse.send(event(id="e3", action="comment", comment=long))
            langfuse.send(event(id="e4", action="comment", comment=None))  # removed: nothing
            langfuse.send(event(id="e5", action="tags", tags=()))           # removed: nothing
        finally:
            langfuse.close()
        comment, tags, cut = (r.json()[0] for r in receiver.wait_for(3))
    assert len(receiver.requests) == 3
    assert (comment["id"], comment["name"], comment["value"], comment["dataType"]) == (
        "e1", "user_feedback_comment", "Too long", "TEXT")
    assert "comment" not in comment
    assert (tags["name"], tags["value"], tags["dataType"]) == (
        "user_feedback_tags", "verbose, wrong", "TEXT")
    assert len(cut["value"]) == 500 and cut["value"].endswith("…")
    assert cut["metadata"]["comment"] == long


@pytest.mark.parametrize("status", [500, 401, 429])
def test_an_error_status_is_a_delivery_error(keys: None, status: int) -> None:
    with Receiver(status=status) as receiver:
        langfuse = sink(receiver.url)
        try:
            with pytest.raises(DeliveryError, match=f"^Langfuse at http://127.0.0.1:.* answered "
                                                    f"{status}"):
                langfuse.send(event())
        finally:
            langfuse.close()
        assert len(receiver.wait_for(1)) == 1  # tried once: the outbox does the retrying


def test_a_rejected_score_is_a_delivery_error(keys: None) -> None:
    rejected = {"accepted": 0, "rejected": 1,
                "errors": [{"message": "score value out of range"}]}
    with Receiver(status=207, reply=rejected) as receiver:
        langfuse = sink(receiver.url)
        try:
            with pytest.raises(DeliveryError, match="rejected the score "
                                                    r"\(score value out of range\)"):
                langfuse.send(event())
        finally:
            langfuse.close()


def test_a_refused_connection_is_a_delivery_error(keys: None) -> None:
    with Receiver() as receiver:
        url = receiver.url
    langfuse = sink(url)
    try:
        with pytest.raises(DeliveryError, match="could not be reached"):
            langfuse.send(event())
    finally:
        langfuse.close()


def test_keys_come_from_the_variables_named(keys: None,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="needs secret_env and public_key_env"):
        LangfuseSink(SinkSettings(name="lf", kind="langfuse", url="http://127.0.0.1:1"))
    monkeypatch.delenv("LF_PUBLIC")
    with pytest.raises(ConfigError, match="public_key_env names the environment variable "
                                          "LF_PUBLIC, which is not set"):
        sink("http://127.0.0.1:1")
    monkeypatch.setenv("LF_PUBLIC", "pk")
    with pytest.raises(ConfigError, match="unknown key 'host' for kind 'langfuse'"):
        sink("http://127.0.0.1:1", host="x")
    with pytest.raises(ConfigError, match="'score_name' must be a non-empty str, got ''"):
        sink("http://127.0.0.1:1", score_name="")
    for environment in ("Production", "langfuse-prod", "prod env"):
        with pytest.raises(ConfigError, match="'environment' must be lowercase letters"):
            sink("http://127.0.0.1:1", environment=environment)


def test_built_from_the_settings_file(keys: None, tmp_path: Path) -> None:
    with Receiver(status=202, reply=ACCEPTED) as receiver:
        path = tmp_path / "chatfeedback.toml"
        path.write_text(f'[[sinks]]\nname = "lf"\nkind = "langfuse"\nurl = "{receiver.url}"\n'
                        'secret_env = "LF_SECRET"\npublic_key_env = "LF_PUBLIC"\n'
                        'score_name = "thumbs"\n', encoding="utf-8")
        [settings] = load_settings(path, environ={}).sinks
        langfuse = registry.build(settings)
        try:
            assert isinstance(langfuse, LangfuseSink)
            langfuse.send(event())
        finally:
            langfuse.close()
        [sent] = receiver.wait_for(1)
    assert sent.json()[0]["name"] == "thumbs"


def test_concurrent_sends_from_worker_threads_each_arrive_once(keys: None) -> None:
    """Sends from several threads at once: the server fails every third score and exactly
    those raise; every score arrives once."""
    check_concurrent_sends(sink, lambda id_: event(id=id_), lambda r: r.json()[0]["id"],
                           status=202, reply=ACCEPTED)


def test_config_check_refuses_a_sink_whose_keys_are_missing(keys: None, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    from click.testing import CliRunner

    from chatfeedback.cli import main

    path = tmp_path / "chatfeedback.toml"
    path.write_text('[[sinks]]\nname = "lf"\nkind = "langfuse"\nurl = "http://127.0.0.1:1"\n'
                    'secret_env = "LF_SECRET"\npublic_key_env = "LF_PUBLIC"\n',
                    encoding="utf-8")
    assert CliRunner().invoke(main, ["config", "check", "--config", str(path)]).exit_code == 0
    monkeypatch.delenv("LF_PUBLIC")
    result = CliRunner().invoke(main, ["config", "check", "--config", str(path)])
    assert result.exit_code == 2
    assert result.output.strip() == ("Error: sink 'lf': public_key_env names the environment "
                                     "variable LF_PUBLIC, which is not set")
