"""Real headless Chromium (Debian's package when present) driven by Playwright."""

from __future__ import annotations

import pytest

from ..support import CHROMIUM_ARGS, chromium_path


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright

    # Every expect waits for its condition up to 30 s (Playwright's default is 5 s): a test
    # waits for the event, and a machine busy with other work must not fail it.
    expect.set_options(timeout=30_000)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS,
                                     headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def pytest_collection_modifyitems(items):
    for item in items:
        if "/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
