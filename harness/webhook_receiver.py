"""A real webhook receiver on 127.0.0.1 (stdlib http.server, HTTP/1.1 keep-alive) for the
outbox's tests and benchmark: it answers as told (200, 500, or not at all until released),
can be stopped and started again on the same port, and keeps every request it got.

    receiver = Receiver().start()
    receiver.mode = "fail"          # 500 from now on; "hang": no answer; "ok": 200
    receiver.stop(); receiver.start()   # refused connections in between
    receiver.ids()                  # ids answered with 200, in arrival order
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Request:
    headers: dict[str, str]
    body: bytes
    status: int                  # what the receiver answered (0: nothing, it hung)

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.mode = "ok"
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.release = threading.Event()   # set: hung requests end (and are dropped)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"   # keep-alive
            disable_nagle_algorithm = True  # headers and body: two writes, no 40 ms wait

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                mode = receiver.mode
                if mode == "hang":
                    receiver.release.wait(120)
                    receiver._keep(dict(self.headers), data, 0)
                    self.close_connection = True
                    return
                status = 200 if mode == "ok" else 500
                receiver._keep(dict(self.headers), data, status)
                answer = b'{"ok":true}' if status == 200 else b"receiver says no"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128

        self.release.clear()
        self._server = Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are refused until :meth:`start`)."""
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _keep(self, headers: dict[str, str], body: bytes, status: int) -> None:
        with self.lock:
            self.requests.append(Request(headers, body, status))

    def answered(self) -> list[Request]:
        """The requests answered with 200."""
        with self.lock:
            return [r for r in self.requests if r.status == 200]

    def ids(self) -> list[str]:
        return [r.headers["Idempotency-Key"] for r in self.answered()]

    def count(self, status: int | None = None) -> int:
        with self.lock:
            return sum(1 for r in self.requests if status is None or r.status == status)


def refused_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
