"""The built-in echo model: answers ``You said, "<prompt>" ...interesting.`` like the seed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import ClassVar

from .base import Backend, Generation

MAX_SECONDS = 5.0  # a very long prompt speeds the echo up rather than stream for minutes


class EchoBackend(Backend):
    options: ClassVar[dict[str, type | tuple[type, ...]]] = {"delay": (int, float)}

    def stream(self, messages: list[dict[str, str]], generation: Generation) -> Iterator[str]:
        prompt = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        response = f'You said, "{prompt}" ...interesting.'
        delay = float(self.config.get("delay", 0.02))
        if delay * len(response) > MAX_SECONDS:
            delay = MAX_SECONDS / len(response)
        for char in response:
            yield char
            if delay > 0:
                time.sleep(delay)
        generation.completion_tokens = len(response.split())
        generation.finish_reason = "stop"
