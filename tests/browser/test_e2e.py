"""End to end: `chatfeedback run`, a real browser, reloads and a SIGKILLed server."""

from __future__ import annotations

import json
import subprocess
import threading
import time

from playwright.sync_api import expect

from ..openai_server import OpenAIServer, Script
from ..support import (
    VENV_BIN,
    Server,
    pumping,
    send_prompt,
    wait_for_app,
    wait_until,
    write_config,
)
from ..test_openai_backend import model_entry


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
    """The model holds the second answer after two words (an event the test opens), so the
    answer is certainly still streaming when the click on the first answer's rating leaves
    the browser (its websocket frame is seen) and until the test lets the model go on."""
    frames: list[float] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda _: frames.append(
        time.monotonic())))
    go_on = threading.Event()
    with OpenAIServer() as model:
        model.reply(Script(text="A first answer."),
                    Script(text="The second answer streams on and on and ends here.",
                           gate=go_on, gate_after=2))
        config = write_config(tmp_path / "c.toml", model_entry(model.base_url, name="m"))
        server = Server(db_url, config).start()
        try:
            page.goto(server.url)
            wait_for_app(page)
            send_prompt(page, "a")
            box = page.get_by_test_id("stChatInputTextArea")
            box.fill("b")
            box.press("Enter")
            last = page.get_by_test_id("stChatMessage").nth(3)
            expect(last).to_contain_text("The second")  # streaming, held by the model
            first = page.get_by_test_id("stChatMessage").nth(1)
            clicked = time.monotonic()
            first.get_by_role("radio", name="Thumbs down").click()
            wait_until(lambda: [t for t in frames if t >= clicked],  # the click left the browser
                       timeout=30, sleep=pumping(page), what="a websocket frame after the click")
            assert newest_answer(db_url).status == "streaming"  # still, when it left
            expect(last).not_to_contain_text("ends here.")
            go_on.set()
            expect(last).to_contain_text("The second answer streams on and on and ends here.",
                                         timeout=30_000)
            active = first.get_by_test_id("stFeedbackButtonActive")
            expect(active).to_have_accessible_name("Thumbs down")
            # The click's fragment run waits for the streaming run to end; locked
            # (disabled) is the server's word that the rating is saved.
            expect(active).to_be_disabled()
        finally:
            go_on.set()
            server.stop()
    from chatfeedback.store import Store
    store = Store.open(db_url)
    conv = store.list_conversations()[0]
    msgs = store.messages(conv.id)
    assert msgs[3].status == "complete" and msgs[3].content.endswith("ends here.")
    assert store.ratings(conv.id)[msgs[1].id].value == 0


def newest_answer(db_url: str):
    from chatfeedback.store import Store
    store = Store.open(db_url)
    try:
        return store.messages(store.list_conversations()[0].id)[-1]
    finally:
        store.close()
