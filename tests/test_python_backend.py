"""The ``python`` backend: a function as the model, named in a [[models]] entry or passed in
(the drop-in chat); what it yields is streamed and saved like any model's answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from chatfeedback.backends.python import PythonBackend
from chatfeedback.chat import ChatService
from chatfeedback.config import ModelConfig, load_settings
from chatfeedback.errors import ConfigError

from .support import write_config

SEEN: list[list[dict[str, str]]] = []
RELEASE = threading.Event()
CLOSED = threading.Event()


def shout(messages: list[dict[str, str]]) -> Iterator[str]:
    SEEN.append(messages)
    for word in messages[-1]["content"].upper().split():
        yield word + " "


def whole(messages: list[dict[str, str]]) -> str:
    return "all at once"


def broken(messages: list[dict[str, str]]) -> Iterator[str]:
    yield "half "
    raise RuntimeError("the GPU caught fire")


def numbers(messages: list[dict[str, str]]) -> Iterator[int]:
    yield 42


def slow(messages: list[dict[str, str]]) -> Iterator[str]:
    try:
        yield "first "
        RELEASE.wait(30)
        yield "never shown"
    finally:
        CLOSED.set()


def service(tmp_path, db_url, function: str, system_prompt: str = "") -> ChatService:
    prompt = f'system_prompt = "{system_prompt}"\n' if system_prompt else ""
    path = write_config(tmp_path / "c.toml", f'[[models]]\nname = "mine"\nbackend = "python"\n'
                                             f'function = "tests.test_python_backend:{function}"\n'
                                             + prompt)
    return ChatService.open(load_settings(path, db_url, environ={}))


def answer(svc: ChatService, prompt: str, conversation: str | None = None):
    turn = svc.send(conversation, prompt)
    reply = svc.reply(turn.answer)
    text = "".join(reply)
    return turn, text, reply.message


def test_a_function_named_in_the_settings_answers(tmp_path, db_url):
    svc = service(tmp_path, db_url, "shout", system_prompt="Shout.")
    turn, text, saved = answer(svc, "hello there")
    assert text == "HELLO THERE " and saved.content == text and saved.status == "complete"
    assert (saved.model, saved.backend, saved.finish_reason) == ("mine", "python", "stop")
    assert saved.settings == {"function": "tests.test_python_backend:shout"}
    _, _, second = answer(svc, "again", turn.conversation.id)
    assert SEEN[-1] == [{"role": "system", "content": "Shout."},
                        {"role": "user", "content": "hello there"},
                        {"role": "assistant", "content": "HELLO THERE "},
                        {"role": "user", "content": "again"}]
    assert second.content == "AGAIN "


def test_a_returned_string_and_the_failures(tmp_path, db_url):
    assert answer(service(tmp_path, db_url, "whole"), "hi")[2].content == "all at once"
    failed = answer(service(tmp_path, db_url, "broken"), "hi")[2]
    assert (failed.status, failed.content) == ("error", "half ")
    assert failed.error == "the model backend failed: RuntimeError: the GPU caught fire"
    wrong = answer(service(tmp_path, db_url, "numbers"), "hi")[2]
    assert wrong.status == "error"
    assert wrong.error == ("the model function tests.test_python_backend:numbers yielded "
                           "int, not text")


def test_stop_closes_the_functions_generator(tmp_path, db_url):
    svc = service(tmp_path, db_url, "slow")
    reply = svc.reply(svc.send(None, "go").answer)
    pieces = iter(reply)
    assert next(pieces) == "first "
    reply.stop()
    assert list(pieces) == []
    RELEASE.set()  # the function's next piece: its generator is closed there
    assert CLOSED.wait(30)
    assert (reply.message.status, reply.message.content) == ("stopped", "first ")


@pytest.mark.parametrize(("function", "words"), [
    ("", "'function' is required for backend 'python'"),
    ("nocolon", "'function' must be \"module:name\""),
    ("no_such_module_xyz:f", "cannot import no_such_module_xyz"),
    ("tests.test_python_backend:missing", "tests.test_python_backend has no missing"),
    ("tests.test_python_backend:SEEN", "the model function must be callable"),
])
def test_bad_entries_say_what_is_wrong(tmp_path, function, words):
    entry = f'function = "{function}"\n' if function else ""
    path = write_config(tmp_path / "c.toml",
                        f'[[models]]\nname = "mine"\nbackend = "python"\n{entry}')
    with pytest.raises(ConfigError) as caught:
        ChatService.open(load_settings(path, f"sqlite:///{tmp_path}/x.db", environ={}))
    assert str(caught.value).startswith("model 'mine': ") and words in str(caught.value)


def test_a_function_passed_in(tmp_path, db_url):
    model = ModelConfig("inline", "python")
    svc = ChatService.open(load_settings(write_config(tmp_path / "c.toml", '''
[[models]]
name = "inline"
backend = "python"
'''), db_url, environ={}), backends={"inline": PythonBackend(model, whole)})
    assert answer(svc, "hi")[2].content == "all at once"
