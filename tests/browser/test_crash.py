"""SIGKILL while an answer streams: confirmed ratings survive, the cut answer is stored and
shown as interrupted (status error), never as complete."""

from __future__ import annotations

import threading

from playwright.sync_api import expect

from chatfeedback.store import Store

from ..openai_server import OpenAIServer, Script
from ..support import Server, pumping, send_prompt, wait_for_app, wait_until, write_config
from ..test_openai_backend import model_entry


def last_answer(db_url: str):
    store = Store.open(db_url)
    try:
        conversation = store.list_conversations()[0]
        return store.messages(conversation.id)[-1]
    finally:
        store.close()


LONG = "tell me everything about " + "durable feedback " * 12
ANSWER = "All about durable feedback: " + "it is saved every second " * 10


def test_sigkill_mid_answer(page, tmp_path, db_url):
    model = OpenAIServer().start()
    never = threading.Event()  # the answer stops after its third chunk until the kill
    model.reply(Script(text="one."), Script(text="two."), Script(text=ANSWER, gate=never,
                                                                gate_after=3))
    config = write_config(tmp_path / "c.toml", model_entry(model.base_url, name="slow"))
    log = tmp_path / "server.log"
    server = Server(db_url, config, log=log).start()
    try:
        page.goto(server.url)
        wait_for_app(page)
        send_prompt(page, "one")
        send_prompt(page, "two")
        messages = page.get_by_test_id("stChatMessage")
        for index, label in ((1, "Thumbs up"), (3, "Thumbs down")):
            messages.nth(index).get_by_role("radio", name=label).click()
            active = messages.nth(index).get_by_test_id("stFeedbackButtonActive")
            expect(active).to_have_accessible_name(label)
            expect(active).to_be_disabled()  # locked: the server saved it and said so
            wait_for_app(page)
        url = page.url

        box = page.get_by_test_id("stChatInputTextArea")
        box.fill(LONG)
        box.press("Enter")
        expect(messages.nth(5)).to_contain_text("All about durable")  # streaming now
        wait_until(lambda: (m := last_answer(db_url)).role == "assistant"
                   and m.status == "streaming" and m.content, timeout=30,
                   what=lambda: f"a periodic save (stored: {last_answer(db_url)})")
        server.kill()

        server = Server(db_url, config, port=server.port, log=log).start()
        page.goto(url)  # no reload after this: the page checks on the answer by itself
        wait_for_app(page)
        answer = page.get_by_test_id("stChatMessage").nth(5)

        def interrupted() -> bool:
            text = answer.inner_text()
            assert "saved every second" not in text  # never more than was streamed
            if "interrupted" in text:
                return True
            assert "Still being written" in text  # until it is marked interrupted
            return False

        wait_until(interrupted, timeout=60, every=0.25, sleep=pumping(page),
                   what=lambda: f"the answer marked interrupted (shows {answer.inner_text()!r})")
        expect(answer.get_by_test_id("stAlertContentError")).to_contain_text("interrupted")
        for index, label in ((1, "Thumbs up"), (3, "Thumbs down")):
            expect(page.get_by_test_id("stChatMessage").nth(index)
                   .get_by_test_id("stFeedbackButtonActive")).to_have_accessible_name(label)
    finally:
        server.stop()
        never.set()
        model.stop()

    store = Store.open(db_url)
    conv = store.list_conversations()[0]
    shown = store.messages(conv.id)
    ratings = store.ratings(conv.id)
    assert [ratings[m.id].value for m in shown if m.id in ratings] == [1, 0]
    cut = shown[5]
    assert cut.status == "error" and cut.error.startswith("interrupted")
    assert cut.content and ANSWER.startswith(cut.content) and len(cut.content) < len(ANSWER)

