"""The webhook sink and the delivery worker against a real HTTP receiver on 127.0.0.1
(harness/receiver.py: stdlib http.server) that answers 500, hangs past the sink's
timeout, is stopped (refused connections) and started again: every event arrives, each id
once after de-duplication, with a signature that the documented five-line verifier accepts.
Also: dead after max_tries and retried, comments redacted for a ``redact = true`` sink."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from chatfeedback.config import OutboxConfig
from chatfeedback.errors import ConfigError
from chatfeedback.outbox import registry
from chatfeedback.outbox.base import Event, SinkSettings
from chatfeedback.outbox.webhook import signature
from chatfeedback.outbox.worker import Worker, backoff
from chatfeedback.store import Store
from chatfeedback.store import outbox as queue
from harness.receiver import HANG, Receiver

from .support import free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
SECRET = "whsec-test-0123456789"
FAST = OutboxConfig(poll=0.05, backoff=0.05, batch=20, threads=4, lease=5)


def verifier():
    """The ``verify`` function exactly as docs/sinks.md shows it."""
    text = (ROOT / "docs" / "sinks.md").read_text(encoding="utf-8")
    [code] = [block for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL)
              if "def verify(" in block]
    assert len(code.strip().splitlines()) <= 6, code  # the import line and five lines
    scope: dict = {}
    exec(code, scope)  # noqa: S102 - the documented snippet, run as a reader would
    return scope["verify"]


def answers(store: Store, n: int) -> list[str]:
    ids = []
    for i in range(n):
        conv = store.import_conversation([("user", f"q{i}"), ("assistant", f"a{i}")],
                                         model="echo")
        ids.append(next(m.id for m in store.messages(conv.id) if m.role == "assistant"))
    return ids


def sink(url: str, name: str = "hooks", **kw) -> SinkSettings:
    return SinkSettings(name=name, kind="webhook", url=url, secret_env="HOOK_SECRET",
                        timeout=kw.pop("timeout", 1.0), **kw)


@pytest.fixture
def secret(monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", SECRET)


def worker(store: Store, *settings: SinkSettings, config: OutboxConfig = FAST) -> Worker:
    return Worker(store, [(s, registry.build(s)) for s in settings], config)


def test_the_documented_verifier_accepts_our_signature_and_nothing_else():
    verify = verifier()
    body = b'{"id":"01x","action":"set"}'
    header = signature(SECRET.encode(), int(time.time()), body)
    assert verify(SECRET.encode(), header, body)
    assert not verify(SECRET.encode(), header, body.replace(b"set", b"clear"))
    assert not verify(b"another secret", header, body)
    stale = signature(SECRET.encode(), int(time.time()) - 3600, body)
    assert not verify(SECRET.encode(), stale, body)


def test_a_webhook_needs_its_secret_and_takes_no_unknown_keys(monkeypatch):
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    with pytest.raises(ConfigError, match="sink 'hooks': secret_env names the environment "
                                          "variable HOOK_SECRET, which is not set"):
        registry.build(sink("http://127.0.0.1:1/"))
    with pytest.raises(ConfigError, match="sink 'h': 'secret_env' is required"):
        registry.build(SinkSettings(name="h", kind="webhook", url="http://127.0.0.1:1/"))
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    with pytest.raises(ConfigError, match="sink 'hooks': unknown key 'colour'"):
        registry.build(sink("http://127.0.0.1:1/", options={"colour": 1}))


def test_every_event_arrives_through_500s_timeouts_and_a_restarted_receiver(store, secret):
    receiver = Receiver().start()
    verify = verifier()
    work = worker(store, sink(receiver.url, timeout=0.5)).start()
    try:
        messages = answers(store, 12)
        expected = []
        for message in messages[:4]:
            expected.append(store.rate(message, 1, scale="thumbs", actor="ann"))
        wait_until(lambda: len(set(receiver.ids())) == 4, what="the first four events")

        receiver.status = 500                                  # Internal Server Error
        for message in messages[4:7]:
            store.rate(message, 0, scale="thumbs", actor="bob")
        wait_until(lambda: receiver.count(500) >= 6, what="retries after 500")
        receiver.status = HANG                                 # past the sink's timeout
        wait_until(lambda: any(s.last_error and "did not answer within 0.5 s" in s.last_error
                               for s in queue.status(store, ["hooks"])), what="a timeout")
        receiver.stop()                                        # connections refused
        for message in messages[7:]:
            store.rate(message, 1, scale="thumbs", actor="cy")
        wait_until(lambda: any(s.last_error and "cannot be reached" in s.last_error
                               for s in queue.status(store, ["hooks"])),
                   what="a refused connection")
        receiver.status = 200
        receiver.start()                                       # the same port, back
        wait_until(lambda: len(set(receiver.ids())) == 12, timeout=90,
                   what="all twelve events after the receiver came back")
    finally:
        work.stop()
        receiver.stop()
    delivered = receiver.answered()
    unique = {r.headers["idempotency-key"]: r for r in delivered}
    assert len(unique) == 12
    for request in delivered:
        assert verify(SECRET.encode(), request.headers["x-chatfeedback-signature"], request.body)
        event = request.json()
        assert event["id"] == request.headers["idempotency-key"]
        assert request.headers["x-chatfeedback-event"] == event["action"] == "set"
        assert {"message_id", "conversation_id", "value", "scale", "actor", "at"} <= set(event)
    assert {e["message_id"] for e in (r.json() for r in unique.values())} == set(messages)
    [status] = queue.status(store, ["hooks"])
    assert (status.pending, status.delivered, status.dead, status.queued) == (0, 12, 0, 0)


def test_dead_after_max_tries_then_retried(store, secret):
    hooks = sink(f"http://127.0.0.1:{free_port()}/hook", max_tries=3)
    work = worker(store, hooks)
    work.register()
    store.rate(answers(store, 1)[0], 1, scale="thumbs", actor="ann")
    work.drain()  # the first try
    for _ in range(2):  # each pass sends what is due; wait for the backoff in between
        wait_until(lambda: queue.due(store, "hooks", 10), what="the retry's time")
        work.drain()
    [status] = queue.status(store, ["hooks"])
    assert (status.pending, status.dead) == (0, 1)
    assert "cannot be reached" in status.last_error

    receiver = Receiver().start()
    try:
        alive = worker(store, sink(receiver.url, max_tries=3))
        assert alive.drain()["hooks"].delivered == 0        # dead ones wait to be asked
        assert queue.retry(store, "hooks") == 1
        assert alive.drain()["hooks"].delivered == 1
    finally:
        receiver.stop()
    assert len(receiver.ids()) == 1


def test_a_redacting_sink_gets_the_comment_redacted_the_other_does_not(store, secret):
    plain, private = Receiver().start(), Receiver().start()
    try:
        message = answers(store, 1)[0]
        store.rate(message, 0, scale="thumbs", actor="ann")
        work = worker(store, sink(plain.url, name="plain"),
                      sink(private.url, name="private", redact=True))
        work.register()  # both sinks now exist: the comment is theirs
        store.annotate(message, comment="Call me on +49 30 1234 5678 or ann@example.org",
                       actor="ann")
        tallies = work.drain()
        assert tallies["plain"].delivered == tallies["private"].delivered == 1
    finally:
        plain.stop()
        private.stop()
    [sent] = [r.json() for r in plain.answered() if r.json()["action"] == "comment"]
    [kept] = [r.json() for r in private.answered() if r.json()["action"] == "comment"]
    assert sent["comment"] == "Call me on +49 30 1234 5678 or ann@example.org"
    assert kept["comment"] == "Call me on [PHONE] or [EMAIL]"


def test_backoff_doubles_with_jitter_and_is_capped():
    import random

    rand = random.Random(7)
    delays = [[backoff(n, 2.0, rand) for _ in range(200)] for n in (1, 2, 3)]
    for n, sample in zip((1, 2, 3), delays, strict=True):
        top = 2.0 * 2 ** (n - 1)
        assert all(top * 0.5 <= d <= top for d in sample)
        assert max(sample) - min(sample) > top * 0.3     # jittered, not one value
    assert backoff(40, 2.0, rand) <= 3600


def test_an_event_as_posted_is_the_event_as_json():
    from chatfeedback.outbox.webhook import body

    event = Event(id="01x", action="tags", message_id="m", conversation_id="c", value=1,
                  scale="thumbs", actor="ann", at="2026-12-01T22:00:00+00:00",
                  tags=("Clear",), comment="naïve")
    assert json.loads(body(event)) == event.as_json()
    assert "naïve".encode() in body(event)
