"""The backend contract: one streaming method plus a few class attributes.

A backend turns a list of chat messages into streamed text. Timing, persistence, history,
stopping and error display belong to :mod:`chatfeedback.chat`, not to backends.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from ..config import ModelConfig
from ..errors import ConfigError


@dataclass
class Generation:
    """What a backend reports about one answer besides its text (filled while streaming)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    finish_reason: str | None = None
    trace_id: str | None = None  # the answer's id in the server's tracing (a response header)


class Backend(ABC):
    """Subclass, set ``options`` (key -> accepted type or tuple of types) and ``required``,
    and implement :meth:`stream`. Register it in the ``chatfeedback.backends`` entry-point
    group under the name used as ``backend = "..."`` in ``[[models]]``."""

    options: ClassVar[dict[str, type | tuple[type, ...]]] = {}
    required: ClassVar[tuple[str, ...]] = ()
    secret_options: ClassVar[tuple[str, ...]] = ()  # never stored with an answer

    def __init__(self, model: ModelConfig) -> None:
        self.model = model
        self.config = self.check_options(model)

    @classmethod
    def check_options(cls, model: ModelConfig) -> dict[str, Any]:
        """Validate the entry's backend options; ConfigError names the entry and the key."""
        where = f"model '{model.name}'"
        for key, value in model.options.items():
            if key not in cls.options:
                raise ConfigError(f"{where}: unknown key '{key}' for backend '{model.backend}'")
            kind = cls.options[key]
            kinds = kind if isinstance(kind, tuple) else (kind,)
            if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
                names = " or ".join(k.__name__ for k in kinds)
                raise ConfigError(f"{where}: '{key}' must be a {names}, got {value!r}")
        for key in cls.required:
            if key not in model.options:
                raise ConfigError(f"{where}: '{key}' is required for backend '{model.backend}'")
        return dict(model.options)

    def settings(self) -> dict[str, Any]:
        """The generation settings stored with each answer (secrets left out)."""
        return {k: v for k, v in self.config.items() if k not in self.secret_options}

    @abstractmethod
    def stream(self, messages: list[dict[str, str]], generation: Generation) -> Iterator[str]:
        """Yield the answer's text in pieces. ``messages`` is the OpenAI chat format, system
        prompt first. Raise :class:`~chatfeedback.errors.BackendError` on failure.

        Yielding ``""`` when something arrives without text (a keep-alive, hidden reasoning)
        is welcome: a stopped answer's stream is closed at the next thing yielded."""
