"""Keep-alive HTTP(S) POSTs to one URL from many threads: the standard library's
http.client, one kept-alive connection per thread.

Why not urllib3 or httpx (both in the dependency tree): the outbox's backlog drain is bound
by the CPU each POST costs in the delivering process, and to a local receiver a POST cost
http.client 0.12-0.25 ms, urllib3 0.42-0.64 ms and httpx 0.7-0.9 ms (2,000 requests each,
side by side, on the loaded 2-core machine). What the pools add (retries, redirects, proxy
support) the outbox does not want: the worker retries with backoff, a webhook that
redirects is misconfigured, and neither pool reads proxy variables by itself either.

A connection kept alive that the server closed meanwhile fails at once on reuse; that one
POST is sent again on a new connection (safe: a delivery is idempotent by its event id).
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException, HTTPSConnection, RemoteDisconnected
from urllib.parse import urlsplit

STALE = (RemoteDisconnected, BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class Unreachable(Exception):
    """No connection could be made (refused, unknown host, TLS failure, connect timeout)."""


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    body: bytes


class Poster:
    """POSTs to ``url``; ``timeout`` bounds the connect and each wait for the server."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout = timeout
        self._context = ssl.create_default_context() if self.https else None
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[HTTPConnection] = set()

    def post(self, body: bytes, headers: dict[str, str]) -> Answer:
        """Send; raise Unreachable, TimeoutError, OSError or HTTPException on failure."""
        for attempt in (1, 2):
            conn, reused = self._connection()
            try:
                conn.request("POST", self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except STALE:
                self._drop(conn)
                if reused and attempt == 1:
                    continue  # the server had closed the idle connection: once, anew
                raise
            except (OSError, HTTPException):
                self._drop(conn)
                raise
            if response.will_close:
                self._drop(conn)
            return Answer(response.status, response.reason, data)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _connection(self) -> tuple[HTTPConnection, bool]:
        conn: HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn, True
        if self.https:
            conn = HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                   context=self._context)
        else:
            conn = HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.connect()
        except OSError as exc:
            conn.close()
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise Unreachable(reason) from None
        self._local.conn = conn
        with self._lock:
            self._open.add(conn)
        return conn, False

    def _drop(self, conn: HTTPConnection) -> None:
        conn.close()
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        with self._lock:
            self._open.discard(conn)

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            opened, self._open = self._open, set()
        for conn in opened:
            conn.close()
