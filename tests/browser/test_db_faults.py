"""The database goes away and comes back: a rating given meanwhile says it was not saved
(never a silent success), the app keeps working, and ratings save again afterwards."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chatfeedback.store import Store

from ..pgcluster import PostgresCluster
from ..support import Server, send_prompt, wait_for_app, write_config


@pytest.fixture
def cluster():
    """A PostgreSQL server of this test's own, so that it can be stopped and started."""
    cluster = PostgresCluster().start()
    yield cluster
    cluster.destroy()


def test_rating_while_postgresql_is_down(page, tmp_path, cluster):
    url = cluster.url()
    config = write_config(tmp_path / "c.toml", '[feedback]\nmode = "changeable"\n')
    server = Server(url, config, log=tmp_path / "server.log").start()
    try:
        page.goto(server.url)
        wait_for_app(page)
        send_prompt(page, "first")
        send_prompt(page, "second")
        first = page.get_by_test_id("stChatMessage").nth(1)
        first.get_by_role("radio", name="Thumbs up").click()
        expect(first.get_by_test_id("stFeedbackButtonActive")).to_have_accessible_name(
            "Thumbs up")
        wait_for_app(page)

        cluster.stop()
        second = page.get_by_test_id("stChatMessage").nth(3)
        second.get_by_role("radio", name="Thumbs down").click()
        wait_for_app(page)
        expect(second.get_by_test_id("stAlertContentError")).to_contain_text(
            "Rating not saved: database error:")
        expect(second.get_by_test_id("stFeedbackButtonActive")).to_have_count(0)
        first.get_by_role("radio", name="Thumbs down").click()  # a change fails the same way
        wait_for_app(page)
        expect(first.get_by_test_id("stAlertContentError")).to_contain_text("Rating not saved")
        expect(first.get_by_test_id("stFeedbackButtonActive")).to_have_accessible_name(
            "Thumbs up")
        page.reload()  # a whole page run: an error in place, not a crash
        wait_for_app(page)
        expect(page.get_by_text("The conversation cannot be shown right now")).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)

        cluster.start()
        page.reload()
        wait_for_app(page)
        second = page.get_by_test_id("stChatMessage").nth(3)
        expect(second.get_by_test_id("stFeedbackButtonActive")).to_have_count(0)
        second.get_by_role("radio", name="Thumbs down").click()
        wait_for_app(page)
        expect(second.get_by_test_id("stFeedbackButtonActive")).to_have_accessible_name(
            "Thumbs down")
        expect(second.get_by_test_id("stAlertContentError")).to_have_count(0)
    finally:
        server.stop()
    store = Store.open(url)
    conv = store.list_conversations()[0]
    answers = [m for m in store.messages(conv.id) if m.role == "assistant"]
    ratings = store.ratings(conv.id)
    assert [ratings[a.id].value for a in answers] == [1, 0]
    assert [e["action"] for e in store.iter_events()] == ["set", "set"]
    store.close()
