"""The Arena page in Chromium against two real OpenAI-protocol servers: both sides stream at
the same time, a vote shows the names and reaches the leaderboard, a failed side cannot be
voted."""

from __future__ import annotations

from playwright.sync_api import expect

from chatfeedback.store import Store

from ..openai_server import OpenAIServer, Script
from ..support import Server, send_prompt, wait_for_app, write_config
from ..test_arena import openai_models

WORDS = [f"w{i} " for i in range(24)]


def test_a_round_streams_both_sides_is_voted_and_a_failed_side_is_not(page, tmp_path, db_url):
    with OpenAIServer() as one, OpenAIServer() as two:
        run_scenario(page, tmp_path, db_url, one, two)


def run_scenario(page, tmp_path, db_url, one: OpenAIServer, two: OpenAIServer) -> None:
    for server in (one, two):
        server.default = Script(text=WORDS, delay=0.25)          # 6 s per answer
    config = write_config(tmp_path / "c.toml", openai_models(one, two))
    app = Server(db_url, config, log=tmp_path / "server.log").start()
    try:
        page.goto(app.url + "arena")
        wait_for_app(page)
        side_a = page.get_by_test_id("stColumn").filter(has_text="Model A").first
        side_b = page.get_by_test_id("stColumn").filter(has_text="Model B").first
        box = page.get_by_test_id("stChatInputTextArea")
        box.fill("Which is better?")
        box.press("Enter")
        # both sides are streaming at once: each shows its first words while the other
        # is far from done (one after the other, B would start 6 s after A)
        expect(side_a).to_contain_text("w2", timeout=15_000)
        expect(side_b).to_contain_text("w2", timeout=3_000)
        expect(side_a).not_to_contain_text("w20")
        expect(side_b).not_to_contain_text("w20")
        wait_for_app(page)
        expect(side_a).to_contain_text("w23")
        expect(side_b).to_contain_text("w23")
        expect(page.get_by_role("heading", name="Model A", exact=True)).to_be_visible()

        page.get_by_role("button", name="B is better").click()
        wait_for_app(page)
        expect(page.get_by_text("You voted:")).to_be_visible()
        names = page.get_by_role("heading", name="Model A: ")
        expect(names).to_be_visible()
        expect(page.get_by_role("button", name="A is better")).to_have_count(0)
        page.screenshot(path=str(tmp_path / "arena-voted.png"), full_page=True)
        page.get_by_role("tab", name="Leaderboard").click()
        expect(page.get_by_text("Votes: 1 · rounds: 1 voted, 0 failed")).to_be_visible()
        page.get_by_role("tab", name="Battle").click()

        # a round in which one side fails cannot be voted
        two.default = Script(status=500, error="the GPU fell over")
        send_prompt(page, "Again?")
        expect(page.get_by_text("the GPU fell over").first).to_be_visible()
        expect(page.get_by_text("cannot be voted")).to_be_visible()
        expect(page.get_by_role("button", name="A is better")).to_have_count(0)
        page.get_by_role("tab", name="Leaderboard").click()
        expect(page.get_by_text("Votes: 1 · rounds: 1 voted, 1 failed")).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
        page.screenshot(path=str(tmp_path / "arena.png"), full_page=True)
    finally:
        app.stop()
    store = Store.open(db_url)
    try:
        counts = store.arena_counts()
        assert len(counts) == 1 and counts[0][3] == "model_b"
        assert store.arena_round_counts() == {"voted": 1, "failed": 1}
    finally:
        store.close()
