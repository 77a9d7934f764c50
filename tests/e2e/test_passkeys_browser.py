"""A reviewer registers a security key and logs in with it, in a real browser.

Debian's chromium, driven by Playwright, with Chromium's virtual authenticator (DevTools'
WebAuthn domain) standing in for a USB security key: the library's scripts run under the back
office's Content-Security-Policy, the browser makes the real WebAuthn calls, and the back office
checks real signatures. The back office is reached as ``localhost``: WebAuthn binds credentials
to a domain, never to an IP address.
"""

from __future__ import annotations

import pytest

from tests.e2e.stack import REVIEWER_PASSWORD, running_stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.once]


@pytest.fixture(scope="module")
def stack():
    with running_stack() as stack:
        yield stack


def test_a_reviewer_registers_a_security_key_and_logs_in_with_it(stack, browser):
    origin = f"http://localhost:{stack.backoffice_port}"
    context = browser.new_context()
    problems = []
    context.on(
        "request",
        lambda r: None if r.url.startswith(origin) else problems.append(f"request {r.url}"),
    )
    page = context.new_page()

    def console(message) -> None:
        # The browser asks for /favicon.ico by itself; the back office has none.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            problems.append(f"console {message.text} {message.location}")

    page.on("console", console)
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    page.on("dialog", lambda d: problems.append(f"dialog {d.message}") or d.dismiss())
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    authenticator = devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": False,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )["authenticatorId"]

    page.goto(f"{origin}/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", REVIEWER_PASSWORD)
    page.fill("input[name=otp_token]", stack.current_totp())
    page.click("main button[type=submit]")
    page.goto(f"{origin}/me/passkeys/")
    page.click("#passkey-register-button")
    wait_for(
        lambda: stack.sql("SELECT count(*) FROM django_otp_webauthn_webauthncredential")[0][0],
        20,
        "the credential to be stored",
    )
    credentials = devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(credentials["credentials"]) == 1
    page.reload()
    assert "You have no passkey yet" not in page.inner_text("main")
    page.click("form[action$='/logout/'] button")

    # Password, no code: the key signs the rest of the login.
    page.goto(f"{origin}/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", REVIEWER_PASSWORD)
    page.click("main button[type=submit]")
    assert page.url == f"{origin}/login/passkey/"
    page.click("#passkey-verification-button")
    page.wait_for_url(f"{origin}/", timeout=20_000)
    assert page.locator("nav").count() == 1  # a verified session's navigation
    sign_count = devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert sign_count["credentials"][0]["signCount"] >= 1
    events = stack.sql(
        "SELECT detail FROM tipline_auditevent WHERE action = 'reviewer.login' ORDER BY id"
    )
    assert "passkey" in str(events[-1][0])
    assert not problems, problems
    context.close()
