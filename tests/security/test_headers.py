"""Every response of both sites carries the security headers, and every cookie is locked down.

Each site is driven through its pages by a client that records every response it gets: the
public site as a tipster (the questionnaire, the receipt with its codename, check-in, replies,
follow-ups, leaving) and as a stranger; the back office through every route of its URLconf,
described in test_backoffice_authz.ROUTES, as the desk's own reviewer and as an admin (password,
TOTP and an unlocked key), and anonymously. Error pages are provoked on purpose: 400 (a foreign
Host header, an oversized body, a bad form), 403 (CSRF), 404, 405, 413 (too many files), 429,
500 and 503. A route that none of these requests reaches fails the test.

Every response must then follow POLICY below. Everything runs twice: with TIPLINE_HTTPS on,
behind a TLS proxy (production), and off (plain HTTP on loopback, `bin/run`); the transport
settings are those tipline/settings.py derives from the variable.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import runpy
import zlib
from dataclasses import dataclass
from http.cookies import Morsel
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.test import Client
from django.urls import Resolver404, get_resolver, resolve

from reviewers import triage
from reviewers.tips import send_reply
from reviewers.unlock import PASSPHRASE
from tests.security.test_backoffice_authz import (
    PUBLIC_ROUTES,
    backoffice_routes,
    described_requests,
    log_in,
    walk,
    world,  # noqa: F401  (the back office's data, shared with the authorization matrix)
)
from tipline import settings as tipline_settings
from tipline import views as public_views
from tipline.models import Message, Tip
from tipline.tipster_session import REPLY_KEY

SETTINGS_FILE = Path(tipline_settings.__file__)
PUBLIC_URLCONF = tipline_settings.SITE_URLCONF["public"]
BACKOFFICE_URLCONF = tipline_settings.SITE_URLCONF["backoffice"]

# Browser features every page must refuse (tipline/middleware.py may deny more).
DENIED_FEATURES = ("camera", "microphone", "geolocation", "display-capture", "payment", "usb")
# The project's choice (tipline/settings.py): no-referrer makes browsers send "Origin: null",
# which Django's CSRF check refuses on every form.
REFERRER_POLICY = "same-origin"
HSTS_MIN_SECONDS = 365 * 24 * 3600


# --- The policy -------------------------------------------------------------------------------


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def csp_problems(response, site: str) -> list[str]:
    header = response.get("Content-Security-Policy")
    if not header:
        return ["no Content-Security-Policy (a Report-Only policy enforces nothing)"]
    csp = csp_directives(header)
    problems = []
    if csp.get("default-src") != ["'none'"]:
        problems.append(f"CSP default-src is {csp.get('default-src')}, not 'none'")
    if csp.get("frame-ancestors") != ["'none'"]:
        problems.append("CSP lacks frame-ancestors 'none'")
    if csp.get("base-uri") not in (["'none'"], ["'self'"]):
        problems.append("CSP lacks base-uri 'none'")
    if csp.get("form-action") != ["'self'"]:
        problems.append("CSP lacks form-action 'self'")
    for directive, sources in csp.items():
        loose = [s for s in sources if "unsafe-" in s or s == "*" or s.endswith(":")]
        if loose:
            problems.append(f"CSP {directive} allows {loose}")
    scripts = {d: s for d, s in csp.items() if d.startswith("script-src")}
    if site == "public" and scripts and not runs_the_work_script(response):
        problems.append(f"the public site allows scripts: {scripts}")
    for directive, sources in scripts.items():
        if not set(sources) <= {"'self'"}:
            problems.append(f"CSP {directive} allows more than 'self': {sources}")
    return problems


def runs_the_work_script(response) -> bool:
    """A questionnaire page may load its one optional script (tipline/proof_of_work.py), from
    the site itself; no other public page may run any."""
    path = response.wsgi_request.path if hasattr(response, "wsgi_request") else ""
    body = b"" if getattr(response, "streaming", False) else response.content
    return (
        path.startswith("/submit/")
        and b'<script src="/static/js/work.js" defer></script>' in body
        and body.count(b"<script") == 1
    )


def header_problems(response, https: bool) -> list[str]:
    problems = []
    frame_options = response.get("X-Frame-Options")
    if frame_options is not None and frame_options != "DENY":
        problems.append(f"X-Frame-Options is {frame_options}")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if response.get("Referrer-Policy") != REFERRER_POLICY:
        problems.append(f"Referrer-Policy is {response.get('Referrer-Policy')}")
    features = dict(
        item.strip().split("=", 1)
        for item in response.get("Permissions-Policy", "").split(",")
        if "=" in item
    )
    allowed = [name for name, allow in features.items() if allow != "()"]
    missing = [name for name in DENIED_FEATURES if features.get(name) != "()"]
    if allowed:
        problems.append(f"Permissions-Policy allows {allowed}")
    if missing:
        problems.append(f"Permissions-Policy does not deny {missing}")
    if response.get("Cross-Origin-Opener-Policy") != "same-origin":
        problems.append("no Cross-Origin-Opener-Policy: same-origin")
    cache = [d.strip().lower() for d in response.get("Cache-Control", "").split(",")]
    if "no-store" not in cache:
        problems.append(f"Cache-Control is {response.get('Cache-Control')!r}, not no-store")
    server = response.get("Server", "")
    if any(c.isdigit() for c in server) or response.has_header("X-Powered-By"):
        problems.append(f"names its software: {server or response['X-Powered-By']}")
    hsts = response.get("Strict-Transport-Security", "")
    if https and not hsts.startswith("max-age="):
        problems.append("no Strict-Transport-Security over HTTPS")
    if https and hsts and int(hsts.split(";")[0].split("=")[1]) < HSTS_MIN_SECONDS:
        problems.append(f"Strict-Transport-Security is short: {hsts}")
    if not https and hsts:
        problems.append("Strict-Transport-Security on a plain-HTTP deployment")
    return problems


def configured_samesite(name: str) -> str | None:
    """The SameSite the project sets for a cookie it knows, or None for an unknown cookie."""
    return {
        settings.SESSION_COOKIE_NAME: settings.SESSION_COOKIE_SAMESITE,
        settings.CSRF_COOKIE_NAME: settings.CSRF_COOKIE_SAMESITE,
        settings.LANGUAGE_COOKIE_NAME: settings.LANGUAGE_COOKIE_SAMESITE,
        # Sealed secrets (tipline/sealing.py): a tipster's reply key, a reviewer's passphrase.
        REPLY_KEY.cookie_name: "Strict",
        PASSPHRASE.cookie_name: "Strict",
    }.get(name)


def decodes_to_data(value: str) -> bool:
    """Whether a cookie value, or a part of it, is base64 (maybe zlib) of JSON: readable data."""
    for part in value.replace(":", ".").split("."):
        if len(part) < 8:
            continue
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            continue
        for candidate in (raw, _inflate(raw)):
            try:
                if isinstance(json.loads(candidate.decode()), dict | list | str):
                    return True
            except (UnicodeDecodeError, ValueError, AttributeError):
                pass
    return False


def _inflate(raw: bytes) -> bytes | None:
    try:
        return zlib.decompress(raw)
    except zlib.error:
        return None


def cookie_problems(morsel: Morsel, https: bool, secrets: list[str]) -> list[str]:
    """What is wrong with one Set-Cookie; ``secrets`` may never show in a cookie's value."""
    name, value = morsel.key, morsel.value
    samesite = configured_samesite(name)
    if samesite is None:
        return [f"sets a cookie this policy does not know: {name}"]
    problems = []
    if (morsel["samesite"] or "").lower() != samesite.lower():
        problems.append(f"cookie {name}: SameSite={morsel['samesite']}, not {samesite}")
    deleting = morsel["max-age"] == 0 or "1970" in str(morsel["expires"])
    if deleting:
        # Django's delete_cookie() sets neither HttpOnly nor Secure; an empty, expired value
        # carries nothing, and over HTTPS it still replaces the Secure cookie.
        if value:
            problems.append(f"cookie {name}: deleted but still carries {value!r}")
        return problems
    if not morsel["httponly"]:
        problems.append(f"cookie {name}: not HttpOnly")
    if bool(morsel["secure"]) != https:
        problems.append(f"cookie {name}: Secure={bool(morsel['secure'])} with HTTPS={https}")
    if morsel["max-age"] or morsel["expires"]:
        problems.append(f"cookie {name}: outlives the browser session (evidence of a visit)")
    if name == settings.LANGUAGE_COOKIE_NAME:
        # The one readable value: the language the visitor picked, which every page shows.
        if value not in {code for code, _name in settings.LANGUAGES}:
            problems.append(f"cookie {name}: {value!r} is not a language code")
    elif decodes_to_data(value) or any(secret in value for secret in secrets):
        problems.append(f"cookie {name}: not opaque, its value can be read: {value[:40]}...")
    return problems


def policy_problems(response, site: str, https: bool, secrets: list[str]) -> list[str]:
    problems = csp_problems(response, site) + header_problems(response, https)
    for morsel in response.cookies.values():
        problems += cookie_problems(morsel, https, secrets)
    return problems


# --- Driving the sites ------------------------------------------------------------------------


class RecordingClient(Client):
    """A test client that keeps every response it receives, redirects followed included."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.responses = []

    def request(self, **request):
        response = super().request(**request)
        if response.streaming:  # read it now: gpg behind it must finish
            response.content_read = b"".join(response.streaming_content)
        self.responses.append(response)
        return response


@dataclass
class Transport:
    https: bool

    def client(self) -> RecordingClient:
        """A browser: CSRF enforced, a Host header, and an Origin on every request as browsers
        send on POST (the first middleware strips Referer, so over HTTPS CSRF rests on Origin)."""
        scheme = "https" if self.https else "http"
        proxy = {"HTTP_X_FORWARDED_PROTO": "https"} if self.https else {}
        return RecordingClient(
            enforce_csrf_checks=True,
            HTTP_HOST="testserver",
            HTTP_ORIGIN=f"{scheme}://testserver",
            **proxy,
        )


def transport_settings(https: bool) -> dict:
    """What tipline/settings.py derives from TIPLINE_HTTPS (behind a TLS proxy when on)."""
    flags = {"TIPLINE_HTTPS": str(https).lower(), "TIPLINE_BEHIND_TLS_PROXY": str(https).lower()}
    with mock.patch.dict(os.environ, flags):
        values = runpy.run_path(str(SETTINGS_FILE))
    chosen = {k: v for k, v in values.items() if k.isupper() and ("SECURE" in k or k == "HTTPS")}
    chosen.setdefault("SECURE_PROXY_SSL_HEADER", None)
    return chosen


@pytest.fixture(params=[True, False], ids=["https", "plain-http"])
def transport(request, settings) -> Transport:
    for name, value in transport_settings(request.param).items():
        setattr(settings, name, value)
    return Transport(https=request.param)


def csrf_token(client: Client, page: str) -> str:
    if settings.CSRF_COOKIE_NAME not in client.cookies:
        client.get(page)
    return client.cookies[settings.CSRF_COOKIE_NAME].value


def files(*names: str) -> list[io.BytesIO]:
    uploads = []
    for name in names:
        upload = io.BytesIO(b"header test file")
        upload.name = name
        uploads.append(upload)
    return uploads


def route_key(path: str, urlconf: str) -> str | None:
    try:
        match = resolve(path.split("?")[0], urlconf=urlconf)
    except Resolver404:
        return None
    return match.view_name if match.url_name else match.route


def judge(clients: list[RecordingClient], site: str, https: bool, secrets: list[str]):
    """Every recorded response follows the policy; returns the responses."""
    responses = [response for client in clients for response in client.responses]
    problems = []
    for response in responses:
        request = response.wsgi_request
        for problem in policy_problems(response, site, https, secrets):
            problems.append(f"{request.method} {request.path} {response.status_code}: {problem}")
    assert not problems, "\n".join(dict.fromkeys(problems))
    return responses


def assert_every_route_requested(responses, urlconf: str) -> None:
    routes = {key for key, _ in walk(get_resolver(urlconf).url_patterns)}
    seen = {route_key(r.wsgi_request.path, urlconf) for r in responses}
    assert not routes - seen, (
        f"Routes this test never requested: {sorted(routes - seen)}. Request each in "
        "tests/security/test_headers.py (the back office's come from test_backoffice_authz)."
    )


# --- The public site --------------------------------------------------------------------------


@pytest.fixture
def alice(public_site, desk, make_reviewer):
    return make_reviewer("alice", desks=[desk], key="alice")


def visit_as_tipster(client: Client, alice, settings) -> str:
    """A tipster's whole journey; returns the codename."""
    token = csrf_token(client, "/")
    assert client.get("/submit/cyber/").status_code == 200
    receipt = client.post("/submit/cyber/", {"message": "a tip", "csrfmiddlewaretoken": token})
    assert receipt.status_code == 200
    codename = receipt.context["codename"]
    form = {"csrfmiddlewaretoken": token}
    assert client.post("/submit/cyber/", {**form, "message": ""}).status_code == 400
    assert client.post("/submit/cyber/", {"message": "no token"}).status_code == 403
    with mock.patch.object(settings, "MAX_FILES", 1):
        too_many = {**form, "message": "x", "attachment": files("a.txt", "b.txt")}
        assert client.post("/submit/cyber/", too_many).status_code == 413
    assert client.post("/submit/sanctions/", {**form, "message": "x"}).status_code == 503
    assert client.get("/submit/no-such-desk/").status_code == 404
    assert client.put("/submit/cyber/").status_code == 405

    assert client.get("/checkin/").status_code == 200
    wrong = {**form, "codename": "abacus " * 7}
    assert client.post("/checkin/", wrong).status_code == 400
    assert client.post("/checkin/", {**form, "codename": codename}).status_code == 302
    send_reply(alice.user, Tip.objects.get(), "a reply")
    assert client.get("/tip/").status_code == 200
    followup = {**form, "message": "more"}
    assert client.post("/tip/followup/", followup).status_code == 302
    assert client.get("/tip/").status_code == 200  # "your message was sent"
    assert client.get("/tip/receipt/").status_code == 200  # the signed receipt, a download
    assert client.post("/tip/followup/", {**form, "message": ""}).status_code == 400
    with mock.patch.object(settings, "MAX_FILES", 1):
        too_many = {**followup, "attachment": files("a.txt", "b.txt")}
        assert client.post("/tip/followup/", too_many).status_code == 413
    assert client.get("/tip/followup/").status_code == 405
    reply = Message.objects.get(author=Message.Author.REVIEWER)
    assert client.post(f"/tip/replies/{reply.pk}/delete/", form).status_code == 302

    assert client.post("/i18n/setlang/", {**form, "language": "ar", "next": "/"}).status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/tip/checkout/").status_code == 405
    assert client.post("/tip/checkout/", form).status_code == 302
    assert client.get("/tip/")["Location"] == "/checkin/"
    return codename


def visit_as_stranger(client: Client, codename: str, alice, settings, monkeypatch) -> None:
    token = csrf_token(client, "/checkin/")
    assert client.get("/metadata.json").status_code == 200
    assert client.post("/metadata.json", {"csrfmiddlewaretoken": token}).status_code == 405
    assert client.get("/health/").status_code in (200, 503)
    assert client.get("/organization-key.asc").status_code == 404
    assert client.get("/receipt-key.asc").status_code == 200  # the tipster's tip made one
    assert client.get("/tip/receipt/").status_code == 302  # no session: to the check-in
    key_file = Path(settings.DATA_DIR) / f"header-test-{os.getpid()}.asc"
    key_file.write_text(alice.key.armored)
    try:
        with mock.patch.object(settings, "ORGANIZATION_KEY_FILE", str(key_file)):
            assert client.get("/organization-key.asc").status_code == 200
    finally:
        key_file.unlink()
    assert client.get("/i18n/setlang/").status_code == 302
    for path in ("/tip/followup/", "/tip/replies/1/delete/"):
        assert client.post(path, {"csrfmiddlewaretoken": token}).status_code == 302
    with mock.patch.object(settings, "CHECKINS_PER_MINUTE", 0):
        checkin = {"codename": codename, "csrfmiddlewaretoken": token}
        assert client.post("/checkin/", checkin).status_code == 429
    provoke_errors(client, token, "/checkin/", settings)
    monkeypatch.setattr(public_views, "get_language", mock.Mock(side_effect=RuntimeError))
    client.raise_request_exception = False
    assert client.get("/").status_code == 500


def provoke_errors(client: Client, token: str, form_page: str, settings) -> None:
    """404, an APPEND_SLASH redirect, and the 400s Django itself answers."""
    assert client.get("/nowhere/").status_code == 404
    assert client.get(form_page.rstrip("/")).status_code == 301
    assert client.get(form_page, HTTP_HOST="attacker.example").status_code == 400
    with mock.patch.object(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", 100):
        big = {"csrfmiddlewaretoken": token, "padding": "x" * 200}
        assert client.post(form_page, big).status_code == 400


def test_it_answers_every_public_request_by_the_policy(transport, alice, settings, monkeypatch):
    tipster, stranger = transport.client(), transport.client()
    codename = visit_as_tipster(tipster, alice, settings)
    visit_as_stranger(stranger, codename, alice, settings, monkeypatch)
    secrets = [codename, codename.replace(" ", ""), codename.replace(" ", "+")]
    responses = judge([tipster, stranger], "public", transport.https, secrets)
    assert_every_route_requested(responses, PUBLIC_URLCONF)
    statuses = {response.status_code for response in responses}
    assert {400, 403, 404, 405, 413, 429, 500, 503} <= statuses
    cookies = {name for response in responses for name in response.cookies}
    assert {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME} <= cookies
    assert {settings.LANGUAGE_COOKIE_NAME, REPLY_KEY.cookie_name} <= cookies


# --- The back office --------------------------------------------------------------------------


def test_it_answers_every_back_office_request_by_the_policy(
    transport,
    world,  # noqa: F811  (the fixture imported above)
    settings,
    monkeypatch,
):
    desk_reviewer, admin, anonymous = transport.client(), transport.client(), transport.client()
    for request in described_requests():
        request.send(anonymous, world, None)
    log_in(desk_reviewer, world.alice)
    log_in(admin, world.root)
    for client, me in ((desk_reviewer, world.alice), (admin, world.root)):
        for request in described_requests():
            request.send(client, world, me)
    token = csrf_token(desk_reviewer, "/login/")
    assert desk_reviewer.post("/me/away/").status_code == 403  # no CSRF token
    assert desk_reviewer.get("/logout/").status_code == 405
    provoke_errors(desk_reviewer, token, "/login/", settings)
    monkeypatch.setattr(triage, "inbox", mock.Mock(side_effect=RuntimeError))
    desk_reviewer.raise_request_exception = False
    assert desk_reviewer.get("/").status_code == 500
    probes = []
    for key, _ in backoffice_routes():
        if key in PUBLIC_ROUTES:
            probes.append(transport.client())
            PUBLIC_ROUTES[key].probe(probes[-1], world)
    secrets = [world.alice.user.username, world.alice.key.passphrase, world.invitation_token]
    clients = [anonymous, desk_reviewer, admin, *probes]
    responses = judge(clients, "backoffice", transport.https, secrets)
    assert_every_route_requested(responses, BACKOFFICE_URLCONF)
    assert {400, 403, 404, 405, 500} <= {response.status_code for response in responses}
    cookies = {name for response in responses for name in response.cookies}
    assert {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME} <= cookies
    assert PASSPHRASE.cookie_name in cookies


# --- The policy itself notices what it must ---------------------------------------------------


def test_it_notices_a_site_without_its_content_security_policy(public_site, settings, desk):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "csp.middleware.CSPMiddleware"]
    response = Client().get("/")
    assert response.status_code == 200
    assert csp_problems(response, "public")


def test_it_notices_a_script_on_the_public_site(public_site, settings, desk):
    policy = {"DIRECTIVES": {**settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]}}
    policy["DIRECTIVES"]["script-src"] = ["'self'"]
    settings.CONTENT_SECURITY_POLICY = policy
    assert "the public site allows scripts" in "".join(csp_problems(Client().get("/"), "public"))


def test_it_lets_only_a_questionnaire_with_its_work_script_allow_a_script(
    public_site, settings, desk
):
    settings.POW_BITS = 8
    questionnaire = Client().get(f"/submit/{desk.slug}/")
    assert runs_the_work_script(questionnaire)
    assert not csp_problems(questionnaire, "public")
    # With proof of work off the page loads no script, so a policy that allows one is wrong.
    settings.POW_BITS = 0
    policy = {"DIRECTIVES": {**settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]}}
    policy["DIRECTIVES"]["script-src"] = ["'self'"]
    settings.CONTENT_SECURITY_POLICY = policy
    plain = Client().get(f"/submit/{desk.slug}/")
    assert "the public site allows scripts" in "".join(csp_problems(plain, "public"))


def test_it_reads_a_signed_cookie_as_data_and_a_random_token_as_opaque():
    from django.core import signing

    assert decodes_to_data(signing.dumps({"tipline_tip": 7}))
    assert decodes_to_data(signing.dumps({"tipline_tip": 7, "pad": "x" * 200}, compress=True))
    assert not decodes_to_data(base64.urlsafe_b64encode(os.urandom(60)).decode())
    assert not decodes_to_data("k3v9QJm2ZP0xWq8LrT5aYc1NbE7hD4sF")  # a CSRF secret
