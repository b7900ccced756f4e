"""The webhook sink: each event POSTed as JSON, signed with HMAC-SHA256 the way Stripe signs.

Headers: ``Content-Type: application/json``, ``Idempotency-Key: <event id>`` (the same on
every retry: deduplicate on it), ``X-Chatfeedback-Event: <action>`` and
``X-Chatfeedback-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, keyed
by the secret in the environment variable ``secret_env`` names (never stored). The receiver
recomputes the HMAC over the raw body and rejects old timestamps (docs/sinks.md, with a
five-line verifier). Any 2xx answer is a delivery; anything else, a timeout or a refused
connection is a DeliveryError, retried by the worker. Connections are kept alive, one per
worker thread (poster.py says why it is the standard library's http.client).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from http.client import HTTPException
from importlib.metadata import version

from ..errors import ConfigError
from .base import DeliveryError, Event, SinkSettings
from .poster import Poster, Unreachable

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
        self._poster = Poster(settings.url, settings.timeout)
        self._agent = f"chatfeedback/{version('chatfeedback')}"

    def send(self, event: Event) -> None:
        data = body(event)
        headers = {"Content-Type": "application/json", "Idempotency-Key": event.id,
                   "X-Chatfeedback-Event": event.action, "User-Agent": self._agent,
                   SIGNATURE_HEADER: signature(self._secret, int(time.time()), data)}
        try:
            answer = self._poster.post(data, headers)
        except Unreachable as exc:
            raise DeliveryError(f"{self.url} cannot be reached ({exc})") from None
        except TimeoutError:
            raise DeliveryError(f"{self.url} did not answer within {self.timeout:g} s") \
                from None
        except (OSError, HTTPException) as exc:
            raise DeliveryError(f"{self.url} broke off the request "
                                f"({type(exc).__name__}: {exc})") from None
        if not 200 <= answer.status < 300:
            said = " ".join(answer.body.decode(errors="replace").split())[:200]
            raise DeliveryError(f"{self.url} answered {answer.status} {answer.reason}"
                                + (f": {said}" if said else ""))

    def close(self) -> None:
        self._poster.close()
