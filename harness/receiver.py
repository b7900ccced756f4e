"""A real HTTP server on 127.0.0.1 (stdlib http.server, HTTP/1.1 keep-alive) that records
every request it receives and answers as the test says: the receiving end of a sink (a
webhook endpoint, the Langfuse API, an OTLP collector's /v1/logs). It answers with
``status`` (or what ``status_for`` picks per request), or not at all until stopped
(``HANG``); it can be stopped and started again on the same port.

    with Receiver() as receiver:
        ... send to receiver.url ...
        request = receiver.wait_for(1)[0]      # waits with a generous ceiling
        receiver.status = 500                  # every later request fails
        receiver.status = HANG                 # no answer: past the sender's timeout
        receiver.stop(); receiver.start()      # refused connections in between
        receiver.ids()                         # idempotency keys answered 2xx, in order

``check_concurrent_sends`` is the sinks' common test of sends from several threads at once.
``spawned(status, reply)`` runs one in a process of its own (``python -m harness.receiver
[STATUS] [REPLY_JSON]``), as the benchmarks do, and yields its URL.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

HANG = 0  # as a status: no answer until the receiver stops (a request that hung records 0)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int              # what the receiver answered (HANG: nothing)

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self, status: int = 200, reply: dict[str, Any] | None = None,
                 status_for: Callable[[Request], int | None] | None = None) -> None:
        self.status = status
        self.status_for = status_for  # a status per request (None: ``status``)
        self.reply = reply or {}  # the JSON body of a 2xx answer
        self.requests: list[Request] = []
        self.keep = True  # False: answer without keeping the requests (a benchmark)
        self.port = 0  # chosen by the first start, kept by the next ones
        self._arrived = threading.Condition()
        self._release = threading.Event()  # set by stop(): hung requests end
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Listen (again, on the same port after :meth:`stop`)."""

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128

        self._release.clear()
        self._server = Server(("127.0.0.1", self.port), self._handler())
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         kwargs={"poll_interval": 0.05}).start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are refused until :meth:`start`); hung requests end."""
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Request]:
        """The first ``count`` requests, once they arrived (AssertionError after
        ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.requests)} of {count} requests arrived "
                                         f"in {timeout:g} s")
                self._arrived.wait(left)
            return self.requests[:count]

    def answered(self) -> list[Request]:
        """The requests answered with a 2xx status, in arrival order."""
        with self._arrived:
            return [r for r in self.requests if 200 <= r.status < 300]

    def ids(self) -> list[str]:
        """The idempotency keys of the requests answered with 2xx (a webhook's event ids)."""
        return [r.headers["idempotency-key"] for r in self.answered()]

    def count(self, status: int | None = None) -> int:
        """How many requests were answered with ``status`` (None: all)."""
        with self._arrived:
            return sum(1 for r in self.requests if status is None or r.status == status)

    def _keep(self, request: Request) -> None:
        if self.keep:
            with self._arrived:
                self.requests.append(request)
                self._arrived.notify_all()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"   # keep-alive
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms wait

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                request = Request(self.command, self.path,
                                  {k.lower(): v for k, v in self.headers.items()},
                                  self.rfile.read(length) if length else b"", HANG)
                chosen = receiver.status_for(request) if receiver.status_for else None
                status = receiver.status if chosen is None else chosen
                if status == HANG:
                    receiver._release.wait(120)
                    receiver._keep(request)
                    self.close_connection = True
                    return
                receiver._keep(replace(request, status=status))
                payload = json.dumps(receiver.reply if status < 300
                                     else {"message": "failed"}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = _answer

        return Handler


def check_concurrent_sends(make_sink: Callable[[str], Any], make_event: Callable[[str], Any],
                           event_id: Callable[[Request], str], **options: Any) -> None:
    """A sink's sends from 8 threads at once (as the outbox's worker sends), to a receiver
    (``options``: its status, reply) that fails every third event with 400: each send's
    outcome is its own (exactly those raise DeliveryError) and every event arrives once.
    ``make_sink(url)`` builds the sink, ``make_event(id)`` an event, ``event_id(request)``
    reads the id back from what arrived."""
    from chatfeedback.outbox.base import DeliveryError

    ids = [f"event-{n:03d}" for n in range(90)]
    with Receiver(status_for=lambda r: 400 if int(event_id(r)[-3:]) % 3 == 0 else None,
                  **options) as receiver:
        sink = make_sink(receiver.url)

        def outcome(id_: str) -> str:
            try:
                sink.send(make_event(id_))
            except DeliveryError:
                return "failed"
            return "sent"

        try:
            with ThreadPoolExecutor(8) as pool:
                outcomes = dict(zip(ids, pool.map(outcome, ids), strict=True))
        finally:
            sink.close()
        received = receiver.wait_for(len(ids))
    assert sorted(event_id(r) for r in received) == ids, "an event lost or sent twice"
    assert [i for i, o in outcomes.items() if o == "failed"] == ids[::3], outcomes


@contextmanager
def spawned(status: int = 200, reply: dict[str, Any] | None = None) -> Iterator[str]:
    """A receiver in a process of its own (it keeps no requests), answering every request
    with ``status`` and ``reply``; yields its URL and kills it afterwards."""
    proc = subprocess.Popen([sys.executable, "-m", "harness.receiver", str(status),
                             json.dumps(reply or {})], cwd=Path(__file__).parents[1],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()  # type: ignore[union-attr]
        if not url:
            raise RuntimeError("the receiver did not start")
        yield url
    finally:
        proc.kill()
        proc.wait(30)
        proc.stdout.close()  # type: ignore[union-attr]


def main() -> None:
    """``python -m harness.receiver [STATUS] [REPLY_JSON]``: serve until killed; prints its
    URL on the first line."""
    status = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    reply = json.loads(sys.argv[2]) if len(sys.argv) > 2 else None
    with Receiver(status=status, reply=reply) as receiver:
        receiver.keep = False
        print(receiver.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
