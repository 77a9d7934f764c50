"""A tipster in a real browser with JavaScript off (Tor Browser "Safest"), in English and Arabic.

Debian's chromium driven by Playwright answers a desk's questionnaire and attaches files on the
real public site, keeps the codename from the receipt, and after a reviewer has read the tip and
replied in the back office, checks in with the codename and reads the reply. Screenshots of
every page are kept as artifacts in $TIPLINE_ARTIFACTS_DIR (default: test-artifacts/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.stack import (
    REVIEWER_PASSPHRASE,
    REVIEWER_PASSWORD,
    ROOT,
    running_stack,
    wait_for,
)

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/lib/chromium/chromium"
ARTIFACTS = Path(os.environ.get("TIPLINE_ARTIFACTS_DIR", ROOT / "test-artifacts"))
TEXT = {
    "en": {"change": None, "checkin": "Check in", "reply": "Reply from the reviewers"},
    "ar": {"change": "تغيير", "checkin": "دخول", "reply": "ردّ من المراجعين"},
}


@pytest.fixture(scope="module")
def stack():
    with running_stack() as stack:
        yield stack


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


def tipster_context(browser, stack, language):
    context = browser.new_context(java_script_enabled=False, locale=language)
    foreign = []
    context.on(
        "request",
        lambda r: None if r.url.startswith(stack.public_url("/")) else foreign.append(r.url),
    )
    return context, foreign


def test_a_tipster_reports_and_reads_a_reply_with_javascript_off(stack, browser, tmp_path):
    for step, language in enumerate(["en", "ar"]):
        run_tipster_journey(stack, browser, tmp_path, language, drift=step)


def run_tipster_journey(stack, browser, tmp_path, language, drift):
    context, foreign = tipster_context(browser, stack, language)
    page = context.new_page()
    page.goto(stack.public_url("/"))
    if language != "en":
        page.select_option("#language", language)
        page.click("form.language button")
        assert page.get_attribute("html", "dir") == "rtl"
    shoot(page, f"{language}-1-home")
    page.click("a[href='/submit/cyber/']")
    shoot(page, f"{language}-2-questionnaire")
    files = []
    for name in ("ledger", "chat-log"):
        path = tmp_path / f"{name}-{language}.txt"
        path.write_text(f"{name} contents in {language}")
        files.append(str(path))
    page.fill("textarea[name=message]", f"browser tip in {language}")
    page.fill("input[name=group]", "APT-example")
    page.fill("input[name=when]", "2024-03-31")
    page.check("input[name=ongoing][value=yes]")
    page.check("input[name=how_known][value=documents]")
    page.set_input_files("input[name=attachment]", files)
    page.click("form[enctype] button[type=submit]")
    assert page.locator(".codename").count() == 1, page.content()
    codename = page.inner_text(".codename")
    assert len(codename.split()) == 7
    shoot(page, f"{language}-3-receipt")
    context.close()

    [(tip_id,)] = stack.sql("SELECT max(id) FROM tipline_tip")
    wait_for(
        lambda: stack.sql(f"SELECT 1 FROM tipline_tip WHERE id={tip_id} AND routed_at IS NOT NULL"),
        30,
        "routing",
    )
    reply_text = f"Thank you. Reply in {language}: who sent the ledger?"
    review_and_reply(stack, browser, tip_id, language, reply_text, drift)

    context, more_foreign = tipster_context(browser, stack, language)
    page = context.new_page()
    page.goto(stack.public_url("/"))
    if language != "en":
        page.select_option("#language", language)
        page.click("form.language button")
    page.click("a[href='/checkin/']")
    shoot(page, f"{language}-6-checkin")
    page.fill("input[name=codename]", codename)
    page.click(f"main button:has-text('{TEXT[language]['checkin']}')")
    assert reply_text in page.inner_text("main"), page.content()
    assert TEXT[language]["reply"] in page.inner_text("main")
    shoot(page, f"{language}-7-reply")
    page.click("form[action^='/tip/replies/'] button")
    assert reply_text not in page.inner_text("main")
    shoot(page, f"{language}-8-reply-deleted")
    context.close()
    assert foreign == [] and more_foreign == []


def review_and_reply(stack, browser, tip_id, language, reply_text, drift):
    reviewer = browser.new_context(java_script_enabled=False)
    page = reviewer.new_page()
    page.goto(stack.backoffice_url("/login/"))
    shoot(page, f"{language}-4-backoffice-login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", REVIEWER_PASSWORD)
    page.fill("input[name=otp_token]", stack.current_totp(drift=drift))
    page.click("button[type=submit]")
    page.goto(stack.backoffice_url(f"/tips/{tip_id}/"))
    page.fill("input[name=passphrase]", REVIEWER_PASSPHRASE)
    page.click("main button[type=submit]")
    text = page.inner_text("main")
    assert f"browser tip in {language}" in text
    assert "APT-example" in text and "2024-03-31" in text and "I have documents or data" in text
    assert f"ledger-{language}.txt" in text and f"chat-log-{language}.txt" in text
    page.fill("textarea[name=message]", reply_text)
    page.click("form[action$='/reply/'] button")
    assert reply_text in page.inner_text("main")
    shoot(page, f"{language}-5-backoffice-tip")
    reviewer.close()


@pytest.mark.parametrize("language", ["en", "ar"])
def test_pages_fit_a_small_phone_screen(stack, browser, language):
    context = browser.new_context(
        java_script_enabled=False, locale=language, viewport={"width": 360, "height": 740}
    )
    context.add_cookies(
        [{"name": "tipline_language", "value": language, "url": stack.public_url("/")}]
    )
    page = context.new_page()
    for name, path in (
        ("home", "/"),
        ("questionnaire", "/submit/cyber/"),
        ("checkin", "/checkin/"),
    ):
        page.goto(stack.public_url(path))
        shoot(page, f"{language}-phone-{name}")
        assert page.locator("html").get_attribute("lang") == language
        # Nothing wider than the screen: no sideways scrolling on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, page.evaluate(
            "() => Array.from(document.querySelectorAll('*'))"
            ".filter(e => e.getBoundingClientRect().right > 360)"
            ".map(e => e.tagName + ' ' + e.getBoundingClientRect().right)"
        )
    context.close()
