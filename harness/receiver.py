"""A real HTTP server on 127.0.0.1 that records every request it receives and answers with
a status the test sets: the receiving end of a sink (an OTLP collector's /v1/logs, the
Langfuse API, a webhook endpoint).

    with Receiver() as receiver:
        ... send to receiver.url ...
        request = receiver.wait_for(1)[0]      # waits with a generous ceiling
        receiver.status = 500                  # every later request fails
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int = 0          # what the receiver answered

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
        self._arrived = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

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

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms wait

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _record(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path,
                                  {k.lower(): v for k, v in self.headers.items()}, body)
                chosen = receiver.status_for(request) if receiver.status_for else None
                status = receiver.status if chosen is None else chosen
                request = replace(request, status=status)
                payload = json.dumps(receiver.reply if status < 300
                                     else {"message": "failed"}).encode()
                if receiver.keep:
                    with receiver._arrived:
                        receiver.requests.append(request)
                        receiver._arrived.notify_all()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = _record

        return Handler


def main() -> None:
    """``python -m harness.receiver [STATUS] [REPLY_JSON]``: serve until killed (the
    benchmarks run it in a process of its own); prints its URL on the first line."""
    import sys

    status = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    reply = json.loads(sys.argv[2]) if len(sys.argv) > 2 else None
    with Receiver(status=status, reply=reply) as receiver:
        receiver.keep = False
        print(receiver.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
