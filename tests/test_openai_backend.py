"""The openai backend against a real OpenAI-protocol HTTP server on 127.0.0.1."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from pathlib import Path

import pytest

from chatfeedback.errors import ConfigError
from chatfeedback.export import answer_row, write_csv

from .openai_server import Script, Unaccepting, refusing_url
from .support import wait_until


def model_entry(base_url: str, name: str = "llm", **options: object) -> str:
    lines = ["[[models]]", f'name = "{name}"', 'backend = "openai"', f'base_url = "{base_url}"',
             'model = "test-model"']
    for key, value in options.items():
        lines.append(f"{key} = {json.dumps(value) if not isinstance(value, dict) else _table(value)}")
    return "\n".join(lines) + "\n"


def _table(value: dict) -> str:
    return "{ " + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in value.items()) + " }"


def ask(service, prompt: str, conversation_id: str | None = None):
    turn = service.send(conversation_id, prompt)
    reply = service.reply(turn.answer)
    pieces = list(reply)
    return turn, reply, pieces


def test_streams_text_usage_and_context(make_service, openai_server):
    openai_server.reply(Script(text=["Hel", "lo", " there"]))
    service = make_service(model_entry(openai_server.base_url, system_prompt="Be brief.",
                                       temperature=0.2, max_tokens=50))
    _, reply, pieces = ask(service, "hi")
    assert "".join(pieces) == "Hello there"
    answer = reply.message
    assert (answer.status, answer.content, answer.error) == ("complete", "Hello there", None)
    assert (answer.prompt_tokens, answer.completion_tokens, answer.total_tokens) == (11, 7, 18)
    assert answer.finish_reason == "stop"
    assert answer.model == "llm" and answer.backend == "openai"
    assert answer.system_prompt == "Be brief."
    assert answer.settings == {"base_url": openai_server.base_url, "model": "test-model",
                               "temperature": 0.2, "max_tokens": 50}
    assert 0 <= answer.ttft_ms <= answer.latency_ms
    sent = openai_server.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.body["stream"] is True and sent.body["stream_options"] == {"include_usage": True}
    assert (sent.body["model"], sent.body["temperature"], sent.body["max_tokens"]) == (
        "test-model", 0.2, 50)
    assert "authorization" not in sent.headers  # no api_key_env: no key at all
    assert sent.messages == [{"role": "system", "content": "Be brief."},
                             {"role": "user", "content": "hi"}]


def test_every_earlier_turn_is_sent(make_service, openai_server):
    service = make_service(model_entry(openai_server.base_url, system_prompt="S"))
    turn, _, _ = ask(service, "one")
    conv = turn.conversation.id
    ask(service, "two", conv)
    ask(service, "three", conv)
    assert openai_server.requests[-1].messages == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "one"}, {"role": "assistant", "content": "Echo: one"},
        {"role": "user", "content": "two"}, {"role": "assistant", "content": "Echo: two"},
        {"role": "user", "content": "three"}]


def test_failed_turns_are_left_out_and_roles_alternate(make_service, openai_server):
    """A failed answer's prompt and partial text are not sent; a stopped answer's text is."""
    held = threading.Event()  # the model holds back "and " until the user has stopped it
    openai_server.reply(
        Script(text="Fine."),
        Script(status=500, error="the GPU fell over"),                 # error, no text
        Script(text="Half an", finish_reason=None, done=False),        # error after text
        Script(text=["Stopped ", "here ", "and ", "more"], gate=held, gate_after=2),
        Script(text="Last."))
    service = make_service(model_entry(openai_server.base_url, system_prompt="S"))
    turn, _, _ = ask(service, "one")
    conv = turn.conversation.id
    assert ask(service, "two", conv)[1].message.status == "error"
    assert ask(service, "three", conv)[1].message.content == "Half an"
    stopped = service.reply(service.send(conv, "four").answer)
    for piece in stopped.pieces(idle=0.05):  # as the page reads it (held-back text, when idle)
        if "here" in stopped.text:
            stopped.stop()
    held.set()
    assert (stopped.message.status, stopped.message.content) == ("stopped", "Stopped here ")
    ask(service, "five", conv)
    assert openai_server.requests[-1].messages == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "one"}, {"role": "assistant", "content": "Fine."},
        {"role": "user", "content": "four"}, {"role": "assistant", "content": "Stopped here "},
        {"role": "user", "content": "five"}]
    # the failed turns were asked with the same rule: each request alternates
    for request in openai_server.requests:
        roles = [m["role"] for m in request.messages if m["role"] != "system"]
        assert roles == ["user", "assistant"] * (len(roles) // 2) + ["user"]
    # regenerating a failed answer sends the history of its own turn
    again = service.reply(service.regenerate(service.store.messages(conv)[3].id))
    list(again)
    assert openai_server.requests[-1].messages == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "one"}, {"role": "assistant", "content": "Fine."},
        {"role": "user", "content": "two"}]


def database_files(path: str) -> dict[str, bytes]:
    """Every file of a SQLite database: the main file, its -wal and -shm."""
    folder = Path(path).parent
    return {f.name: f.read_bytes() for f in folder.iterdir()
            if f.name.startswith(Path(path).name)}


def test_key_and_header_values_are_sent_but_never_stored(make_service, openai_server,
                                                         monkeypatch, caplog):
    """Not in the database's files (the -wal, where SQLite first writes, before and after a
    checkpoint), not in an export, not in anything logged (the SDK's debug log included)."""
    monkeypatch.setenv("TEST_LLM_KEY", "sk-secret-value-123")
    openai_server.api_key = "sk-secret-value-123"
    service = make_service(model_entry(openai_server.base_url, api_key_env="TEST_LLM_KEY",
                                       headers={"X-Tenant": "tenant-token-456"}))
    with caplog.at_level(logging.DEBUG):
        _, reply, _ = ask(service, "marker-prompt-789")
    assert reply.message.status == "complete"
    sent = openai_server.requests[-1].headers
    assert sent["authorization"] == "Bearer sk-secret-value-123"
    assert sent["x-tenant"] == "tenant-token-456"
    assert reply.message.settings["headers"] == ["X-Tenant"]
    assert reply.message.settings["api_key_env"] == "TEST_LLM_KEY"
    service.rate(reply.message.id, 1)
    rows = [answer_row(r) for r in service.store.iter_rated_answers()]
    out = io.StringIO()
    write_csv(rows, out)
    dumped = out.getvalue() + json.dumps(rows, default=str)
    assert "sk-secret-value-123" not in dumped and "tenant-token-456" not in dumped
    assert caplog.records and "sk-secret-value-123" not in caplog.text
    assert "tenant-token-456" not in caplog.text

    path = service.store.engine.url.database
    before = database_files(path)
    assert f"{Path(path).name}-wal" in before  # WAL mode: the rows are in the -wal first
    assert any(b"marker-prompt-789" in data for data in before.values())  # we read them
    with service.store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    after = database_files(path)
    assert b"marker-prompt-789" in after[Path(path).name]  # now in the main file
    for data in (*before.values(), *after.values()):
        assert b"sk-secret-value-123" not in data and b"tenant-token-456" not in data


def test_a_rejected_key_is_not_repeated_in_the_message(make_service, openai_server,
                                                       monkeypatch):
    monkeypatch.setenv("TEST_LLM_KEY", "sk-wrong-key-789")
    openai_server.api_key = "sk-right"  # the server echoes the wrong key, as OpenAI does
    service = make_service(model_entry(openai_server.base_url, api_key_env="TEST_LLM_KEY"))
    _, reply, _ = ask(service, "hi")
    assert reply.message.status == "error"
    assert reply.message.error.startswith(
        f"The model server at {openai_server.base_url} rejected the API key in $TEST_LLM_KEY "
        "(401 Unauthorized: Incorrect API key provided: ***)")
    assert "sk-wrong-key-789" not in reply.message.error


FAILURES = [
    pytest.param(Script(status=401, error="no key"), "",
                 "requires an API key (401 Unauthorized: no key); set api_key_env for model "
                 "'llm'", id="401"),
    pytest.param(Script(status=403, error="not your org"), "",
                 "refused access (403 Forbidden: not your org)", id="403"),
    pytest.param(Script(status=429, error="slow down", headers={"Retry-After": "7"}), "",
                 "is rate-limiting requests (429 Too Many Requests: slow down); retry after 7 s",
                 id="429"),
    pytest.param(Script(status=429, error="quota", headers={"retry-after-ms": "1500"}), "",
                 "is rate-limiting requests (429 Too Many Requests: quota); retry after 1.5 s",
                 id="429-ms"),
    pytest.param(Script(status=500, error="CUDA out of memory"), "",
                 "failed with 500 Internal Server Error: CUDA out of memory", id="500"),
    pytest.param(Script(status=503, error="<html><body>busy</body></html>"), "",
                 "failed with 503 Service Unavailable", id="503-html"),
    pytest.param(Script(status=400, error="context length exceeded"), "",
                 "rejected the request (400 Bad Request: context length exceeded)", id="400"),
    pytest.param(Script(text="partial answer", raw="data: {not json"), "partial answer",
                 "sent a malformed stream (an event that is not JSON: '{not json')",
                 id="malformed-json"),
    pytest.param(Script(text="partial", raw='data: {"choices": [{"delta": {"content": 42}}]}'),
                 "partial",
                 "sent a malformed stream (a chunk without the expected choices and delta)",
                 id="malformed-chunk"),
    pytest.param(Script(text="cut short", finish_reason=None, done=False), "cut short",
                 "ended the stream before the answer was finished (no finish reason)",
                 id="no-finish-reason"),
    pytest.param(Script(text="cut short", finish_reason=None), "cut short",
                 "ended the stream before the answer was finished (no finish reason)",
                 id="done-without-finish-reason"),
    pytest.param(Script(text="half", drop=True), "half",
                 "broke off the answer: the connection closed mid-stream (peer closed "
                 "connection without sending complete message body (incomplete chunked read))",
                 id="dropped-connection"),
    pytest.param(Script(text="half", error_event="model overloaded"), "half",
                 "reported an error in the middle of the answer: model overloaded",
                 id="error-event"),
    pytest.param(Script(text="x", content_type="application/json", finish_reason=None), "x",
                 "did not stream: it answered with application/json", id="not-a-stream"),
    pytest.param(Script(first_delay=1.5), "",
                 "did not start answering within 0.5 s (read timeout)", id="read-timeout"),
    pytest.param(Script(text="slow start", hang=1.5), "slow start",
                 "went silent for 0.5 s in the middle of the answer (read timeout)",
                 id="read-timeout-mid-stream"),
]


@pytest.mark.parametrize("script, partial, message", FAILURES)
def test_each_failure_is_one_clear_line(make_service, openai_server, script, partial, message):
    openai_server.reply(script)
    service = make_service(model_entry(openai_server.base_url, timeout=0.5))
    turn, _, pieces = ask(service, "question")
    answer = service.store.message(turn.answer.id)
    assert answer.status == "error"
    assert answer.error == f"The model server at {openai_server.base_url} {message}"
    assert "\n" not in answer.error
    assert answer.content == partial == "".join(pieces)
    prompt = service.store.message(turn.prompt.id)
    assert (prompt.role, prompt.content) == ("user", "question")
    # the app keeps working: the next prompt in the same conversation is answered
    _, again, _ = ask(service, "next", turn.conversation.id)
    assert (again.message.status, again.message.content) == ("complete", "Echo: next")


def test_unknown_model_404(make_service, openai_server):
    service = make_service(model_entry(openai_server.base_url).replace('"test-model"', '"nope"'))
    _, reply, _ = ask(service, "hi")
    assert reply.message.error == (f"The model server at {openai_server.base_url} does not "
                                   "know the model 'nope' (404 Not Found: The model `nope` "
                                   "does not exist)")


def test_wrong_path_404_points_at_base_url(make_service, openai_server):
    base = openai_server.base_url.removesuffix("/v1")
    service = make_service(model_entry(base))
    _, reply, _ = ask(service, "hi")
    assert reply.message.error == (
        f"The model server at {base} has no chat-completions endpoint at {base}/chat/"
        "completions (404 Not Found); check base_url (it usually ends in /v1)")


def test_connection_refused(make_service):
    url = refusing_url()
    service = make_service(model_entry(url))
    turn, reply, _ = ask(service, "hello?")
    assert reply.message.status == "error"
    assert reply.message.error == f"The model server at {url} refused the connection"
    assert service.store.message(turn.prompt.id).content == "hello?"


def test_connect_timeout(make_service):
    server = Unaccepting()
    url = server.base_url
    try:
        service = make_service(model_entry(server.base_url, connect_timeout=0.3))
        started = time.monotonic()
        _, reply, _ = ask(service, "hello?")
        # 0.3 s, not the default 10 s: a ceiling with room for a busy machine
        assert time.monotonic() - started < 8
    finally:
        server.close()
    assert reply.message.error == (f"The model server at {url} did not accept the "
                                   "connection within 0.3 s (connect timeout)")


def test_stop_keeps_partial_text_as_stopped(make_service, openai_server):
    held = threading.Event()  # "three " waits until the test has stopped the answer
    openai_server.reply(Script(text=["one ", "two ", "three ", "four ", "five"], gate=held,
                               gate_after=2))
    service = make_service(model_entry(openai_server.base_url))
    turn = service.send(None, "count")
    reply = service.reply(turn.answer)
    received = ""
    for piece in reply.pieces(idle=0.05):  # as the page reads it (held-back text, when idle)
        received += piece
        if "two" in received:
            reply.stop()
    held.set()
    answer = service.store.message(turn.answer.id)
    assert (answer.status, answer.content) == ("stopped", "one two ")
    assert answer.finish_reason is None and answer.error is None


def test_close_mid_stream_closes_the_connection(make_service, openai_server):
    openai_server.reply(Script(text=["a ", "b ", "c ", "d"], delay=0.3))
    service = make_service(model_entry(openai_server.base_url))
    turn = service.send(None, "go")
    reply = service.reply(turn.answer)
    stream = iter(reply)
    assert next(stream) == "a "
    reply.close()
    answer = service.store.message(turn.answer.id)
    assert (answer.status, answer.content) == ("stopped", "a ")
    wait_until(lambda: openai_server.abandoned, timeout=30,
               what="the model server to see its stream abandoned")
    assert openai_server.abandoned == 1  # the HTTP stream was closed, not left reading
    _, again, _ = ask(service, "more", turn.conversation.id)
    assert again.message.status == "complete"


@pytest.mark.parametrize("silence", ["before", "after"],
                         ids=["before-headers", "before-first-token"])
def test_stop_acts_while_the_model_is_silent(make_service, openai_server, silence):
    """A stop before the first token ends the answer at once; the connection is closed
    when the server's first byte arrives (a blocked read cannot be cut from elsewhere)."""
    speak = threading.Event()  # the model stays silent until the test has seen the stop
    openai_server.reply(Script(text=["late ", "words ", "after ", "a ", "while"], delay=0.3,
                               gate=speak, gate_after=-1 if silence == "before" else 0))
    service = make_service(model_entry(openai_server.base_url))
    turn = service.send(None, "slow")
    reply = service.reply(turn.answer)
    threading.Timer(0.3, reply.stop).start()
    try:
        assert list(reply) == []  # ended by the stop while the model was silent
    finally:
        speak.set()
    answer = service.store.message(turn.answer.id)
    assert (answer.status, answer.content, answer.ttft_ms) == ("stopped", "", None)
    wait_until(lambda: openai_server.abandoned, timeout=30,
               what="the model server to see its stream abandoned")
    assert openai_server.abandoned == 1
    for pump in [t for t in threading.enumerate() if t.name == f"stream-{turn.answer.id}"]:
        pump.join(30)  # the reading thread has ended: nothing can come late
    assert service.store.message(turn.answer.id).content == ""  # nothing late is saved


def test_a_stop_closes_the_connection_at_the_next_chunk_even_without_text(make_service,
                                                                         openai_server):
    """A server that sends chunks without text (hidden reasoning, keep-alives) for 4 s is
    cut at its next chunk, not at its first text."""
    openai_server.reply(Script(text=[""] * 150 + ["text"], delay=0.2))  # 30 s of no text
    service = make_service(model_entry(openai_server.base_url))
    reply = service.reply(service.send(None, "think").answer)
    threading.Timer(0.3, reply.stop).start()
    assert list(reply) == [] and reply.message.status == "stopped"
    stopped = time.monotonic()
    wait_until(lambda: openai_server.abandoned, timeout=30,
               what="the model server to see its stream abandoned")
    # at a chunk 0.2 s after the stop, not at the text 30 s later (room for a busy machine)
    assert openai_server.abandoned == 1 and time.monotonic() - stopped < 15


def test_pieces_give_the_reader_control_while_the_model_is_silent(make_service,
                                                                    openai_server):
    openai_server.reply(Script(text=["a ", "b"], first_token_delay=0.6, delay=0.4))
    service = make_service(model_entry(openai_server.base_url))
    reply = service.reply(service.send(None, "go").answer)
    seen = list(reply.pieces(idle=0.1))
    text = [p for p in seen if p]
    assert text == ["a ", "b"] and seen.count("") >= 5  # silent ~1 s: ~10 empty looks
    assert reply.message.status == "complete"


def test_close_before_start_is_saved_as_stopped(make_service, openai_server):
    service = make_service(model_entry(openai_server.base_url))
    turn = service.send(None, "never read")
    service.reply(turn.answer).close()
    assert service.store.message(turn.answer.id).status == "stopped"
    stopped = service.reply(service.send(turn.conversation.id, "stopped first").answer)
    stopped.stop()
    assert list(stopped) == [] and stopped.message.status == "stopped"
    assert openai_server.requests == []  # the model was never asked


def test_regenerate_keeps_versions_each_with_its_rating(make_service, openai_server):
    service = make_service('[feedback]\nmode = "changeable"\n'
                           + model_entry(openai_server.base_url))
    openai_server.reply(Script(text="first try"), Script(text="second try"),
                        Script(status=500, error="boom"))
    turn, first, _ = ask(service, "q")
    service.rate(first.message.id, 0)
    second = service.reply(service.regenerate(first.message.id))
    list(second)
    third = service.reply(service.regenerate(second.message.id))
    list(third)
    assert third.message.status == "error"
    versions = service.store.versions(turn.prompt.id)
    assert [(v.version, v.content, v.status, v.selected) for v in versions] == [
        (1, "first try", "complete", False), (2, "second try", "complete", False),
        (3, "", "error", True)]
    # each regeneration sent the same history: the prompt, without earlier versions
    assert [r.messages for r in openai_server.requests] == [[{"role": "user",
                                                             "content": "q"}]] * 3
    service.store.select_version(versions[1].id)
    service.rate(versions[1].id, 1)
    shown = service.store.messages(turn.conversation.id)
    assert [(m.content, m.version, m.siblings) for m in shown] == [("q", 1, 1),
                                                                   ("second try", 2, 3)]
    ratings = service.store.ratings(turn.conversation.id)
    assert {k: r.value for k, r in ratings.items()} == {versions[0].id: 0, versions[1].id: 1}
    rows = [answer_row(r) for r in service.store.iter_rated_answers()]
    assert [(r["response"], r["rating"], r["version"], r["versions"], r["model"]) for r in rows] \
        == [("first try", 0, 1, 3, "llm"), ("second try", 1, 2, 3, "llm")]
    assert rows[0]["settings"]["base_url"] == openai_server.base_url
    assert rows[0]["prompt_tokens"] == 11 and rows[0]["finish_reason"] == "stop"
    # a following turn is answered with the selected version as history
    ask(service, "next", turn.conversation.id)
    assert openai_server.requests[-1].messages[1] == {"role": "assistant",
                                                      "content": "second try"}


def test_concurrent_streams_share_one_client(make_service, openai_server):
    openai_server.default = Script(text=["x"] * 10, delay=0.05)
    service = make_service(model_entry(openai_server.base_url))
    results: list[str] = []

    def chat() -> None:
        _, reply, _ = ask(service, "hi")
        results.append(reply.message.status)

    threads = [threading.Thread(target=chat) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results == ["complete"] * 4


BASE = '[[models]]\nname = "m"\nbackend = "openai"\nbase_url = "http://h/v1"\nmodel = "x"\n'


@pytest.mark.parametrize("entry, message", [
    ('[[models]]\nname = "m"\nbackend = "openai"\nmodel = "x"\n',
     "model 'm': 'base_url' is required for backend 'openai'"),
    ('[[models]]\nname = "m"\nbackend = "openai"\nbase_url = "http://h/v1"\n',
     "model 'm': 'model' is required for backend 'openai'"),
    ('[[models]]\nname = "m"\nbackend = "openai"\nbase_url = "localhost:11434"\nmodel = "x"\n',
     "model 'm': 'base_url' must be an http(s) URL"),
    (BASE + 'api_key_env = "CF_TEST_UNSET_KEY"\n',
     "model 'm': api_key_env names the environment variable CF_TEST_UNSET_KEY, which is not set"),
    (BASE + 'temperature = "hot"\n', "model 'm': 'temperature' must be a int or float, got 'hot'"),
    (BASE + 'timeout = 0\n', "model 'm': 'timeout' must be positive, got 0"),
    (BASE + 'headers = { X = 1 }\n', "model 'm': 'headers' must map header names to strings"),
    (BASE + 'api_key = "sk-inline"\n', "model 'm': 'api_key' is not accepted"),
    (BASE + 'trace_header = "x request id"\n',
     "model 'm': 'trace_header' must be a response header name such as \"x-request-id\""),
])
def test_bad_model_entries_fail_at_start(make_service, monkeypatch, entry, message):
    monkeypatch.delenv("CF_TEST_UNSET_KEY", raising=False)
    with pytest.raises(ConfigError) as err:
        make_service(entry)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_run_exits_2_on_a_bad_model_entry(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from chatfeedback.cli import main

    monkeypatch.delenv("CF_TEST_UNSET_KEY", raising=False)
    config = tmp_path / "c.toml"
    config.write_text('[[models]]\nname = "llama"\nbackend = "openai"\n'
                      'base_url = "http://localhost:11434/v1"\nmodel = "llama3.2"\n'
                      'api_key_env = "CF_TEST_UNSET_KEY"\n')
    result = CliRunner().invoke(main, ["run", "--config", str(config),
                                       "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("Error: model 'llama': api_key_env names the environment "
                                     "variable CF_TEST_UNSET_KEY, which is not set")


def test_retry_after_forms_and_public_url():
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    from chatfeedback.backends.openai import public_url, retry_after

    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 28 <= retry_after({"retry-after": later}) <= 31
    assert retry_after({"retry-after": "12"}) == 12.0
    assert retry_after({"retry-after-ms": "2500"}) == 2.5
    assert retry_after({"retry-after": "soon"}) is None and retry_after({}) is None
    assert public_url("https://user:pw@llm.example.org:8443/v1/") == \
        "https://llm.example.org:8443/v1"


def test_credentials_in_base_url_are_not_stored_or_shown(make_service):
    url = refusing_url().replace("http://", "http://user:hunter22@")
    service = make_service(model_entry(url))
    _, reply, _ = ask(service, "hi")
    assert "hunter22" not in reply.message.error
    assert "hunter22" not in json.dumps(reply.message.settings)


def test_the_trace_header_becomes_the_answers_trace_id(make_service, openai_server):
    """``trace_header`` names the response header whose value is the answer's trace id
    (stored with it, sent on to the Langfuse and OpenTelemetry sinks)."""
    traced = {"x-request-id": "req_8f3a2b", "traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8
              + "-01"}
    openai_server.reply(Script(headers=traced), Script(headers=traced))
    service = make_service(model_entry(openai_server.base_url, trace_header="X-Request-Id")
                           + model_entry(openai_server.base_url, name="plain"))
    _, reply, _ = ask(service, "hi")
    assert reply.message.trace_id == "req_8f3a2b"
    assert service.store.message(reply.message.id).trace_id == "req_8f3a2b"
    assert "trace_header" not in reply.message.settings  # not a generation setting
    turn = service.send(None, "hi", model="plain")
    list(service.reply(turn.answer))
    assert service.store.message(turn.answer.id).trace_id is None  # no trace_header: none


def test_a_stopped_or_failed_answer_keeps_its_trace_id(make_service, openai_server):
    openai_server.reply(Script(text=["one ", "two ", "three ", "four"], delay=0.3,
                               headers={"x-request-id": "req_stopped"}),
                        Script(status=500, error="overloaded",
                               headers={"x-request-id": "req_failed"}))
    service = make_service(model_entry(openai_server.base_url, trace_header="x-request-id"))
    turn = service.send(None, "count")
    reply = service.reply(turn.answer)
    for piece in reply:
        if "one" in piece:
            reply.stop()
    stopped = service.store.message(turn.answer.id)
    assert (stopped.status, stopped.trace_id) == ("stopped", "req_stopped")
    _, reply, _ = ask(service, "again")
    assert (reply.message.status, reply.message.trace_id) == ("error", "req_failed")
