"""A real HTTP server on 127.0.0.1 that speaks OpenAI's chat-completions streaming protocol.

Tests script each response (text, usage, delays and every kind of failure) and read the
requests it received. It is written on ``http.server`` on purpose: the failures it must
produce (a socket closed in the middle of a chunked body, a malformed event, a stream that
just stops) are what a framework would refuse to send.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

STATUS_TEXT = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
               429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
               503: "Service Unavailable"}


@dataclass
class Script:
    """One response. The defaults stream ``text`` in word-sized chunks and end properly."""

    text: str | list[str] = "Hello from the test model."
    delay: float = 0.0            # seconds between chunks
    first_delay: float = 0.0      # seconds before the response headers
    first_token_delay: float = 0.0  # seconds after the headers, before the first text
    usage: dict[str, int] | None = field(
        default_factory=lambda: {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18})
    finish_reason: str | None = "stop"   # None: the stream ends without one
    done: bool = True             # send "data: [DONE]"
    status: int = 200             # != 200: an OpenAI-style error body instead of a stream
    error: str = "something went wrong"
    headers: dict[str, str] = field(default_factory=dict)
    raw: str | None = None        # a raw line sent after the text (e.g. "data: {not json")
    error_event: str | None = None  # an in-stream {"error": {...}} event after the text
    drop: bool = False            # close the socket after the text, mid chunked body
    hang: float = 0.0             # seconds of silence after the text (a read timeout)
    content_type: str = "text/event-stream"
    gate: threading.Event | None = None  # after gate_after chunks, wait (60 s at most) for
    gate_after: int = 1                  # it; -1: before the response headers

    def chunks(self) -> list[str]:
        if isinstance(self.text, list):
            return self.text
        words = self.text.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)] if self.text else []


@dataclass
class Recorded:
    path: str  # headers: lower-case names
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, str]]:
        return self.body.get("messages", [])


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up on a scripted delay is expected, not news


class OpenAIServer:
    """``with OpenAIServer() as server:`` then point a model at ``server.base_url``."""

    def __init__(self, api_key: str | None = None, models: tuple[str, ...] = ("test-model",)):
        self.api_key = api_key
        self.models = models
        self.requests: list[Recorded] = []
        self.abandoned = 0  # streams the client closed before their end (e.g. stopped)
        self.scripts: deque[Script] = deque()
        self.default: Script | None = None  # None: echo the last user message
        self._lock = threading.Lock()
        self._httpd = _Quiet(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def reply(self, *scripts: Script) -> None:
        """Queue the responses to the next requests, in order."""
        with self._lock:
            self.scripts.extend(scripts)

    def next_script(self, body: dict[str, Any]) -> Script:
        with self._lock:
            if self.scripts:
                return self.scripts.popleft()
        if self.default is not None:
            return self.default
        last = next((m.get("content", "") for m in reversed(body.get("messages", []))
                     if m.get("role") == "user"), "")
        return Script(text=f"Echo: {last}")

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- protocol
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"unparsed": raw.decode("utf-8", "replace")}
                server.requests.append(Recorded(self.path, {k.lower(): v for k, v in
                                                            self.headers.items()}, body))
                if self.path != "/v1/chat/completions":
                    return self._error(404, f"no route {self.path}", "not_found")
                if server.api_key is not None and \
                        self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    return self._error(401, "Incorrect API key provided: "
                                       f"{self.headers.get('Authorization', '')[7:]}",
                                       "invalid_api_key")
                if body.get("model") not in server.models:
                    return self._error(404, f"The model `{body.get('model')}` does not exist",
                                       "model_not_found")
                self._respond(server.next_script(body), body)

            def _error(self, status: int, message: str, code: str,
                       headers: dict[str, str] | None = None) -> None:
                payload = json.dumps({"error": {"message": message, "type": "error",
                                                "code": code}}).encode()
                self.send_response(status, STATUS_TEXT.get(status))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def _chunk(self, data: str) -> None:
                encoded = data.encode()
                self.wfile.write(f"{len(encoded):x}\r\n".encode() + encoded + b"\r\n")
                self.wfile.flush()

            def _event(self, payload: dict[str, Any]) -> None:
                self._chunk(f"data: {json.dumps(payload)}\n\n")

            def _respond(self, script: Script, body: dict[str, Any]) -> None:
                if script.gate is not None and script.gate_after < 0:
                    script.gate.wait(60)
                if script.first_delay:
                    time.sleep(script.first_delay)
                if script.status != 200:
                    return self._error(script.status, script.error, "scripted", script.headers)
                self.send_response(200)
                self.send_header("Content-Type", script.content_type)
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Cache-Control", "no-cache")
                for name, value in script.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                base = {"id": "chatcmpl-test", "object": "chat.completion.chunk",
                        "created": int(time.time()), "model": body.get("model")}
                try:
                    self._event({**base, "choices": [{"index": 0, "delta": {
                        "role": "assistant", "content": ""}, "finish_reason": None}]})
                    if script.first_token_delay:
                        time.sleep(script.first_token_delay)
                    for i, piece in enumerate(script.chunks()):
                        if script.gate is not None and i == script.gate_after:
                            script.gate.wait(60)
                        if i and script.delay:
                            time.sleep(script.delay)
                        self._event({**base, "choices": [{"index": 0, "delta": {
                            "content": piece}, "finish_reason": None}]})
                    if script.hang:
                        time.sleep(script.hang)
                    if script.raw is not None:
                        self._chunk(script.raw + "\n\n")
                    if script.error_event is not None:
                        self._event({"error": {"message": script.error_event,
                                               "type": "server_error"}})
                    if script.drop:
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                    if script.finish_reason is not None:
                        self._event({**base, "choices": [{"index": 0, "delta": {},
                                                          "finish_reason": script.finish_reason}]})
                    wants_usage = (body.get("stream_options") or {}).get("include_usage")
                    if script.usage is not None and wants_usage:
                        self._event({**base, "choices": [], "usage": script.usage})
                    if script.done:
                        self._chunk("data: [DONE]\n\n")
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client went away (stopped)
                    with server._lock:
                        server.abandoned += 1

        return Handler


def refusing_url() -> str:
    """A base URL on a port where nothing listens: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


class Unaccepting:
    """A listening socket whose backlog is full, so a new connection is never accepted:
    the client's connect times out (Linux drops the SYN when the accept queue is full)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.fillers: list[socket.socket] = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            try:
                filler.connect(self.sock.getsockname())
            except BlockingIOError:
                pass
            self.fillers.append(filler)
        time.sleep(0.1)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def close(self) -> None:
        for filler in self.fillers:
            filler.close()
        self.sock.close()
