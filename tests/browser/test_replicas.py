"""Two replicas on one PostgreSQL behind nginx (the configuration the docs show): a conversation
begun on one is continued and rated on the other, and each sees the other's rating."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from playwright.sync_api import expect

from chatfeedback.store import Store

from ..openai_server import Script
from ..support import (
    NGINX_SITE,
    Nginx,
    Server,
    send_prompt,
    wait_for_app,
    wait_until,
    write_config,
)
from ..test_openai_backend import model_entry

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENT = ROOT / "docs" / "deployment.md"


def test_the_docs_show_the_tested_nginx_configuration():
    # The page includes the file itself when the site is built (pymdownx.snippets, which
    # fails the strict build if the file is missing): the text cannot drift from the test's.
    include = f'--8<-- "{NGINX_SITE.resolve().relative_to(ROOT)}"'
    assert include in DEPLOYMENT.read_text(encoding="utf-8")


def open_via(browser, nginx: Nginx, route: str):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.add_cookies([{"name": "chatfeedback_route", "value": route, "url": nginx.url}])
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def test_two_replicas_behind_nginx(browser, tmp_path, pg_url, openai_server):
    go_on = threading.Event()  # the first answer waits after its first words until then
    openai_server.reply(Script(text="An answer begun on replica one and finished later.",
                               gate=go_on, gate_after=3))
    config = write_config(tmp_path / "c.toml", '[feedback]\nmode = "changeable"\n'
                          + model_entry(openai_server.base_url, name="m"))
    replicas = [Server(pg_url, config, log=tmp_path / f"replica{i}.log") for i in (1, 2)]
    with ThreadPoolExecutor(2) as pool:  # both start at once on a blank database
        list(pool.map(lambda s: s.start(), replicas))
    one, two = replicas
    nginx = Nginx(tmp_path / "nginx", [one.port, two.port]).start()
    try:
        alice = open_via(browser, nginx, nginx.route_to(one.port))
        bob = open_via(browser, nginx, nginx.route_to(two.port))

        for tab in (alice, bob):
            tab.goto(nginx.url)
            wait_for_app(tab)
        box = alice.get_by_test_id("stChatInputTextArea")
        box.fill("begun on replica one")
        box.press("Enter")
        alice.wait_for_url("**?c=*")

        # While replica one streams the answer, bob's page on replica two shows it being
        # written and then whole, without a reload (and never as interrupted: replica one
        # saves it every second).
        bob.goto(alice.url)
        watched = bob.get_by_test_id("stChatMessage").nth(1)
        expect(watched).to_contain_text("Still being written", timeout=30_000)
        expect(watched).to_contain_text("An answer begun")
        go_on.set()
        expect(watched).to_contain_text("begun on replica one and finished later.",
                                        timeout=30_000)
        expect(watched).not_to_contain_text("Still being written")
        expect(watched).not_to_contain_text("interrupted")

        wait_for_app(alice)
        first = alice.get_by_test_id("stChatMessage").nth(1)
        first.get_by_role("radio", name="Thumbs up").click()
        expect(first.get_by_test_id("stFeedbackButtonActive")).to_have_accessible_name(
            "Thumbs up")
        wait_for_app(alice)
        url = alice.url
        assert url.startswith(nginx.url) and "?c=" in url

        bob.reload()
        wait_for_app(bob)
        messages = bob.get_by_test_id("stChatMessage")
        expect(messages.nth(0)).to_contain_text("begun on replica one")
        expect(messages.nth(1).get_by_test_id("stFeedbackButtonActive")).to_have_accessible_name(
            "Thumbs up")
        send_prompt(bob, "continued on replica two")
        expect(messages).to_have_count(4)
        messages.nth(3).get_by_role("radio", name="Thumbs down").click()
        expect(messages.nth(3).get_by_test_id("stFeedbackButtonActive")).to_have_accessible_name(
            "Thumbs down")
        wait_for_app(bob)

        alice.reload()
        wait_for_app(alice)
        mine = alice.get_by_test_id("stChatMessage")
        expect(mine).to_have_count(4)
        expect(mine.nth(2)).to_contain_text("continued on replica two")
        expect(mine.nth(3).get_by_test_id("stFeedbackButtonActive")).to_have_accessible_name(
            "Thumbs down")

        # Each browser's websockets went to its own replica only (nginx logs a websocket
        # when it closes).
        cookies = [{c["name"]: c["value"] for c in p.context.cookies()}["chatfeedback_route"]
                   for p in (alice, bob)]
        alice.context.close()
        bob.context.close()

        def streams() -> set[tuple[str, str]]:  # (route, upstream) of the websockets
            return {(route, upstream) for route, upstream, path in nginx.routes()
                    if path.startswith("/_stcore/stream")}

        wait_until(lambda: set(cookies) <= {route for route, _ in streams()}, timeout=30,
                   every=0.1, what=lambda: f"nginx to log both browsers' websockets "
                   f"(logged: {streams()})")  # nginx logs a websocket when it closes
        for cookie, replica in zip(cookies, replicas):
            assert {u for r, u in streams() if r == cookie} == {f"127.0.0.1:{replica.port}"}
    finally:
        go_on.set()
        nginx.stop()
        for replica in replicas:
            replica.stop()

    store = Store.open(pg_url)
    (conv,) = store.list_conversations()
    answers = [m for m in store.messages(conv.id) if m.role == "assistant"]
    ratings = store.ratings(conv.id)
    assert [ratings[a.id].value for a in answers] == [1, 0]
    assert len({e["actor"] for e in store.iter_events()}) == 2  # two browser sessions
    store.close()
