"""A Python function as the model: ``def answer(messages: list[dict]) -> Iterator[str]``.

The drop-in chat (``chatfeedback.streamlit.feedback_chat``) passes the function itself; a
``[[models]]`` entry names one by its import path, so the full app can use it too::

    [[models]]
    name = "mine"
    backend = "python"
    function = "myapp.llm:answer"

The function gets the request's messages (OpenAI chat format, system prompt first; a copy,
so it may change them) and yields the answer's text in pieces, or returns it whole as a
string. Whatever it raises becomes the answer's error (see chat.Reply); a Stop closes its
generator.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

from ..config import ModelConfig
from ..errors import BackendError, ConfigError
from .base import Backend, Generation

ModelFunction = Callable[[list[dict[str, str]]], Iterable[str] | str]


class PythonBackend(Backend):
    """Streams what a Python function yields."""

    options: ClassVar[dict[str, type | tuple[type, ...]]] = {"function": str}

    def __init__(self, model: ModelConfig, function: ModelFunction | None = None) -> None:
        super().__init__(model)
        if function is None:
            if "function" not in self.config:
                raise ConfigError(f"model '{model.name}': 'function' is required for backend "
                                  "'python' (e.g. function = \"myapp.llm:answer\")")
            function = load(self.config["function"], model.name)
        if not callable(function):
            raise ConfigError(f"model '{model.name}': the model function must be callable, "
                              f"got {type(function).__name__}")
        self.function = function
        self.where = self.config.get("function") or qualified_name(function)

    def settings(self) -> dict[str, Any]:
        return {"function": self.where}

    def stream(self, messages: list[dict[str, str]], generation: Generation) -> Iterator[str]:
        result = self.function([dict(m) for m in messages])
        pieces: Iterable[Any] = [result] if isinstance(result, str) else result
        try:
            iterator = iter(pieces)
        except TypeError:
            raise BackendError(f"the model function {self.where} returned "
                               f"{type(result).__name__}, not text or a generator of "
                               "text") from None
        try:
            for piece in iterator:
                if piece is None:
                    continue
                if not isinstance(piece, str):
                    raise BackendError(f"the model function {self.where} yielded "
                                       f"{type(piece).__name__}, not text")
                yield piece
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:  # a Stop: the function's generator ends here too
                close()
        generation.finish_reason = "stop"


def load(path: str, model_name: str) -> ModelFunction:
    """The function named ``module:attribute`` (``package.module:name``)."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"model '{model_name}': 'function' must be \"module:name\", "
                          f"got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"model '{model_name}': cannot import {module_name} ({exc})") \
            from None
    found: Any = module
    for part in attribute.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise ConfigError(f"model '{model_name}': {module_name} has no {attribute}")
    return found  # type: ignore[no-any-return]


def qualified_name(function: Callable[..., Any]) -> str:
    """``module:name`` of a function (what is stored with each answer it writes)."""
    module = getattr(function, "__module__", None) or "?"
    name = getattr(function, "__qualname__", None) or type(function).__name__
    return f"{module}:{name}"
