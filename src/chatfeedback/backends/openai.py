"""Any OpenAI-compatible chat-completions server, streamed through the official ``openai`` SDK.

One ``[[models]]`` entry with ``backend = "openai"`` is one model: OpenAI itself, Ollama,
vLLM, llama.cpp's server, LM Studio, LiteLLM's proxy... Every failure becomes a
:class:`~chatfeedback.errors.BackendError` whose one line says what failed and where; the API
key (and every header value) is kept out of settings, messages and logs.
"""

from __future__ import annotations

import email.utils
import json
import os
import re
import time
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import openai

from ..config import ModelConfig
from ..errors import BackendError, ConfigError
from .base import Backend, Generation

Number = (int, float)
SAMPLING = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "presence_penalty",
            "frequency_penalty", "seed", "stop")
DEFAULT_TIMEOUT = 60.0          # seconds without a byte from the server
DEFAULT_CONNECT_TIMEOUT = 10.0  # seconds to open the connection
DETAIL_LIMIT = 240              # characters of the server's own error message shown
TRACE_ID_LIMIT = 200            # characters of a trace id (messages.trace_id's size)


class OpenAIBackend(Backend):
    """Streams ``/chat/completions`` with ``stream_options.include_usage`` for token counts."""

    options: ClassVar[dict[str, type | tuple[type, ...]]] = {
        "base_url": str, "model": str, "api_key_env": str,
        "temperature": Number, "top_p": Number, "max_tokens": int,
        "max_completion_tokens": int, "presence_penalty": Number, "frequency_penalty": Number,
        "seed": int, "stop": (str, list),
        "timeout": Number, "connect_timeout": Number, "max_retries": int,
        "headers": dict, "include_usage": bool, "extra_body": dict, "trace_header": str,
    }
    required: ClassVar[tuple[str, ...]] = ("base_url", "model")
    secret_options: ClassVar[tuple[str, ...]] = ("headers",)

    def __init__(self, model: ModelConfig) -> None:
        super().__init__(model)
        config = self.config
        self.where = public_url(config["base_url"])
        self.timeout = float(config.get("timeout", DEFAULT_TIMEOUT))
        self.connect_timeout = float(config.get("connect_timeout",
                                                min(DEFAULT_CONNECT_TIMEOUT, self.timeout)))
        self._key = os.environ[config["api_key_env"]] if "api_key_env" in config else None
        headers: dict[str, str] = dict(config.get("headers", {}))
        self._secrets = [v for v in [self._key, *headers.values()] if v and len(v) >= 4]
        # Without api_key_env no key is sent at all (not even OPENAI_API_KEY from the
        # environment, which must not leak to a server it was not meant for).
        self._no_auth = self._key is None and not any(h.lower() == "authorization"
                                                      for h in headers)
        try:
            self._client = openai.OpenAI(
                base_url=config["base_url"], api_key=self._key or "unused",
                timeout=openai.Timeout(self.timeout, connect=self.connect_timeout),
                max_retries=int(config.get("max_retries", 0)), default_headers=headers)
        except openai.OpenAIError as exc:
            raise ConfigError(f"model '{model.name}': {exc}") from None

    # ------------------------------------------------------------ configuration
    @classmethod
    def check_options(cls, model: ModelConfig) -> dict[str, Any]:
        where = f"model '{model.name}'"
        if "api_key" in model.options:
            raise ConfigError(f"{where}: 'api_key' is not accepted: put the key in an "
                              "environment variable and set api_key_env to its name")
        config = super().check_options(model)
        url = urlsplit(config["base_url"])
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ConfigError(f"{where}: 'base_url' must be an http(s) URL such as "
                              f"http://localhost:11434/v1, got {config['base_url']!r}")
        if not config["model"].strip():
            raise ConfigError(f"{where}: 'model' must name the server's model, e.g. \"llama3.2\"")
        for key in ("timeout", "connect_timeout", "max_tokens", "max_completion_tokens"):
            if key in config and config[key] <= 0:
                raise ConfigError(f"{where}: '{key}' must be positive, got {config[key]}")
        for key in ("temperature", "top_p", "max_retries"):
            if key in config and config[key] < 0:
                raise ConfigError(f"{where}: '{key}' must not be negative, got {config[key]}")
        headers = config.get("headers", {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            raise ConfigError(f"{where}: 'headers' must map header names to strings")
        if "trace_header" in config and not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+",
                                                         config["trace_header"]):
            raise ConfigError(f"{where}: 'trace_header' must be a response header name such "
                              f"as \"x-request-id\", got {config['trace_header']!r}")
        stop = config.get("stop")
        if isinstance(stop, list) and not all(isinstance(s, str) for s in stop):
            raise ConfigError(f"{where}: 'stop' must be a string or a list of strings")
        env = config.get("api_key_env")
        if env is not None and not os.environ.get(env):
            raise ConfigError(f"{where}: api_key_env names the environment variable {env}, "
                              "which is not set")
        return config

    def settings(self) -> dict[str, Any]:
        """The options as stored with each answer: header names only, never values."""
        stored = super().settings()
        stored["base_url"] = self.where
        if "headers" in self.config:
            stored["headers"] = sorted(self.config["headers"])
        stored.pop("trace_header", None)  # where the trace id comes from, not a setting
        return stored

    # ---------------------------------------------------------------- streaming
    def stream(self, messages: list[dict[str, str]], generation: Generation) -> Iterator[str]:
        request: dict[str, Any] = {key: self.config[key] for key in SAMPLING
                                   if key in self.config}
        if self.config.get("include_usage", True):
            request["stream_options"] = {"include_usage": True}
        if "extra_body" in self.config:
            request["extra_body"] = self.config["extra_body"]
        if self._no_auth:
            request["extra_headers"] = {"Authorization": openai.Omit()}
        try:
            response = self._client.chat.completions.create(
                model=self.config["model"], messages=messages, stream=True,  # type: ignore[arg-type]
                **request)
        except (openai.OpenAIError, ValueError) as exc:
            if isinstance(exc, openai.APIStatusError):  # a failed answer has its trace too
                self._read_trace(exc.response.headers, generation)
            raise BackendError(self.describe(exc, started=False)) from None
        self._read_trace(response.response.headers, generation)
        with response:
            chunks = iter(response)
            while True:
                try:
                    chunk = next(chunks)
                except StopIteration:
                    break
                except (openai.OpenAIError, ValueError) as exc:
                    raise BackendError(self.describe(exc, started=True)) from None
                try:
                    text = read_chunk(chunk, generation)
                except (AttributeError, TypeError, ValueError):
                    raise BackendError(self._say("sent a malformed stream (a chunk without the "
                                                 "expected choices and delta)")) from None
                yield text  # also "" (a role, reasoning or usage chunk): a stop acts on it
            content_type = response.response.headers.get("content-type", "")
        if generation.finish_reason is None:
            if "text/event-stream" not in content_type:
                raise BackendError(self._say(f"did not stream: it answered with "
                                             f"{content_type or 'no content type'}"))
            raise BackendError(self._say("ended the stream before the answer was finished "
                                         "(no finish reason)"))

    def _read_trace(self, headers: Any, generation: Generation) -> None:
        """The answer's trace id from the response header ``trace_header`` names."""
        name = self.config.get("trace_header")
        value = (headers.get(name) or "").strip() if name else ""
        if 0 < len(value) <= TRACE_ID_LIMIT:  # a longer one is no id of ours: not cut
            generation.trace_id = value

    # ------------------------------------------------------------------- errors
    def describe(self, exc: Exception, *, started: bool) -> str:
        """One line for the user: what failed and where (``started``: headers received)."""
        if isinstance(exc, openai.APITimeoutError):
            if _caused_by(exc, "ConnectTimeout"):
                return self._say(f"did not accept the connection within "
                                 f"{self.connect_timeout:g} s (connect timeout)")
            if started:
                return self._say(f"went silent for {self.timeout:g} s in the middle of the "
                                 "answer (read timeout)")
            return self._say(f"did not start answering within {self.timeout:g} s "
                             "(read timeout)")
        if isinstance(exc, openai.APIConnectionError):
            reason = _root_reason(exc)
            if "refused" in reason.lower():
                return self._say("refused the connection")
            if started:
                return self._say(f"broke off the answer: the connection closed mid-stream "
                                 f"({reason})")
            return self._say(f"could not be reached ({reason})")
        if isinstance(exc, openai.APIStatusError):
            return self._status(exc)
        if isinstance(exc, openai.APIError):  # an error event inside the stream
            return self._say(f"reported an error in the middle of the answer: "
                             f"{_one_line(exc.message)}")
        if isinstance(exc, json.JSONDecodeError):
            return self._say(f"sent a malformed stream (an event that is not JSON: "
                             f"{_one_line(exc.doc, 60)!r})")
        return self._say(f"failed: {type(exc).__name__}: {_one_line(str(exc))}")

    def _status(self, exc: openai.APIStatusError) -> str:
        status = exc.status_code
        reason = exc.response.reason_phrase or ""
        code = f"{status} {reason}".strip()
        detail = _detail(exc.body)
        said = f"{code}: {detail}" if detail else code
        if status == 401:
            env = self.config.get("api_key_env")
            if env:
                return self._say(f"rejected the API key in ${env} ({said})")
            return self._say(f"requires an API key ({said}); set api_key_env for model "
                             f"'{self.model.name}'")
        if status == 403:
            return self._say(f"refused access ({said})")
        if status == 404:
            if "model" in detail.lower():
                return self._say(f"does not know the model '{self.config['model']}' ({said})")
            return self._say(f"has no chat-completions endpoint at {self.where}/chat/"
                             f"completions ({code}); check base_url (it usually ends in /v1)")
        if status == 429:
            wait = retry_after(exc.response.headers)
            later = f"retry after {wait:g} s" if wait is not None else "try again later"
            return self._say(f"is rate-limiting requests ({said}); {later}")
        if status >= 500:
            return self._say(f"failed with {said}")
        return self._say(f"rejected the request ({said})")

    def _say(self, what: str) -> str:
        message = f"The model server at {self.where} {what}"
        for secret in self._secrets:
            message = message.replace(secret, "***")
        return message


def read_chunk(chunk: Any, generation: Generation) -> str:
    """The text in one ``ChatCompletionChunk``; records finish reason and usage."""
    usage = chunk.usage
    if usage is not None:
        generation.prompt_tokens = usage.prompt_tokens
        generation.completion_tokens = usage.completion_tokens
        generation.total_tokens = usage.total_tokens or (
            (usage.prompt_tokens or 0) + (usage.completion_tokens or 0) or None)
    text = ""
    for choice in chunk.choices or ():
        if choice.index not in (0, None):
            continue  # only the first choice is shown
        if choice.finish_reason:
            generation.finish_reason = str(choice.finish_reason)
        content = choice.delta.content if choice.delta is not None else None
        if content is not None and not isinstance(content, str):
            raise TypeError("content is not text")
        text += content or ""
    return text


def retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    try:
        if headers.get("retry-after-ms"):
            return round(float(headers["retry-after-ms"]) / 1000, 1)
        value = headers.get("retry-after")
        if not value:
            return None
        if re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
            return float(value)
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, round(when.timestamp() - time.time()))
    except (TypeError, ValueError, OverflowError):
        return None


def public_url(url: str) -> str:
    """The URL as shown and stored: no user:password part, no trailing slash."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), parts.query, ""))


def _detail(body: object) -> str:
    """The server's own error message from an error body, if it has a readable one."""
    message: object = body
    if isinstance(body, dict):
        error = body.get("error", body)
        message = (error.get("message") or error.get("detail") or error.get("msg")
                   if isinstance(error, dict) else error) or body.get("detail") or \
            body.get("message")
    if not isinstance(message, str) or message.lstrip().startswith("<"):
        return ""  # an HTML error page says nothing useful in one line
    return _one_line(message)


def _one_line(text: str, limit: int = DETAIL_LIMIT) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _caused_by(exc: BaseException, name: str) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ == name:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _root_reason(exc: BaseException) -> str:
    """The innermost cause's text, e.g. ``[Errno 111] Connection refused``."""
    reason = str(exc)
    seen: BaseException | None = exc.__cause__ or exc.__context__
    while seen is not None:
        if str(seen):
            reason = str(seen)
        seen = seen.__cause__ or seen.__context__
    return _one_line(reason, 160)
