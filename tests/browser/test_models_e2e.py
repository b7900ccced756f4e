"""End to end with a real model server: streaming, a 500 shown in place, stop, regenerate."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy.engine import make_url

from chatfeedback.store import Store

from ..openai_server import OpenAIServer, Script
from ..support import Server, send_prompt, wait_for_app, wait_until, write_config
from ..test_openai_backend import model_entry

KEY = "sk-e2e-secret-value-321"


def stored(db_url: str):
    store = Store.open(db_url)
    try:
        conv = store.list_conversations()[0]
        return store.messages(conv.id)
    finally:
        store.close()


def test_stream_error_next_prompt_stop_and_regenerate(page, tmp_path, db_url):
    run_scenario(page, tmp_path, db_url)


def run_scenario(page, tmp_path, db_url) -> None:
    with OpenAIServer() as model:
        model.reply(Script(text=["Streamed ", "from ", "the ", "model ", "server."], delay=0.2),
                    Script(status=500, error="the GPU fell over"))
        model.api_key = KEY  # the server refuses any other
        config = write_config(tmp_path / "c.toml", model_entry(model.base_url, name="llama",
                                                               api_key_env="E2E_LLM_KEY"))
        server = Server(db_url, config, log=tmp_path / "server.log",
                        env={"E2E_LLM_KEY": KEY}).start()
        try:
            page.goto(server.url)
            wait_for_app(page)
            expect(page.get_by_test_id("stSidebar")).to_contain_text("Model: llama")
            messages = page.get_by_test_id("stChatMessage")

            send_prompt(page, "first")
            expect(messages.nth(1)).to_contain_text("Streamed from the model server.")

            send_prompt(page, "second")
            expect(messages.nth(3)).to_contain_text(
                f"The model server at {model.base_url} failed with 500 Internal Server "
                "Error: the GPU fell over")
            expect(page.get_by_test_id("stException")).to_have_count(0)

            send_prompt(page, "third")
            expect(messages.nth(5)).to_contain_text("Echo: third")
            expect(page.get_by_test_id("stException")).to_have_count(0)
            assert [m.content for m in stored(db_url)][::2] == ["first", "second", "third"]

            # stop: the chat input's stop button ends a streaming answer; it is kept
            model.reply(Script(text=[f"word{i} " for i in range(40)], delay=0.25))
            box = page.get_by_test_id("stChatInputTextArea")
            box.fill("long one")
            box.press("Enter")
            expect(messages.nth(7)).to_contain_text("word3", timeout=15_000)
            page.get_by_test_id("stChatInputStopButton").click()
            # right after the stop, with no other action: the answer shows as stopped, with
            # Regenerate and its rating, and the chat input is usable again
            expect(messages.nth(7)).to_contain_text("Stopped", timeout=5_000)
            expect(messages.nth(7).get_by_role("button", name="Regenerate")).to_be_visible(
                timeout=5_000)
            expect(messages.nth(7).get_by_test_id("stFeedback")).to_be_visible(timeout=5_000)
            wait_for_app(page)
            answer = stored(db_url)[7]
            assert answer.status == "stopped"
            assert answer.content.startswith("word0 word1 word2 word3")
            assert "word39" not in answer.content
            wait_until(lambda: model.abandoned, timeout=30, every=0.1,
                       what="the model server to see its stream abandoned")
            assert model.abandoned == 1  # the HTTP stream was closed too
            expect(messages).to_have_count(8)  # the stopped prompt was not sent again
            expect(page.get_by_test_id("stChatInputTextArea")).to_be_enabled()
            expect(page.get_by_test_id("stSidebar")).to_contain_text("first")

            # a stop while the model is still silent (no first token yet) acts at once
            model.reply(Script(text="Too late.", first_delay=30))
            box.fill("slow one")
            box.press("Enter")
            expect(messages.nth(8)).to_contain_text("slow one")
            stop = page.get_by_test_id("stChatInputStopButton")
            expect(stop).to_be_visible()
            clicked = time.monotonic()
            stop.click()
            expect(messages.nth(9)).to_contain_text("Stopped")
            expect(messages.nth(9).get_by_test_id("stFeedback")).to_be_visible()
            assert time.monotonic() - clicked < 20  # not after the model's 30 s of silence
            wait_for_app(page)
            assert (stored(db_url)[9].status, stored(db_url)[9].content) == ("stopped", "")
            expect(page.get_by_test_id("stSidebar")).to_contain_text("first")

            # regenerate the first answer; switch between its versions
            model.reply(Script(text="A second version."))
            first_prompt = stored(db_url)[0].id
            messages.nth(1).get_by_role("button", name="Regenerate").click()
            wait_for_app(page)
            expect(messages.nth(1)).to_contain_text("A second version.")
            expect(messages.nth(1)).to_contain_text("2/2")
            messages.nth(1).get_by_role("radio", name="Thumbs up").click()
            wait_for_app(page)
            messages.nth(1).get_by_role("button", name="‹").click()
            wait_for_app(page)
            expect(messages.nth(1)).to_contain_text("Streamed from the model server.")
            expect(messages.nth(1)).to_contain_text("1/2")
            expect(messages.nth(1).get_by_test_id("stFeedbackButtonActive")).to_have_count(0)
            page.screenshot(path=str(tmp_path / "models.png"), full_page=True)
        finally:
            server.stop()
    store = Store.open(db_url)
    versions = store.versions(first_prompt)
    assert [(v.content, v.selected) for v in versions] == [
        ("Streamed from the model server.", True), ("A second version.", False)]
    assert store.rating(versions[1].id).value == 1 and store.rating(versions[0].id) is None
    store.close()
    # the key went to the model server with every request, and nowhere else: not in the
    # server's log, not in any file of the database (main, -wal, -shm)
    assert (tmp_path / "server.log").read_text() and KEY not in (tmp_path / "server.log"
                                                                  ).read_text()
    database = make_url(db_url).database
    files = [f for f in Path(database).parent.iterdir() if f.name.startswith(Path(database).name)]
    assert files and all(KEY.encode() not in f.read_bytes() for f in files)
