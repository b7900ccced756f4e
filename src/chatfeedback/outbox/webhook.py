"""The webhook sink: each event POSTed as JSON, signed with HMAC-SHA256 the way Stripe signs.

Headers: ``Content-Type: application/json``, ``Idempotency-Key: <event id>`` (the same on
every retry: deduplicate on it), ``X-Chatfeedback-Event: <action>`` and
``X-Chatfeedback-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, keyed
by the secret in the environment variable ``secret_env`` names (never stored). The receiver
recomputes the HMAC over the raw body and rejects old timestamps (docs/sinks.md, with a
five-line verifier). Any 2xx answer is a delivery; anything else, a timeout or a refused
connection is a DeliveryError, retried by the worker. One keep-alive connection pool per
sink, shared by the worker's threads.

The client is urllib3 (in the dependency tree through requests, which Streamlit needs): a
POST to a local receiver costs it about 0.35-0.4 ms of CPU against httpx's 0.7-0.9 ms
(measured side by side, 2,000 requests each), and the outbox's backlog drain is bound by
exactly that CPU (benchmarks/outbox.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from importlib.metadata import version

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, TimeoutError

from ..errors import ConfigError
from .base import DeliveryError, Event, SinkSettings

SIGNATURE_HEADER = "X-Chatfeedback-Signature"


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def body(event: Event) -> bytes:
    """The POSTed bytes: the event as compact UTF-8 JSON."""
    return json.dumps(event.as_json(), ensure_ascii=False, separators=(",", ":")).encode()


class WebhookSink:
    def __init__(self, settings: SinkSettings) -> None:
        if settings.options:
            raise ConfigError(f"unknown key '{min(settings.options)}' for a webhook sink")
        if settings.secret_env is None:
            raise ConfigError("'secret_env' is required: the NAME of the environment "
                              "variable holding the secret the requests are signed with")
        self.name, self.url, self.timeout = settings.name, settings.url, settings.timeout
        self._secret = (settings.secret() or "").encode()
        # more connections than the worker's threads are made when needed, not kept
        self._pool = urllib3.PoolManager(
            num_pools=4, maxsize=16, retries=False, timeout=urllib3.Timeout(settings.timeout),
            headers={"User-Agent": f"chatfeedback/{version('chatfeedback')}"})

    def send(self, event: Event) -> None:
        data = body(event)
        headers = {"Content-Type": "application/json", "Idempotency-Key": event.id,
                   "X-Chatfeedback-Event": event.action,
                   SIGNATURE_HEADER: signature(self._secret, int(time.time()), data),
                   **self._pool.headers}
        try:
            response = self._pool.request("POST", self.url, body=data, headers=headers,
                                          redirect=False)
        except NewConnectionError as exc:
            reason = str(exc).rsplit(": ", 1)[-1]
            raise DeliveryError(f"{self.url} cannot be reached ({reason})") from None
        except TimeoutError:
            raise DeliveryError(f"{self.url} did not answer within {self.timeout:g} s") \
                from None
        except HTTPError as exc:
            raise DeliveryError(f"{self.url}: {type(exc).__name__}: {exc}") from None
        if not 200 <= response.status < 300:
            said = " ".join(response.data.decode(errors="replace").split())[:200]
            raise DeliveryError(f"{self.url} answered {response.status} {response.reason}"
                                + (f": {said}" if said else ""))

    def close(self) -> None:
        self._pool.clear()
