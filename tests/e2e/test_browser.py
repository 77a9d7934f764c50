"""A tipster in a real browser with JavaScript off (Tor Browser "Safest"), in English and Arabic.

Debian's chromium driven by Playwright submits a tip with a file through the real public site,
then a reviewer reads it in the back office. Screenshots of every page are kept as artifacts in
$TIPLINE_ARTIFACTS_DIR (default: test-artifacts/)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import short_tempdir
from tests.e2e.stack import REVIEWER_PASSPHRASE, REVIEWER_PASSWORD, ROOT, Stack, wait_for

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/lib/chromium/chromium"
ARTIFACTS = Path(os.environ.get("TIPLINE_ARTIFACTS_DIR", ROOT / "test-artifacts"))


@pytest.fixture(scope="module")
def stack():
    stack = Stack(short_tempdir())
    try:
        stack.start_redis()
        stack.provision()
        stack.start_sites()
        stack.start_worker()
        yield stack
    finally:
        stack.close()
        shutil.rmtree(stack.root, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(stack):
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


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_tipster_submits_with_javascript_off(stack, browser, language, tmp_path):
    context = browser.new_context(java_script_enabled=False, locale=language)
    page = context.new_page()
    foreign = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(stack.public_url("/")) else foreign.append(r.url),
    )

    page.goto(stack.public_url("/"))
    if language == "ar":
        page.select_option("#language", "ar")
        page.click("form.language button")
        assert page.get_attribute("html", "dir") == "rtl"
    shoot(page, f"{language}-1-home")
    page.click("a[href='/submit/demo/']")
    shoot(page, f"{language}-2-submit")
    evidence = tmp_path / f"evidence-{language}.txt"
    evidence.write_text(f"browser evidence {language}")
    page.fill("textarea[name=message]", f"browser tip in {language}")
    page.set_input_files("input[name=attachment]", str(evidence))
    page.click("form[enctype] button[type=submit]")
    assert page.locator(".codename").count() == 1, page.content()
    codename = page.inner_text(".codename")
    assert len(codename.split()) == 7
    shoot(page, f"{language}-3-receipt")
    assert foreign == []
    context.close()

    [(tip_id,)] = stack.sql("SELECT max(id) FROM tipline_tip")
    wait_for(
        lambda: stack.sql(f"SELECT 1 FROM tipline_tip WHERE id={tip_id} AND routed_at IS NOT NULL"),
        30,
        "routing",
    )
    reviewer = browser.new_context(java_script_enabled=False)
    page = reviewer.new_page()
    page.goto(stack.backoffice_url("/login/"))
    shoot(page, f"{language}-4-backoffice-login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", REVIEWER_PASSWORD)
    page.fill("input[name=otp_token]", stack.current_totp(drift=1 if language == "ar" else 0))
    page.click("button[type=submit]")
    page.goto(stack.backoffice_url(f"/tips/{tip_id}/"))
    page.fill("input[name=passphrase]", REVIEWER_PASSPHRASE)
    page.click("main button[type=submit]")
    assert f"browser tip in {language}" in page.inner_text("main")
    assert f"evidence-{language}.txt" in page.inner_text("main")
    shoot(page, f"{language}-5-backoffice-tip")
    reviewer.close()
