"""Sink kinds to their modules, imported only when a sink of that kind is configured (so the
Langfuse and OpenTelemetry SDKs load only for such a sink)."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module

from ..errors import ConfigError
from .base import Sink, SinkSettings

# kind: (module, class). The class is called with the entry's SinkSettings; it checks its
# options and secrets there and raises ConfigError naming the sink.
KINDS = {"webhook": ("chatfeedback.outbox.webhook", "WebhookSink"),
         "langfuse": ("chatfeedback.outbox.langfuse", "LangfuseSink"),
         "otel": ("chatfeedback.outbox.otel", "OtelSink")}


def build(settings: SinkSettings) -> Sink:
    """A ready sink for one ``[[sinks]]`` entry; ConfigError names the entry."""
    module_name, class_name = KINDS[settings.kind]
    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{settings.label}: kind '{settings.kind}' cannot be loaded "
                          f"({exc}); install the 'sinks' extra: "
                          "pip install 'chatfeedback[sinks]'") from None
    try:
        sink: Sink = getattr(module, class_name)(settings)
    except ConfigError as exc:
        message = str(exc)
        raise ConfigError(message if message.startswith(settings.label)
                          else f"{settings.label}: {message}") from None
    return sink


def build_all(sinks: Iterable[SinkSettings]) -> list[Sink]:
    """Every configured sink, built once (a bad entry fails before start-up)."""
    built: list[Sink] = []
    try:
        for settings in sinks:
            built.append(build(settings))
    except ConfigError:
        for sink in built:
            sink.close()
        raise
    return built
