"""In Chromium: reasons and comments under a rating, "Show earlier", rating an old turn."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import expect

from chatfeedback.analytics import Analytics
from chatfeedback.store import Store

from ..support import VENV_BIN, Server, wait_for_app, write_config


def import_conversation(db_url: str, tmp_path, turns: int) -> str:
    path = tmp_path / "conv.jsonl"
    messages = [m for i in range(turns) for m in (
        {"role": "user", "content": f"question {i}"},
        {"role": "assistant", "content": f"answer {i}"})]
    path.write_text(json.dumps({"messages": messages, "model": "prod-model"}) + "\n")
    out = subprocess.run([str(VENV_BIN / "chatfeedback"), "import", str(path), "--db", db_url],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


@contextmanager
def opened(page, tmp_path, db_url: str, turns: int, config: str) -> Iterator[Server]:
    """``chatfeedback run`` with a conversation of ``turns`` turns open in ``page``."""
    conv = import_conversation(db_url, tmp_path, turns)
    server = Server(db_url, write_config(tmp_path / "c.toml", config),
                    log=tmp_path / "server.log").start()
    try:
        page.goto(f"{server.url}?c={conv}")
        wait_for_app(page)
        yield server
    finally:
        server.stop()


def test_reasons_and_comment_round_trip(page, tmp_path, db_url):
    with opened(page, tmp_path, db_url, 3, "[feedback]\nmax_comment_length = 40\n"):
        answer = page.get_by_test_id("stChatMessage").nth(3)
        expect(answer).to_contain_text("answer 1")
        answer.get_by_role("radio", name="Thumbs down").click()
        expect(answer.get_by_text("Saved")).to_be_visible()
        answer.get_by_role("button", name="Wrong").click()
        answer.get_by_role("button", name="Too long").click()
        box = answer.get_by_role("textbox")
        too_long = "The year is wrong, and so is the city name in it."
        box.fill(too_long)
        answer.get_by_role("button", name="Save").click()
        expect(answer.get_by_text("Not saved: the comment has 49 characters")).to_be_visible()
        expect(box).to_have_value(too_long)  # nothing lost
        box.fill("The year is wrong.")
        answer.get_by_role("button", name="Save").click()
        expect(answer.get_by_text("Too long · Wrong — “The year is wrong.”")).to_be_visible()
        expect(answer.get_by_role("textbox")).to_have_count(0)
        wait_for_app(page)

        page.reload()
        wait_for_app(page)
        answer = page.get_by_test_id("stChatMessage").nth(3)
        expect(answer.get_by_text("Too long · Wrong — “The year is wrong.”")).to_be_visible()
        expect(answer.get_by_test_id("stFeedbackButtonActive")).to_have_accessible_name(
            "Thumbs down")
        answer.get_by_role("button", name="Edit").click()
        expect(answer.get_by_role("textbox")).to_have_value("The year is wrong.")
    store = Store.open(db_url)
    assert [(e["action"], e["comment"], e["tags"]) for e in store.iter_events()] == [
        ("set", None, None), ("comment", "The year is wrong.", None),
        ("tags", None, ["Too long", "Wrong"])]
    out = subprocess.run([str(VENV_BIN / "chatfeedback"), "export", "--db", db_url],
                         capture_output=True, text=True, check=True)
    [row] = [json.loads(x) for x in out.stdout.splitlines()]
    assert (row["prompt"], row["rating"], row["comment"], row["tags"], row["model"]) == (
        "question 1", 0, "The year is wrong.", ["Too long", "Wrong"], "prod-model")


def test_show_earlier_and_rating_an_old_turn(page, tmp_path, db_url):
    with opened(page, tmp_path, db_url, 25, "[chat]\nwindow = 10\n"):
        messages = page.get_by_test_id("stChatMessage")
        expect(messages).to_have_count(20)
        expect(messages.first).to_contain_text("question 15")
        page.get_by_role("button", name="Show earlier (15 older turns)").click()
        expect(messages).to_have_count(40)
        page.get_by_role("button", name="Show earlier (5 older turns)").click()
        expect(messages).to_have_count(50)
        expect(page.get_by_role("button", name="Show earlier")).to_have_count(0)
        first = messages.nth(1)
        expect(first).to_contain_text("answer 0")
        first.get_by_role("radio", name="Thumbs up").click()
        expect(first.get_by_text("Saved")).to_be_visible()
        wait_for_app(page)

        page.reload()
        wait_for_app(page)
        expect(messages).to_have_count(20)  # a new visit starts with the window again
        page.get_by_role("button", name="Show earlier").click()
        expect(messages).to_have_count(40)
        page.get_by_role("button", name="Show earlier").click()
        expect(messages).to_have_count(50)
        expect(messages.nth(1).get_by_test_id("stFeedbackButtonActive")) \
            .to_have_accessible_name("Thumbs up")
    store = Store.open(db_url)
    totals = Analytics(store).totals()
    assert (totals.shown, totals.shown_rated) == (25, 1)
