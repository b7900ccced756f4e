"""End to end: `chatfeedback run`, a real browser, reloads and a SIGKILLed server."""

from __future__ import annotations

import json
import subprocess

from playwright.sync_api import expect

from ..support import VENV_BIN, Server, send_prompt, wait_for_app, write_config


def test_ratings_survive_reload_and_sigkill(page, tmp_path, db_url):
    config = write_config(tmp_path / "c.toml", "")
    server = Server(db_url, config, log=tmp_path / "server.log").start()
    try:
        page.goto(server.url)
        wait_for_app(page)
        send_prompt(page, "first question")
        send_prompt(page, "second question")
        messages = page.get_by_test_id("stChatMessage")
        expect(messages).to_have_count(4)
        expect(messages.nth(1)).to_contain_text('You said, "first question" ...interesting.')
        assert "?c=" in page.url
        url = page.url

        first = messages.nth(1)
        first.get_by_role("radio", name="Thumbs up").click()
        expect(first.get_by_test_id("stFeedbackButtonActive")).to_have_accessible_name(
            "Thumbs up")
        wait_for_app(page)

        page.goto(url)
        wait_for_app(page)
        first = page.get_by_test_id("stChatMessage").nth(1)
        active = first.get_by_test_id("stFeedbackButtonActive")
        expect(active).to_have_accessible_name("Thumbs up")
        expect(active).to_be_disabled()
        second = page.get_by_test_id("stChatMessage").nth(3)
        expect(second.get_by_test_id("stFeedbackButtonActive")).to_have_count(0)

        server.kill()
        server = Server(db_url, config, port=server.port, log=tmp_path / "server.log").start()
        page.goto(url)
        wait_for_app(page)
        first = page.get_by_test_id("stChatMessage").nth(1)
        expect(first.get_by_test_id("stFeedbackButtonActive")).to_have_accessible_name(
            "Thumbs up")
        expect(page.get_by_test_id("stSidebar")).to_contain_text("first question")
    finally:
        server.stop()

    out = subprocess.run([str(VENV_BIN / "chatfeedback"), "export", "--db", db_url],
                         capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["prompt"], r["rating"]) for r in rows] == [("first question", 1)]


def test_html_is_shown_as_text_and_not_found(page, tmp_path, db_url):
    config = write_config(tmp_path / "c.toml", "")
    with_server = Server(db_url, config).start()
    try:
        page.goto(with_server.url)
        wait_for_app(page)
        send_prompt(page, '<b id="bold">x</b><img src=x onerror="window.pwned=1">')
        messages = page.get_by_test_id("stChatMessage")
        expect(messages).to_have_count(2)
        expect(messages.first).to_contain_text('<b id="bold">x</b>')
        assert page.locator("#bold").count() == 0
        assert page.evaluate("window.pwned") is None

        page.goto(with_server.url + "?c=01aaaaaaaaaaaaaaaaaaaaaaaa")
        wait_for_app(page)
        expect(page.get_by_text("Conversation not found")).to_be_visible()
        page.get_by_role("button", name="Start a new chat").click()
        wait_for_app(page)
        expect(page.get_by_text("Conversation not found")).to_have_count(0)
    finally:
        with_server.stop()


def test_rating_click_does_not_cut_a_streaming_answer(page, tmp_path, db_url):
    config = write_config(tmp_path / "c.toml",
                          '[[models]]\nname = "slow"\nbackend = "echo"\ndelay = 0.05\n')
    server = Server(db_url, config).start()
    try:
        page.goto(server.url)
        wait_for_app(page)
        send_prompt(page, "a")
        box = page.get_by_test_id("stChatInputTextArea")
        box.fill("a long prompt so that the answer takes a few seconds to stream out")
        box.press("Enter")
        page.wait_for_timeout(800)  # the second answer is streaming now
        first = page.get_by_test_id("stChatMessage").nth(1)
        first.get_by_role("radio", name="Thumbs down").click()
        wait_for_app(page)
        last = page.get_by_test_id("stChatMessage").nth(3)
        expect(last).to_contain_text("takes a few seconds to stream out\" ...interesting.",
                                     timeout=20_000)
        active = first.get_by_test_id("stFeedbackButtonActive")
        expect(active).to_have_accessible_name("Thumbs down")
        # The click's fragment run waits for the streaming run to end; locked (disabled)
        # is the server's word that the rating is saved.
        expect(active).to_be_disabled()
    finally:
        server.stop()
    from chatfeedback.store import Store
    store = Store.open(db_url)
    conv = store.list_conversations()[0]
    msgs = store.messages(conv.id)
    assert msgs[3].status == "complete" and msgs[3].content.endswith("...interesting.")
    assert store.ratings(conv.id)[msgs[1].id].value == 0
