"""Find backends by name in the ``chatfeedback.backends`` entry-point group (built-ins too)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from ..config import ModelConfig, Settings
from ..errors import ConfigError
from .base import Backend

GROUP = "chatfeedback.backends"


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def available_backends() -> list[str]:
    return sorted(_entry_points())


def backend_class(name: str) -> type[Backend]:
    ep = _entry_points().get(name)
    if ep is None:
        raise ConfigError(f"unknown backend '{name}' (available: {', '.join(available_backends())})")
    cls = ep.load()
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise ConfigError(f"backend '{name}' ({ep.value}) is not a chatfeedback Backend")
    return cls


def build_backend(model: ModelConfig) -> Backend:
    """An instance of the model entry's backend; ConfigError names the entry."""
    try:
        return backend_class(model.backend)(model)
    except ConfigError as exc:
        message = str(exc)
        prefix = f"model '{model.name}'"
        raise ConfigError(message if message.startswith(prefix) else f"{prefix}: {message}") \
            from None


def validate_models(settings: Settings,
                    given: Mapping[str, Backend] | None = None) -> dict[str, Backend]:
    """Build every configured model once, so that a bad entry fails before start-up; a
    model in ``given`` (e.g. a Python function's, see python.py) has its backend already."""
    given = given or {}
    return {model.name: given[model.name] if model.name in given else build_backend(model)
            for model in settings.models}
