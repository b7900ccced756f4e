"""AppTest: model picker, failures shown in place, regenerate and the version switcher."""

from __future__ import annotations

import threading
import time

import pytest

from chatfeedback.export import answer_row
from chatfeedback.store import Store
from chatfeedback.ui import keys

from .openai_server import Script
from .test_openai_backend import model_entry

ECHO = '[[models]]\nname = "echo"\nbackend = "echo"\ndelay = 0.0\n'


def stored(db_url: str, conversation_id: str):
    store = Store.open(db_url)
    try:
        return store.conversation(conversation_id), store.messages(conversation_id)
    finally:
        store.close()


def captions(at) -> list[str]:
    return [c.value for c in at.caption]


def test_model_picker_for_a_new_conversation(make_app, db_url, openai_server):
    config = ECHO + model_entry(openai_server.base_url, name="llama")
    at = make_app(config)
    picker = at.selectbox(key=keys.MODEL_PICK)
    assert picker.options == ["echo", "llama"] and picker.value == "echo"
    picker.select("llama").run()
    at.chat_input[0].set_value("hi").run()
    assert not at.exception
    conversation, messages = stored(db_url, at.query_params["c"])
    assert conversation.model == "llama"
    assert (messages[1].content, messages[1].model, messages[1].backend) == (
        "Echo: hi", "llama", "openai")
    # an open conversation shows its model instead of the picker
    assert not [s for s in at.selectbox if s.key == keys.MODEL_PICK]
    assert "Model: **llama**" in [c.value for c in at.sidebar.caption]
    # the next new conversation starts with the last choice
    at.button(key=keys.NEW_CHAT).click().run()
    assert at.selectbox(key=keys.MODEL_PICK).value == "llama"
    at.selectbox(key=keys.MODEL_PICK).select("echo").run()
    at.chat_input[0].set_value("plain").run()
    conversation, messages = stored(db_url, at.query_params["c"])
    assert conversation.model == "echo"
    assert messages[1].content == 'You said, "plain" ...interesting.'


def test_a_failed_answer_shows_its_error_and_the_chat_goes_on(make_app, db_url, openai_server):
    openai_server.reply(Script(text="Part of it", finish_reason=None, done=False),
                        Script(status=500, error="the GPU fell over"))
    at = make_app(model_entry(openai_server.base_url))
    at.chat_input[0].set_value("first").run()
    assert not at.exception
    assert at.error[0].value == (f"The model server at {openai_server.base_url} ended the "
                                 "stream before the answer was finished (no finish reason)")
    at.chat_input[0].set_value("second").run()
    assert not at.exception
    where = f"The model server at {openai_server.base_url}"
    assert [e.value for e in at.error] == [
        f"{where} ended the stream before the answer was finished (no finish reason)",
        f"{where} failed with 500 Internal Server Error: the GPU fell over"]
    at.chat_input[0].set_value("third").run()
    assert not at.exception and len(at.error) == 2
    _, messages = stored(db_url, at.query_params["c"])
    assert [(m.role, m.content, m.status) for m in messages] == [
        ("user", "first", "complete"), ("assistant", "Part of it", "error"),
        ("user", "second", "complete"), ("assistant", "", "error"),
        ("user", "third", "complete"), ("assistant", "Echo: third", "complete")]
    # the failed turns are left out of the history sent for the third prompt
    assert openai_server.requests[-1].messages == [{"role": "user", "content": "third"}]


def test_regenerate_and_switch_versions_each_with_its_rating(make_app, db_url, openai_server):
    openai_server.reply(Script(text="Version one"), Script(text="Version two"))
    config = '[feedback]\nmode = "changeable"\n' + model_entry(openai_server.base_url)
    at = make_app(config)
    at.chat_input[0].set_value("q").run()
    conv = at.query_params["c"]
    _, messages = stored(db_url, conv)
    prompt_id, first_id = messages[0].id, messages[1].id
    at.feedback(key=keys.rating(first_id)).set_value(0).run()
    assert not [b for b in at.button if b.key == keys.previous_version(prompt_id)]  # one version: no switch

    at.button(key=keys.regenerate(prompt_id)).click().run()
    assert not at.exception
    _, messages = stored(db_url, conv)
    second_id = messages[1].id
    assert second_id != first_id and messages[1].content == "Version two"
    assert at.chat_message[1].markdown[0].value == "Version two"
    assert "2/2" in captions(at)
    assert at.button(key=keys.next_version(prompt_id)).disabled
    assert at.feedback(key=keys.rating(second_id)).value is None  # its own, unrated widget
    at.feedback(key=keys.rating(second_id)).set_value(1).run()

    at.button(key=keys.previous_version(prompt_id)).click().run()
    assert at.chat_message[1].markdown[0].value == "Version one"
    assert "1/2" in captions(at) and at.button(key=keys.previous_version(prompt_id)).disabled
    assert at.feedback(key=keys.rating(first_id)).value == 0

    at.button(key=keys.next_version(prompt_id)).click().run()
    assert at.chat_message[1].markdown[0].value == "Version two"
    assert at.feedback(key=keys.rating(second_id)).value == 1
    # a reopened page shows the selected version and its rating
    again = make_app(config, query={"c": conv})
    assert again.chat_message[1].markdown[0].value == "Version two"
    assert again.feedback(key=keys.rating(second_id)).value == 1

    store = Store.open(db_url)
    rows = [answer_row(r) for r in store.iter_rated_answers()]
    store.close()
    assert [(r["response"], r["rating"], r["version"], r["versions"]) for r in rows] == [
        ("Version one", 0, 1, 2), ("Version two", 1, 2, 2)]


def test_regenerate_in_a_long_chat_keeps_the_window(make_app, db_url, openai_server):
    at = make_app("[chat]\nwindow = 2\n" + model_entry(openai_server.base_url))
    for prompt in ("one", "two", "three"):
        at.chat_input[0].set_value(prompt).run()
    at = make_app("[chat]\nwindow = 2\n" + model_entry(openai_server.base_url),
                  query={"c": at.query_params["c"]})
    assert [m.markdown[0].value for m in at.chat_message][::2] == ["two", "three"]
    _, messages = stored(db_url, at.query_params["c"])
    openai_server.reply(Script(text="Three again"))
    at.button(key=keys.regenerate(messages[4].id)).click().run()
    assert not at.exception
    assert [m.markdown[0].value for m in at.chat_message] == [
        "two", "Echo: two", "three", "Three again"]
    assert "2/2" in captions(at) and at.button(key=keys.SHOW_EARLIER)


def test_a_stop_while_the_model_is_silent_ends_the_answer_at_once(make_app, db_url,
                                                                   openai_server):
    """AppTest stops a run that outlives its timeout the way the Stop button does (a stop
    request to the script runner): the run ends within a moment although the model has
    not sent a byte, the answer is saved as stopped, and the page shows it so."""
    silent = threading.Event()  # the model sends nothing until the test is over
    openai_server.reply(Script(text="Too late.", gate=silent, gate_after=-1))
    config = model_entry(openai_server.base_url)
    at = make_app(config)
    at.chat_input[0].set_value("slow")
    started = time.monotonic()
    try:
        with pytest.raises(RuntimeError, match="timed out"):
            at.run(timeout=3.0)
        assert time.monotonic() - started < 20  # not the model's silence (60 s or more)
    finally:
        silent.set()
    store = Store.open(db_url)
    conv = store.list_conversations()[0].id
    store.close()
    _, messages = stored(db_url, conv)
    assert [(m.content, m.status) for m in messages] == [("slow", "complete"), ("", "stopped")]
    again = make_app(config, query={"c": conv})
    assert "Stopped" in captions(again)
    assert again.feedback(key=keys.rating(messages[1].id)).value is None
    assert not again.button(key=keys.regenerate(messages[0].id)).disabled
