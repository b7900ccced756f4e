"""The README's and the docs' screenshot: the chat with a rated answer, taken in Chromium.

Starts ``chatfeedback run`` on a fresh SQLite file with the built-in echo model (what
``make run`` shows), sends two prompts, rates the last answer 👍 with two reasons and a
comment, and saves the page as ``docs/assets/chat-rated.png``. Not part of ``make test``
or ``make docs`` (the PNG is committed); run it again after a visible change to the chat:

    .venv/bin/python docs/screenshot.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.support import (
    CHROMIUM_ARGS,
    chromium_path,
    running,
    send_prompt,
    wait_for_app,
    write_config,
)

OUT = ROOT / "docs" / "assets" / "chat-rated.png"
CONFIG = """\
[feedback]
mode = "changeable"

[[models]]
name = "echo"
backend = "echo"
delay = 0.0
"""
PROMPTS = ("Summarise our refund policy in one sentence.",
           "Now say it for a customer who is upset.")


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    with tempfile.TemporaryDirectory(prefix="chatfeedback-screenshot-") as tmp:
        folder = Path(tmp)
        config = write_config(folder / "chatfeedback.toml", CONFIG)
        with running(f"sqlite:///{folder / 'shot.db'}", config) as server, \
                sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS,
                                         headless=True)
            page = browser.new_page(viewport={"width": 1100, "height": 760},
                                    device_scale_factor=1)
            page.set_default_timeout(60_000)
            page.goto(server.url)
            wait_for_app(page)
            # The one-line hint that only the echo model is configured: closed, as a reader
            # would after the first look.
            page.locator(".st-key-cf_echo_hint_close button").first.click()
            wait_for_app(page)
            for prompt in PROMPTS:
                send_prompt(page, prompt)
                expect(page.get_by_test_id("stChatMessage").last).to_contain_text(
                    "interesting")
            answer = page.get_by_test_id("stChatMessage").last
            answer.get_by_role("radio", name="Thumbs up").click()
            expect(answer.get_by_text("Saved")).to_be_visible()
            answer.get_by_role("button", name="Clear").click()
            answer.get_by_role("button", name="Helpful").click()
            answer.get_by_role("textbox").fill("Kind, and it keeps the policy intact.")
            answer.get_by_role("button", name="Save").click()
            expect(answer.get_by_text("Kind, and it keeps the policy intact.")).to_be_visible()
            wait_for_app(page)
            page.mouse.move(0, 0)  # no hover highlight in the picture
            OUT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUT))
            browser.close()
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
