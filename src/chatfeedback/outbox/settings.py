"""The ``[[sinks]]`` entries of the settings file, checked with one-line errors.

The keys every sink has are :class:`~chatfeedback.outbox.base.SinkSettings`' fields; any
other key goes to ``options`` and is checked by the sink's kind when it is built
(registry.py), so ``chatfeedback config check`` and ``run`` refuse a bad entry before start.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..entries import entry_name, tables
from ..errors import ConfigError
from .base import KINDS, SinkSettings

COMMON = ("name", "kind", "url", "secret_env", "timeout", "max_tries", "redact")


def parse_sinks(raw: Any, where: str) -> tuple[SinkSettings, ...]:
    """The ``[[sinks]]`` tables (None: no sinks) as settings; ConfigError on bad input."""
    if raw is None:
        return ()
    sinks: list[SinkSettings] = []
    for index, entry in enumerate(tables(raw, where, "sinks"), start=1):
        name = entry_name(entry, where, "sinks", index, "sink", [s.name for s in sinks])
        label = f"{where}: sink '{name}'"
        kind = entry.get("kind")
        if kind not in KINDS:
            raise ConfigError(f"{label}: 'kind' must be one of {', '.join(KINDS)}; got {kind!r}")
        url = entry.get("url")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") \
                or not urlsplit(url).netloc:
            raise ConfigError(f"{label}: 'url' must be an http(s) URL, got {url!r}")
        secret_env = entry.get("secret_env")
        if secret_env is not None and (not isinstance(secret_env, str) or not secret_env
                                       or "=" in secret_env or " " in secret_env):
            raise ConfigError(f"{label}: 'secret_env' is the NAME of an environment variable "
                              f"(e.g. \"FEEDBACK_WEBHOOK_SECRET\"), got {secret_env!r}")
        if "secret" in entry:
            raise ConfigError(f"{label}: an inline 'secret' is refused; put it in an "
                              "environment variable and set secret_env to its name")
        timeout = entry.get("timeout", SinkSettings.timeout)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ConfigError(f"{label}: 'timeout' must be a positive number of seconds, "
                              f"got {timeout!r}")
        max_tries = entry.get("max_tries", SinkSettings.max_tries)
        if isinstance(max_tries, bool) or not isinstance(max_tries, int) or max_tries <= 0:
            raise ConfigError(f"{label}: 'max_tries' must be a positive integer, "
                              f"got {max_tries!r}")
        redact = entry.get("redact", False)
        if not isinstance(redact, bool):
            raise ConfigError(f"{label}: 'redact' must be true or false, got {redact!r}")
        options = {k: v for k, v in entry.items() if k not in COMMON}
        sinks.append(SinkSettings(name=name, kind=kind, url=url, secret_env=secret_env,
                                  timeout=float(timeout), max_tries=max_tries, redact=redact,
                                  options=options))
    return tuple(sinks)
