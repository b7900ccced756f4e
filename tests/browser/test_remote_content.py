"""Nothing in a prompt or an answer makes the browser call another host: a real HTTP
listener on 127.0.0.1 counts every request while Chromium shows remote images (Markdown,
reference-style, inside a link, HTML) in the chat as it streams, after a reload and on the
Dashboard. The same text with the host allowed does load its Markdown images: the
listener would have seen them."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from ..support import Server, pumping, send_prompt, wait_for_app, wait_until, write_config

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")
SLOW = '[[models]]\nname = "echo"\nbackend = "echo"\ndelay = 0.004\n'


class Listener:
    """A tiny HTTP server on 127.0.0.1 that answers every GET with a 1x1 PNG and keeps the
    path of every request it gets."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(PNG)))
                self.end_headers()
                self.wfile.write(PNG)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


def prompt_with_images(url: str) -> str:
    return (f"Look ![inline chart]({url}/md.png?d=secret) here.\n\n"
            f"![by reference][pic] and [![in a link]({url}/linked.png)](https://example.org)\n\n"
            f"[pic]: {url}/ref.png\n\n"
            f'<img src="{url}/html.png"> <p><img src="{url}/html2.png"></p>\n\n'
            "Chat at xmpp:bob@chat.example or [by link](xmpp:eve@chat.example).\n\n"
            + "Some more words so that the answer streams for a while. " * 8)


def test_remote_images_make_no_request(page, tmp_path, db_url, listener):
    config = write_config(tmp_path / "c.toml", SLOW)
    server = Server(db_url, config).start()
    try:
        page.goto(server.url)
        wait_for_app(page)
        send_prompt(page, prompt_with_images(listener.url))
        messages = page.get_by_test_id("stChatMessage")
        expect(messages.nth(1)).to_contain_text("...interesting.", timeout=30_000)
        page.wait_for_load_state("networkidle")  # an image would be requested by now
        assert listener.paths == []
        for message in (messages.nth(0), messages.nth(1)):
            expect(message.get_by_role("link", name="inline chart (image from 127.0.0.1, "
                                       "not loaded)")).to_be_visible()
            expect(message).to_contain_text("by reference (image from 127.0.0.1, not loaded)")
            expect(message).to_contain_text("in a link (image from 127.0.0.1, not loaded)")
            expect(message).to_contain_text('<img src="')  # HTML is shown as text
            assert message.locator("img").count() == 0
            expect(message).to_contain_text("Chat at xmpp:bob@chat.example or by link.")
            assert message.locator("a[href^='xmpp:' i]").count() == 0  # GFM links no xmpp:
        messages.nth(1).get_by_role("radio", name="Thumbs down").click()
        expect(messages.nth(1).get_by_test_id("stFeedbackButtonActive")).to_be_disabled()

        page.reload()
        wait_for_app(page)
        expect(page.get_by_test_id("stChatMessage").nth(1)).to_contain_text(
            "inline chart (image from 127.0.0.1, not loaded)")
        assert page.locator("[data-testid='stChatMessage'] img").count() == 0
        page.wait_for_load_state("networkidle")
        assert listener.paths == []

        page.goto(server.url + "dashboard")
        wait_for_app(page)
        expect(page.get_by_text("Lowest-rated answers")).to_be_visible()
        expect(page.get_by_test_id("stDataFrame").last).to_be_visible(timeout=30_000)
        page.wait_for_load_state("networkidle")
        assert listener.paths == []
    finally:
        server.stop()


def test_an_allowed_hosts_images_load(page, tmp_path, db_url, listener):
    config = write_config(tmp_path / "c.toml",
                          '[chat]\nallowed_image_hosts = ["127.0.0.1"]\n' + SLOW)
    server = Server(db_url, config).start()
    try:
        page.goto(server.url)
        wait_for_app(page)
        send_prompt(page, prompt_with_images(listener.url))
        messages = page.get_by_test_id("stChatMessage")
        expect(messages.nth(1)).to_contain_text("...interesting.", timeout=30_000)
        expect(messages.nth(1).locator(f"img[src^='{listener.url}/md.png']")).to_have_count(1)
        wait_until(lambda: {"/md.png?d=secret", "/ref.png", "/linked.png"}
                   <= set(listener.paths), timeout=30, every=0.1, sleep=pumping(page),
                   what=lambda: f"the three images (requests so far: {listener.paths})")
        assert not [p for p in listener.paths if p.startswith("/html")]  # HTML stays text
    finally:
        server.stop()
