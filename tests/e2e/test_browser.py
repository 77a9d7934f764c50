"""A tipster in a real browser with JavaScript off (Tor Browser "Safest"), in English and Arabic.

Debian's chromium driven by Playwright answers a desk's questionnaire and attaches files on the
real public site, keeps the codename from the receipt, and after a reviewer has read the tip and
replied in the back office, checks in with the codename and reads the reply. Screenshots of
every page are kept as artifacts in $TIPLINE_ARTIFACTS_DIR (default: test-artifacts/)."""

from __future__ import annotations

import base64
import io
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from django_otp.oath import totp

from tests.e2e.stack import (
    REVIEWER_PASSPHRASE,
    REVIEWER_PASSWORD,
    ROOT,
    running_stack,
    wait_for,
)

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(os.environ.get("TIPLINE_ARTIFACTS_DIR", ROOT / "test-artifacts"))
# The screenshots README.md and docs/tour.md show, renewed by `make screenshots`.
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
DOCUMENTED = {
    "en-1-home",
    "en-2-questionnaire",
    "en-3-receipt",
    "en-7-reply",
    "ar-1-home",
    "ar-2-questionnaire",
    "ar-3-receipt",
    "ar-7-reply",
    "ar-5-backoffice-tip",
    "ar-phone-questionnaire",
    "review-2-inbox",
    "review-3-tip-triaged-and-replied",
    "review-4-case",
}
taken: set[str] = set()
ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
TEXT = {
    "en": {
        "change": None,
        "checkin": "Check in",
        "reply": "Reply from the reviewers",
        "tip": "browser tip in en",
    },
    "ar": {
        "change": "تغيير",
        "checkin": "دخول",
        "reply": "ردّ من المراجعين",
        # Right-to-left text with a left-to-right address inside.
        "tip": f"حُوّلت الأموال إلى {ADDRESS} يوم الثلاثاء",
    },
}


@pytest.fixture(scope="module")
def stack():
    with running_stack() as stack:
        # A reward officer, as a deployment that pays rewards has: the questionnaire then asks
        # for a contact for the reward process, and the screenshots show it.
        stack.manage("rewardofficer", "alice")
        yield stack


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if os.environ.get("TIPLINE_DOCS_SCREENSHOTS") and name in DOCUMENTED:
        page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"), full_page=True)
        taken.add(name)


@pytest.fixture(scope="module", autouse=True)
def documented_screenshots_taken():
    """`make screenshots` (TIPLINE_DOCS_SCREENSHOTS=1) renews every screenshot the docs show
    from this module's journeys, or fails."""
    yield
    if os.environ.get("TIPLINE_DOCS_SCREENSHOTS"):
        assert taken == DOCUMENTED, DOCUMENTED - taken


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
    page.fill("textarea[name=message]", TEXT[language]["tip"])
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
    assert TEXT[language]["tip"] in text
    # The back office reads left to right; an answer takes its own direction from its text, and
    # an address inside an Arabic answer stays one unbroken run of characters.
    answer = page.locator("dd.message", has_text=TEXT[language]["tip"])
    direction = answer.evaluate("e => getComputedStyle(e).direction")
    assert direction == ("rtl" if language == "ar" else "ltr")
    if language == "ar":
        assert address_runs(answer, ADDRESS) == 1
    assert "APT-example" in text and "2024-03-31" in text and "I have documents or data" in text
    assert f"ledger-{language}.txt" in text and f"chat-log-{language}.txt" in text
    page.fill("textarea[name=message]", reply_text)
    page.click("form[action$='/reply/'] button")
    assert reply_text in page.inner_text("main")
    shoot(page, f"{language}-5-backoffice-tip")
    reviewer.close()


def address_runs(element, address: str) -> int:
    """On how many separate stretches of a line ``address`` is drawn inside ``element``: one
    when bidirectional text is laid out right, more when the surrounding script splits it."""
    return element.evaluate(
        """(e, address) => {
            const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                const at = node.data.indexOf(address);
                if (at < 0) continue;
                const range = document.createRange();
                range.setStart(node, at);
                range.setEnd(node, at + address.length);
                const rects = Array.from(range.getClientRects());
                const lines = new Set(rects.map(r => Math.round(r.top)));
                return rects.length - lines.size + 1;
            }
            return 0;
        }""",
        address,
    )


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


def test_a_reviewer_triages_replies_opens_a_case_and_exports_it(stack, browser, tmp_path):
    """The back office in the same browser, JavaScript off: a second reviewer signs in with a
    TOTP code, triages a fresh tip, replies, opens a case with it, writes a case note and
    exports the case to an investigator's key; the investigator opens the archive."""
    out = stack.manage(
        "createreviewer",
        "bruno",
        "--desk",
        "cyber",
        env={"TIPLINE_PASSWORD": REVIEWER_PASSWORD, "TIPLINE_KEY_PASSPHRASE": "bruno's passphrase"},
    )
    secret = re.search(r"secret=([A-Z2-7]+)", out).group(1)

    context, foreign = tipster_context(browser, stack, "en")
    page = context.new_page()
    page.goto(stack.public_url("/submit/cyber/"))
    page.fill("textarea[name=message]", "walkthrough tip: the exchange wallet was drained")
    evidence = tmp_path / "wallets.csv"
    evidence.write_text("wallet,amount\nbc1qexample,12\n")
    page.set_input_files("input[name=attachment]", [str(evidence)])
    page.click("form[enctype] button[type=submit]")
    assert page.locator(".codename").count() == 1, page.content()
    context.close()
    [(tip_id,)] = stack.sql("SELECT max(id) FROM tipline_tip")
    wait_for(
        lambda: stack.sql(f"SELECT 1 FROM tipline_tip WHERE id={tip_id} AND routed_at IS NOT NULL"),
        30,
        "routing",
    )

    reviewer = browser.new_context(java_script_enabled=False)
    seen = []
    reviewer.on("request", lambda r: seen.append(r.url))
    page = reviewer.new_page()
    page.goto(stack.backoffice_url("/"))
    assert "/login/" in page.url  # nothing without signing in
    page.fill("input[name=username]", "bruno")
    page.fill("input[name=password]", REVIEWER_PASSWORD)
    page.fill("input[name=otp_token]", format(totp(base64.b32decode(secret)), "06d"))
    shoot(page, "review-1-login")
    page.click("button[type=submit]")
    shoot(page, "review-2-inbox")
    assert f"/tips/{tip_id}/" in page.content()

    page.click(f"a[href='/tips/{tip_id}/']")
    page.fill("input[name=passphrase]", "bruno's passphrase")
    page.click("main button[type=submit]")
    assert "the exchange wallet was drained" in page.inner_text("main")
    assert "wallets.csv" in page.inner_text("main")

    page.select_option("select[name=status]", "investigating")
    page.select_option("select[name=priority]", "2")
    page.fill("input[name=tags]", "exchange-hack")
    page.select_option("select[name=assignee]", label="bruno")
    page.click("form.triage button[type=submit]")
    assert stack.sql(f"SELECT status, priority FROM tipline_tip WHERE id={tip_id}") == [
        ("investigating", 2)
    ]
    page.fill("textarea[name=message]", "Thank you. Do you know which exchange?")
    page.click("form[action$='/reply/'] button")
    assert "Do you know which exchange?" in page.inner_text("main")
    shoot(page, "review-3-tip-triaged-and-replied")

    page.fill("input[name=title]", "Exchange drain, spring")
    page.click("form[action$='/case/'] button:has-text('Open case')")
    assert "/cases/" in page.url
    case_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert "Exchange drain, spring" in page.inner_text("h1")
    page.fill("textarea[name=note]", "Linked to the March wallets.")
    page.click("form[action$='/notes/'] button")
    assert "Linked to the March wallets." in page.inner_text("main")
    shoot(page, "review-4-case")

    home = tmp_path / "investigator"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--homedir", str(home), "--passphrase", ""]
    subprocess.run(
        [*gpg, "--quick-gen-key", "Investigator <i@example.org>", "ed25519", "cert,sign", "0"],
        check=True,
        capture_output=True,
    )
    listing = subprocess.run(
        [*gpg, "--with-colons", "--list-keys"], check=True, capture_output=True
    )
    fpr = next(
        line.split(":")[9]
        for line in listing.stdout.decode().splitlines()
        if line.startswith("fpr")
    )
    subprocess.run(
        [*gpg, "--quick-add-key", fpr, "cv25519", "encr", "0"], check=True, capture_output=True
    )
    armored = subprocess.run([*gpg, "--armor", "--export", fpr], check=True, capture_output=True)
    page.fill("textarea[name=recipient_key]", armored.stdout.decode())
    with page.expect_download() as download_info:
        page.click("form[action$='/export/'] button")
    exported = Path(download_info.value.path()).read_bytes()
    shoot(page, "review-5-case-exported")
    plain = subprocess.run([*gpg, "--decrypt"], input=exported, check=True, capture_output=True)
    archive = zipfile.ZipFile(io.BytesIO(plain.stdout))
    prefix = f"case-{case_id}"
    assert archive.read(f"{prefix}/tips/{tip_id}/files/wallets.csv").startswith(b"wallet,amount")
    case_json = archive.read(f"{prefix}/case.json").decode()
    assert "Exchange drain, spring" in case_json and "Linked to the March wallets." in case_json
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)
    reviewer.close()

    assert foreign == []
    assert all(url.startswith(stack.backoffice_url("/")) for url in seen), seen
    actions = {row[0] for row in stack.sql("SELECT action FROM tipline_auditevent")}
    assert {
        "reviewer.login",
        "key.unlock",
        "tip.read",
        "tip.status",
        "tip.reply",
        "case.create",
        "case.note",
        "case.export",
    } <= actions
