"""Delivery across real processes: ``chatfeedback run`` SIGKILLed with events pending
delivers every one after its restart (each id once after de-duplication, signatures valid),
and of two ``chatfeedback sinks work`` processes on one PostgreSQL database exactly one
delivers; killed, the other takes over. The receiver is a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from chatfeedback.store import Store
from chatfeedback.store import outbox as queue
from harness.receiver import Receiver

from .support import VENV_BIN, Server, wait_until, write_config
from .test_webhook import SECRET, answers, verifier

HOST = socket.gethostname()


def sinks_config(path: Path, url: str) -> Path:
    return write_config(path, f"""
[outbox]
poll = 0.1
backoff = 0.2
lease = 2
batch = 10
threads = 2

[[sinks]]
name = "hooks"
kind = "webhook"
url = "{url}"
secret_env = "HOOK_SECRET"
timeout = 2
""")


def rate_all(store: Store, messages: list[str], value: int) -> None:
    for message in messages:
        store.rate(message, value, scale="thumbs", actor="ann@example.org")


def check_delivered(receiver: Receiver, messages: list[str]) -> None:
    verify = verifier()
    unique = {r.headers["idempotency-key"]: r for r in receiver.answered()}
    assert {r.json()["message_id"] for r in unique.values()} == set(messages)
    for request in receiver.answered():
        assert verify(SECRET.encode(), request.headers["x-chatfeedback-signature"],
                      request.body)


def test_run_killed_with_events_pending_delivers_them_all_after_restart(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'app.db'}"
    store = Store.open(db_url)
    receiver = Receiver().start()
    config = sinks_config(tmp_path / "c.toml", receiver.url)
    env = {"HOOK_SECRET": SECRET}
    app = Server(db_url, config, env=env, log=tmp_path / "run.log").start(timeout=120)
    try:
        messages = answers(store, 30)
        wait_until(lambda: queue.status(store, ["hooks"])[0].since is not None, timeout=60,
                   what="the worker of `chatfeedback run` to see the sink")
        rate_all(store, messages[:10], 1)
        wait_until(lambda: len(set(receiver.ids())) == 10, timeout=60,
                   what="the first ten events")
        receiver.status = 500
        rate_all(store, messages[10:], 0)
        wait_until(lambda: receiver.count(500) >= 5, timeout=60, what="failing deliveries")
        app.kill()                                     # SIGKILL: no clean shutdown
        [pending] = queue.status(store, ["hooks"])
        assert pending.pending + pending.queued == 20
        receiver.status = 200
        app = Server(db_url, config, port=app.port, env=env,
                     log=tmp_path / "run.log").start(timeout=120)
        wait_until(lambda: len(set(receiver.ids())) == 30, timeout=120,
                   what="all thirty events after the restart")
    finally:
        app.stop()
        receiver.stop()
    check_delivered(receiver, messages)
    [done] = queue.status(store, ["hooks"])
    assert (done.pending, done.queued, done.delivered, done.dead) == (0, 0, 30, 0)


def worker_process(config: Path, db_url: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(VENV_BIN / "chatfeedback"), "sinks", "work", "--config",
                             str(config), "--db", db_url],
                            env=dict(os.environ, HOOK_SECRET=SECRET),
                            stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


@pytest.mark.postgres
def test_two_workers_on_postgresql_one_delivers_and_the_other_takes_over(tmp_path, pg_url):
    store = Store.open(pg_url)
    receiver = Receiver().start()
    config = sinks_config(tmp_path / "c.toml", receiver.url)
    logs = [tmp_path / "one.log", tmp_path / "two.log"]
    procs = [worker_process(config, pg_url, logs[0])]
    try:
        wait_until(lambda: (queue.holder(store) or ("",))[0] == f"{HOST}:{procs[0].pid}",
                   timeout=60, what="the first worker to take the lock")
        procs.append(worker_process(config, pg_url, logs[1]))
        wait_until(lambda: "as " in logs[1].read_text(), timeout=60,
                   what="the second worker to start")
        messages = answers(store, 20)
        rate_all(store, messages[:10], 1)
        wait_until(lambda: len(set(receiver.ids())) == 10, timeout=60, what="ten events")
        assert f"outbox: {HOST}:{procs[0].pid} delivers" in logs[0].read_text()
        assert "outbox:" not in logs[1].read_text()         # it stood by the whole time
        assert queue.holder(store)[0] == f"{HOST}:{procs[0].pid}"

        os.killpg(procs[0].pid, signal.SIGKILL)           # the deliverer dies
        procs[0].wait(10)
        rate_all(store, messages[10:], 0)
        wait_until(lambda: len(set(receiver.ids())) == 20, timeout=60,
                   what="the other worker to take over and deliver the rest")
        assert f"outbox: {HOST}:{procs[1].pid} delivers" in logs[1].read_text()
        assert queue.holder(store)[0] == f"{HOST}:{procs[1].pid}"
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        receiver.stop()
    check_delivered(receiver, messages)
