"""What the browser tests share: one Debian chromium a module, driven by Playwright."""

import os

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/lib/chromium/chromium"


@pytest.fixture(scope="module")
def browser(stack):
    """Chromium, headless, for the module's ``stack`` (a module may define its own)."""
    os.environ["HOME"] = str(stack.root)  # chromium writes into $HOME even when headless
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()
