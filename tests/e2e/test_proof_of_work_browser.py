"""Proof of work in a real browser (tipline/proof_of_work.py, static/js/work.js).

With JavaScript on, chromium works the questionnaire's ticket under the page's own Content
Security Policy and its tip is counted in the lane for tips with work; with JavaScript off,
as in Tor Browser at its Safest level, the same page sends the tip without work, and it is
taken all the same.
"""

import pytest

from tests.e2e.stack import running_stack

pytestmark = pytest.mark.e2e

# Small enough for a test, large enough that the script must really search (about 16,000
# hashes on average).
BITS = 14


@pytest.fixture(scope="module")
def stack():
    # No worker: these tests read the lanes' counts, not where the tips are routed.
    with running_stack(workers=0, env={"TIPLINE_POW_BITS": str(BITS)}) as stack:
        yield stack


def lanes(stack) -> dict[str, int]:
    rows = stack.sql("SELECT scope, SUM(count) FROM tipline_throttlewindow GROUP BY scope")
    return {scope: int(total) for scope, total in rows}


def spent_tickets(stack) -> int:
    return stack.sql("SELECT COUNT(*) FROM tipline_spentticket")[0][0]


def test_a_browser_with_javascript_works_the_ticket_and_takes_the_faster_lane(stack, browser):
    context = browser.new_context(java_script_enabled=True)
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    # The one resource a browser may fail to load is the icon it asks for unprompted.
    page.on(
        "response",
        lambda r: (
            problems.append(r.url)
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    before = lanes(stack)
    served = context.request.get(stack.public_url("/submit/cyber/")).text()
    assert "?ticket=" in served and "work=" not in served  # the server sends no answer
    page.goto(stack.public_url("/submit/cyber/"))
    form = "form[enctype]"
    assert page.get_attribute(form, "data-work-bits") == str(BITS)
    page.fill("textarea[name=message]", "a tip from a browser that runs scripts")
    # The search runs while the tipster writes; it ends with the number in the form's address.
    page.wait_for_function(
        "() => document.querySelector('form[enctype]').getAttribute('action').includes('work=')",
        timeout=60_000,
    )
    page.click(f"{form} button[type=submit]")
    page.wait_for_url("**/submit/cyber/?*work=*")
    page.locator(".codename").wait_for(timeout=60_000)
    context.close()
    assert problems == []  # no CSP violation, no script error
    after = lanes(stack)
    assert after.get("tips:work", 0) - before.get("tips:work", 0) == 1
    assert after.get("tips", 0) == before.get("tips", 0)
    assert spent_tickets(stack) == 1


def test_a_browser_without_javascript_sends_the_same_form_without_work(stack, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    before = lanes(stack)
    spent = spent_tickets(stack)
    page.goto(stack.public_url("/submit/cyber/"))
    page.fill("textarea[name=message]", "a tip from a browser at the Safest level")
    page.click("form[enctype] button[type=submit]")
    page.locator(".codename").wait_for(timeout=60_000)
    assert "work=" not in page.url
    context.close()
    after = lanes(stack)
    assert after.get("tips", 0) - before.get("tips", 0) == 1
    assert after.get("tips:work", 0) == before.get("tips:work", 0)
    assert spent_tickets(stack) == spent
