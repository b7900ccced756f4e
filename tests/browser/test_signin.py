"""Sign-in for real: `chatfeedback run` with [auth] pointing at a local OpenID Connect
provider (oidc-provider-mock), two users in one browser, admin-only Export."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from chatfeedback.store import Store

from ..support import (
    VENV_BIN,
    Server,
    free_port,
    send_prompt,
    signin_app,
    wait_for_app,
    wait_until,
    write_config,
)


@pytest.fixture
def provider(tmp_path):
    """oidc-provider-mock on a free port: any client, any user (the email is the subject)."""
    port = free_port()
    with open(tmp_path / "oidc.log", "wb") as log:
        proc = subprocess.Popen([str(VENV_BIN / "oidc-provider-mock"), "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"oidc-provider-mock exited (see {tmp_path / 'oidc.log'})")
        try:
            with urllib.request.urlopen(base + "/.well-known/openid-configuration",
                                        timeout=2):
                return True
        except OSError:
            return False

    wait_until(answering, timeout=30, every=0.2, what="oidc-provider-mock to answer")
    yield base
    proc.terminate()
    proc.wait(10)


def sign_in(page, app_url: str, email: str) -> None:
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name=sub]").fill(email)  # the provider's authorization form
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(app_url + "**")
    wait_for_app(page)
    expect(page.get_by_test_id("stSidebar")).to_contain_text(f"Signed in as {email}")


def sign_out(page, app_url: str) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="End session").click()  # the provider's logout form
    page.goto(app_url)
    wait_for_app(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_two_users_sign_in_and_see_only_their_own(page, tmp_path, db_url, provider):
    port, app_url = signin_app(tmp_path, provider)
    config = write_config(tmp_path / "chatfeedback.toml",
                          '[access]\nadmins = ["alice@example.org"]\n')
    server = Server(db_url, config, port=port, log=tmp_path / "server.log").start()
    try:
        page.goto(app_url)
        wait_for_app(page)
        expect(page.get_by_test_id("stChatInput")).to_have_count(0)  # nothing before sign-in

        sign_in(page, app_url, "alice@example.org")
        send_prompt(page, "alice asks")
        answer = page.get_by_test_id("stChatMessage").nth(1)
        answer.get_by_role("radio", name="Thumbs up").click()
        expect(answer.get_by_test_id("stFeedbackButtonActive")).to_be_disabled()
        alice_url = page.url
        page.get_by_test_id("stSidebarNav").get_by_text("Export").click()  # alice is admin
        wait_for_app(page)
        with page.expect_download() as download:
            page.get_by_role("button", name="Rated answers (JSON Lines)").click()
        rows = [json.loads(line) for line in
                Path(download.value.path()).read_text(encoding="utf-8").splitlines()]
        assert [(r["prompt"], r["rating"], r["rater"]) for r in rows] == [
            ("alice asks", 1, "alice@example.org")]
        page.goto(app_url + "dashboard")  # typed into the address bar: an admin gets it
        wait_for_app(page)
        expect(page.get_by_test_id("stMetric").first).to_be_visible()
        expect(page.get_by_test_id("stHeading").first).to_contain_text("Dashboard")
        sign_out(page, app_url)

        sign_in(page, app_url, "bob@example.org")
        expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)  # one page: no Export
        expect(page.get_by_test_id("stSidebar")).not_to_contain_text("alice asks")
        page.goto(alice_url)
        wait_for_app(page)
        expect(page.get_by_text("Conversation not found")).to_be_visible()
        expect(page.get_by_test_id("stChatMessage")).to_have_count(0)
        for path in ("export", "dashboard", "experiments", "review"):  # typed by bob
            page.goto(app_url + path)
            wait_for_app(page)
            expect(page.get_by_test_id("stChatInput")).to_be_visible()  # the chat instead
            expect(page.get_by_test_id("stMetric")).to_have_count(0)
            expect(page.get_by_test_id("stDataFrame")).to_have_count(0)
            expect(page.get_by_test_id("stDownloadButton")).to_have_count(0)
            expect(page.get_by_test_id("stHeading")).to_have_count(0)  # no page title
            expect(page.locator("body")).not_to_contain_text("alice asks")
    finally:
        server.stop()

    store = Store.open(db_url)
    (conv,) = store.list_conversations()
    assert conv.owner == "alice@example.org"
    assert [e["actor"] for e in store.iter_events()] == ["alice@example.org"]
