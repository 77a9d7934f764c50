"""Reach: every public page, in every language, light enough for a slow Tor circuit, accessible to
a screen reader and usable from the keyboard alone, in Debian's chromium.

- Accessibility: axe-core (bin/fetch-axe-core, pinned and checked against the npm registry's
  integrity) audits every public page in every language against WCAG 2.1 A and AA. The auditing
  context runs JavaScript and bypasses the site's CSP for the auditor only; the pages themselves
  carry no script.
- Weight: with JavaScript off, as in Tor Browser "Safest", everything a page makes the browser
  fetch stays under 60 KB, and nothing of it is a font or an image.
- Keyboard: a tipster sends a tip with answers and a file, comes back with the codename and sends
  more, with Tab, arrows, Space and Enter only, and sees where the focus is at every step.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.stack import ROOT, running_stack

pytestmark = [pytest.mark.e2e, pytest.mark.once]
LANGUAGES = ["en", "ar", "es", "fa", "fr", "ko", "ru", "zh-hans"]
DESKS = ["cyber", "crypto", "sanctions", "other", "demo"]
WEIGHT_BUDGET = 60_000  # bytes on the wire per page, everything it loads included
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def axe_script() -> str:
    fetched = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "fetch-axe-core")],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(fetched.stdout.strip()).read_text()


@pytest.fixture(scope="module")
def stack():
    with running_stack() as stack:
        yield stack


def in_language(context, stack, language: str) -> None:
    context.add_cookies(
        [{"name": "tipline_language", "value": language, "url": stack.public_url("/")}]
    )


def send_tip(page, stack, text: str) -> str:
    """Sends a tip to the cyber desk from the page's browser; returns the codename."""
    page.goto(stack.public_url("/submit/cyber/"))
    page.fill("textarea[name=message]", text)
    page.click("form[enctype] button[type=submit]")
    assert page.locator(".codename").count() == 1, page.content()
    return page.inner_text(".codename")


def check_in(page, stack, codename: str) -> None:
    page.goto(stack.public_url("/checkin/"))
    page.fill("input[name=codename]", codename)
    page.click("main button[type=submit]")
    assert page.url == stack.public_url("/tip/"), page.content()


def public_pages(page, stack, language: str):
    """Visits every public page, each in the state a tipster meets it; yields each page's name
    once the browser shows it."""
    page.goto(stack.public_url("/"))
    yield "home"
    for slug in DESKS:
        page.goto(stack.public_url(f"/submit/{slug}/"))
        yield f"questionnaire {slug}"
    page.click("form[enctype] button[type=submit]")  # nothing answered
    assert page.locator("[role=alert]").count() >= 1
    yield "questionnaire with errors"
    codename = send_tip(page, stack, f"a tip in {language}")
    yield "receipt"
    page.goto(stack.public_url("/checkin/"))
    yield "check-in"
    page.fill("input[name=codename]", "wrong words entirely here and there now")
    page.click("main button[type=submit]")
    yield "check-in refused"
    check_in(page, stack, codename)
    yield "tip status"
    page.fill("textarea[name=message]", f"more in {language}")
    page.click("form[action='/tip/followup/'] button[type=submit]")
    assert page.locator("[role=status]").count() == 1, page.content()
    yield "tip status after a follow-up"
    page.goto(stack.public_url("/no/such/page/"))
    yield "missing page"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_public_page_passes_a_wcag_21_aa_audit(stack, browser, axe_script, language):
    context = browser.new_context(java_script_enabled=True, bypass_csp=True)
    in_language(context, stack, language)
    page = context.new_page()
    failures = {}
    audited = []
    for name in public_pages(page, stack, language):
        assert page.get_attribute("html", "lang") == language, name
        page.add_script_tag(content=axe_script)
        result = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_21_AA
        )
        audited.append(name)
        found = [
            f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
            for v in result["violations"]
        ]
        if found:
            failures[name] = found
    context.close()
    assert len(audited) == 8 + len(DESKS)
    assert failures == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_public_page_weighs_under_60_kb_with_no_font_or_image(stack, browser, language):
    context = browser.new_context(java_script_enabled=False)
    in_language(context, stack, language)
    page = context.new_page()
    # Every page pays for its stylesheet, as on a first visit over a new Tor circuit.
    context.new_cdp_session(page).send("Network.setCacheDisabled", {"cacheDisabled": True})
    fetched = []
    page.on("request", lambda request: fetched.append(request))
    weights = {}
    for name in public_pages(page, stack, language):
        # What the last navigation made the browser fetch: the document and what it loads.
        page.wait_for_load_state("networkidle")
        navigations = [i for i, r in enumerate(fetched) if r.is_navigation_request()]
        assert navigations, (name, [r.url for r in fetched])
        navigation = navigations[-1]
        loaded, fetched[:] = fetched[navigation:], []
        kinds = {r.resource_type for r in loaded}
        assert kinds == {"document", "stylesheet"}, (name, kinds)
        sizes = [r.sizes() for r in loaded]
        weights[name] = sum(s["responseHeadersSize"] + s["responseBodySize"] for s in sizes)
    context.close()
    heavy = {name: weight for name, weight in weights.items() if weight >= WEIGHT_BUDGET}
    assert heavy == {}
    assert all(weight > 1000 for weight in weights.values()), weights  # something was counted


def test_the_stylesheet_fetches_no_font_and_no_image():
    css = (ROOT / "static" / "css" / "tipline.css").read_text()
    assert "@font-face" not in css and "url(" not in css and "@import" not in css


def choose(page, name: str, value: str) -> None:
    """Chooses an option of a radio group as a keyboard user does: Tab into the group (one stop),
    then the arrow keys, which move the focus and the choice together."""
    tab_to(page, f"input[name={name}]")
    page.keyboard.press("Space")
    for _ in range(10):
        if page.evaluate("() => document.activeElement.value") == value:
            assert page.is_checked(f"input[name={name}][value={value}]")
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"no option {value} in {name}")


def tab_to(page, selector: str, limit: int = 60, key: str = "Tab") -> list[str]:
    """Presses Tab until an element matching ``selector`` has the focus; every element the focus
    passed through must show where it is (a visible outline). Returns what it passed through."""
    target = page.locator(selector)
    assert target.count() >= 1, selector
    passed = []
    for _ in range(limit):
        page.keyboard.press(key)
        focused = page.evaluate(
            """() => {
                const e = document.activeElement;
                const style = getComputedStyle(e);
                return {
                    what: e.tagName + (e.name ? '[name=' + e.name + ']' : '')
                        + (e.getAttribute('href') ? '[href=' + e.getAttribute('href') + ']' : ''),
                    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
                };
            }"""
        )
        passed.append(focused["what"])
        assert focused["outline"], f"no visible focus on {focused['what']} after {passed}"
        if target.evaluate_all("all => all.includes(document.activeElement)"):
            return passed
    raise AssertionError(f"{selector} not reached with {key} after {passed}")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_tipster_completes_the_whole_flow_with_the_keyboard_alone(
    stack, browser, tmp_path, language
):
    context = browser.new_context(java_script_enabled=False)
    in_language(context, stack, language)
    page = context.new_page()
    keyboard = page.keyboard
    page.goto(stack.public_url("/"))

    tab_to(page, "a[href='/submit/cyber/']")
    keyboard.press("Enter")
    page.wait_for_url("**/submit/cyber/")
    tab_to(page, "textarea[name=message]")
    keyboard.type(f"keyboard tip in {language}")
    tab_to(page, "input[name=group]")
    keyboard.type("APT-keys")
    choose(page, "ongoing", "yes")
    choose(page, "how_known", "documents")
    evidence = tmp_path / f"evidence-{language}.txt"
    evidence.write_text("keyboard evidence")
    tab_to(page, "input[name=attachment]")
    with page.expect_file_chooser() as chooser:
        keyboard.press("Space")
    chooser.value.set_files(str(evidence))
    tab_to(page, "form[enctype] button[type=submit]")
    keyboard.press("Enter")
    page.wait_for_selector(".codename")
    codename = page.inner_text(".codename")
    assert len(codename.split()) == 7
    [(tip_id,)] = stack.sql("SELECT max(id) FROM tipline_tip")
    assert stack.sql(f"SELECT count(*) FROM tipline_attachment WHERE tip_id={tip_id}") == [(1,)]
    assert stack.sql(f"SELECT language FROM tipline_tip WHERE id={tip_id}") == [(language,)]

    # Coming back: the check-in link in the header, the codename, Enter.
    tab_to(page, "header a[href='/checkin/']")
    keyboard.press("Enter")
    page.wait_for_url("**/checkin/")
    tab_to(page, "input[name=codename]")
    keyboard.type(codename)
    keyboard.press("Enter")
    page.wait_for_url("**/tip/")
    tab_to(page, "textarea[name=message]")
    keyboard.type("sent from the keyboard")
    tab_to(page, "form[action='/tip/followup/'] button[type=submit]")
    keyboard.press("Enter")
    page.wait_for_selector("[role=status]")
    assert stack.sql(
        f"SELECT count(*) FROM tipline_message WHERE tip_id={tip_id} AND author='tipster'"
    ) == [(1,)]
    # And leaving, which forgets the session.
    tab_to(page, "form.checkout button")
    with page.expect_navigation():
        keyboard.press("Enter")
    page.goto(stack.public_url("/tip/"))
    assert page.url.endswith("/checkin/")
    context.close()
