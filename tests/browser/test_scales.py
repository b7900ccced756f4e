"""Faces and stars in the browser (thumbs are in test_e2e.py): a click is saved with the
scale's stored value (1-5), shown after a reload, and changed by another click."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chatfeedback.store import Store

from ..support import Server, send_prompt, wait_for_app, write_config

FACES = ["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"]
STARS = [f"{n} out of 5 stars" for n in range(1, 6)]


def saved(db_url: str) -> list[tuple[str, int]]:
    store = Store.open(db_url)
    try:
        conv = store.list_conversations()[0]
        return [(r.scale, r.value) for r in store.ratings(conv.id).values()]
    finally:
        store.close()


@pytest.mark.parametrize(("scale", "labels"), [("faces", FACES), ("stars", STARS)])
def test_faces_and_stars(page, tmp_path, db_url, scale, labels):
    config = write_config(tmp_path / "c.toml",
                          f'[feedback]\nscale = "{scale}"\nmode = "changeable"\n')
    server = Server(db_url, config).start()
    try:
        page.goto(server.url)
        wait_for_app(page)
        send_prompt(page, "rate me")
        answer = page.get_by_test_id("stChatMessage").nth(1)
        expect(answer.get_by_role("radio")).to_have_count(5)
        answer.get_by_role("radio", name=labels[3], exact=True).click()  # the 4th of 5: stored 4
        expect(answer.get_by_role("radio", name=labels[3], exact=True)).to_have_attribute(
            "aria-checked", "true")
        expect(answer.get_by_text("Saved")).to_be_visible()  # the server's confirmation
        wait_for_app(page)
        assert saved(db_url) == [(scale, 4)]

        page.reload()
        wait_for_app(page)
        answer = page.get_by_test_id("stChatMessage").nth(1)
        expect(answer.get_by_role("radio", name=labels[3], exact=True)).to_have_attribute(
            "aria-checked", "true")
        if scale == "stars":  # every star up to the chosen one is drawn active
            expect(answer.get_by_test_id("stFeedbackButtonActive")).to_have_count(4)
        answer.get_by_role("radio", name=labels[0], exact=True).click()  # changed to the worst: 1
        expect(answer.get_by_role("radio", name=labels[0], exact=True)).to_have_attribute(
            "aria-checked", "true")
        expect(answer.get_by_text("Saved")).to_be_visible()
        wait_for_app(page)
        assert saved(db_url) == [(scale, 1)]
    finally:
        server.stop()
