"""The drop-in chat in Chromium: ``streamlit run examples/streamlit_app.py`` (someone's own
app), a prompt answered by its function, a thumbs-up saved in the database, shown again
after a reload; and Stop on a slow function of another app."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..support import VENV_BIN, Server, rated_answers, send_prompt, wait_for_app

pytestmark = pytest.mark.all_databases

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "streamlit_app.py"


class StreamlitApp(Server):
    """``streamlit run <script>`` (not ``chatfeedback run``) on a free port."""

    def __init__(self, script: Path, db_url: str, log: Path) -> None:
        super().__init__(db_url, env={"FEEDBACK_DB": db_url}, log=log)
        self.script = script

    def command(self) -> list[str]:
        return [str(VENV_BIN / "streamlit"), "run", str(self.script), "--server.port",
                str(self.port), "--server.headless", "true", "--browser.gatherUsageStats",
                "false", "--server.fileWatcherType", "none"]


def test_the_example_app_rates_an_answer_into_the_database(page, db_url, tmp_path):
    app = StreamlitApp(EXAMPLE, db_url, tmp_path / "app.log").start()
    try:
        page.goto(app.url)
        wait_for_app(page)
        expect(page.get_by_role("heading", name="My assistant")).to_be_visible()
        expect(page.get_by_test_id("stSidebar")).to_contain_text("shouting")  # the app's own

        send_prompt(page, "hello browser")
        messages = page.get_by_test_id("stChatMessage")
        answer = messages.nth(1)
        expect(answer).to_contain_text("You said: hello browser")
        up = answer.get_by_role("radio", name="Thumbs up")
        up.click()
        expect(up).to_have_attribute("aria-checked", "true")
        expect(answer.get_by_text("Saved")).to_be_visible()  # the server's confirmation
        wait_for_app(page)
        [(message, rating)] = rated_answers(db_url)
        assert (message.content, message.model, message.status) == (
            "You said: hello browser ", "my_model", "complete")
        assert (rating.scale, rating.value) == ("thumbs", 1)

        # The app's own widget changes how its model answers; the chat keeps its history.
        page.get_by_test_id("stSidebar").get_by_text("shouting").click()
        wait_for_app(page)
        send_prompt(page, "louder")
        expect(messages.nth(3)).to_contain_text("YOU SAID: LOUDER")
        expect(messages.nth(1).get_by_role("radio", name="Thumbs up")).to_have_attribute(
            "aria-checked", "true")
        expect(page.get_by_test_id("stException")).to_have_count(0)
    finally:
        app.stop()


def test_stop_keeps_what_a_slow_function_wrote(page, db_url, tmp_path):
    script = tmp_path / "slow_app.py"
    script.write_text(textwrap.dedent('''
        import os, time
        import streamlit as st
        from chatfeedback.streamlit import feedback_chat

        def slow(messages):
            for i in range(200):
                yield f"word{i} "
                time.sleep(0.1)

        st.header("Slow")
        feedback_chat(slow, db=os.environ["FEEDBACK_DB"], mode="changeable")
    '''))
    app = StreamlitApp(script, db_url, tmp_path / "app.log").start()
    try:
        page.goto(app.url)
        wait_for_app(page)
        box = page.get_by_test_id("stChatInputTextArea")
        box.fill("go on and on")
        box.press("Enter")
        answer = page.get_by_test_id("stChatMessage").nth(1)
        expect(answer).to_contain_text("word3")
        page.get_by_test_id("stChatInputStopButton").click()
        expect(answer).to_contain_text("Stopped")
        expect(answer.get_by_test_id("stFeedback")).to_be_visible()
        wait_for_app(page)
        [(message, _)] = rated_answers(db_url)
        assert message.status == "stopped" and message.content.startswith("word0 word1 word2")
        assert "word199" not in message.content
        answer.get_by_role("radio", name="Thumbs down").click()
        expect(answer.get_by_text("Saved")).to_be_visible()
        wait_for_app(page)
        assert rated_answers(db_url)[0][1].value == 0
    finally:
        app.stop()
