"""SIGKILL while an answer streams: confirmed ratings survive, the cut answer is stored and
shown as interrupted (status error), never as complete."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from chatfeedback.store import Store

from ..support import Server, send_prompt, wait_for_app, write_config

SLOW = '[[models]]\nname = "slow"\nbackend = "echo"\ndelay = 0.05\n'
LONG = "tell me everything about " + "durable feedback " * 12


def test_sigkill_mid_answer(page, tmp_path, db_url):
    config = write_config(tmp_path / "c.toml", SLOW)
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
        expect(messages.nth(5)).to_contain_text("durable feedback")  # streaming now
        page.wait_for_timeout(1500)  # past a periodic save
        server.kill()
        killed_at = time.time()

        server = Server(db_url, config, port=server.port, log=log).start()
        page.goto(url)  # no reload after this: the page checks on the answer by itself
        wait_for_app(page)
        answer = page.get_by_test_id("stChatMessage").nth(5)
        while time.time() - killed_at < 20:
            text = answer.inner_text()
            assert "...interesting." not in text  # never shown as complete
            if "interrupted" in text:
                break
            assert "Still being written" in text  # within STALE_AFTER of its last save
            page.wait_for_timeout(250)
        expect(answer.get_by_test_id("stAlertContentError")).to_contain_text("interrupted")
        for index, label in ((1, "Thumbs up"), (3, "Thumbs down")):
            expect(page.get_by_test_id("stChatMessage").nth(index)
                   .get_by_test_id("stFeedbackButtonActive")).to_have_accessible_name(label)
    finally:
        server.stop()

    store = Store.open(db_url)
    conv = store.list_conversations()[0]
    shown = store.messages(conv.id)
    ratings = store.ratings(conv.id)
    assert [ratings[m.id].value for m in shown if m.id in ratings] == [1, 0]
    cut = shown[5]
    assert cut.status == "error" and cut.error.startswith("interrupted")
    assert cut.content and f'You said, "{LONG}" ...interesting.'.startswith(cut.content)

