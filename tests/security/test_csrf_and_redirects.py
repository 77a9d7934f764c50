"""Every state-changing request needs its CSRF token, and no `next` leads off the site.

The back office's POST routes come from the authorization matrix (itself generated from the
URLconf), so a new route is covered here too. Each is sent by the desk's own reviewer, signed
in with an unlocked key, once without a token and once with a token from another session: both
must be refused and change nothing. The public site's forms are covered by the fuzz suite
(tests/security/test_fuzz_public.py) and tests/tipline/test_submit.py.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from tests.security.test_backoffice_authz import (
    PUBLIC_ROUTES,
    backoffice_routes,
    build_path,
    csrf_token,
    described_requests,
    snapshot,
    visit_as,
    world,  # noqa: F401  (a fixture)
)
from tests.webauthn_authenticator import SoftAuthenticator

EVIL = [
    "//evil.example/",
    "https://evil.example/",
    "http://evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "/%2F%2Fevil.example",
    " //evil.example",
]


def posts():
    return [r for r in described_requests() if r.method == "POST"]


def test_the_table_has_post_routes_to_try():
    assert len(posts()) >= 15


def test_every_back_office_post_needs_this_sessions_csrf_token(world):  # noqa: F811
    client, me = visit_as("desk_reviewer", world)
    other, _ = visit_as("other_desk", world)
    foreign_token = csrf_token(other)
    before = snapshot(world)
    problems = []
    for request in posts():
        request.path = build_path(request.pattern, request.route.kwargs(world))
        form = request.route.data(world, me)
        for token in (None, foreign_token):
            data = dict(form) if token is None else {**form, "csrfmiddlewaretoken": token}
            response = client.post(request.path, data)
            if response.status_code != 403:
                problems.append(f"{request} with token {token!r}: {response.status_code}")
    assert not problems, problems
    assert snapshot(world) == before
    # The same session is still signed in: the refusals were CSRF's, not a lost session.
    assert client.get("/").status_code == 200


def test_public_back_office_posts_need_the_token_too(world):  # noqa: F811
    client = Client(enforce_csrf_checks=True)
    for key, pattern in backoffice_routes():
        if key not in PUBLIC_ROUTES or "<" in pattern:
            continue
        response = client.post(build_path(pattern, {}), {})
        assert response.status_code in (403, 405), (key, response.status_code)


@pytest.mark.parametrize("target", EVIL)
def test_the_login_never_sends_a_reviewer_off_the_site(world, target):  # noqa: F811
    alice = world.alice
    client = Client()
    response = client.post(
        f"/login/?next={target}",
        {"username": "alice", "password": PASSWORD, "otp_token": alice.totp()},
    )
    assert response.status_code == 302
    assert response["Location"] == "/", response["Location"]
    response = Client().get(f"/login/?next={target}")
    assert target.strip() not in response.content.decode().split('name="next" value="')[1][:60]


@pytest.mark.parametrize("target", EVIL[:3])
def test_the_passkey_step_never_sends_a_reviewer_off_the_site(world, target, logged_in):  # noqa: F811
    alice = world.alice
    authenticator = SoftAuthenticator("http://testserver")
    client = logged_in(alice)
    options = client.post("/me/passkeys/register/begin/", "{}", "application/json").json()
    client.post(
        "/me/passkeys/register/complete/",
        json.dumps(authenticator.create(options)),
        "application/json",
    )
    client.post("/logout/")
    client.post(
        f"/login/?next={target}",
        {"username": "alice", "password": PASSWORD, "otp_token": ""},
    )
    options = client.post("/login/passkey/begin/", "{}", "application/json").json()
    response = client.post(
        f"/login/passkey/complete/?next={target}",
        json.dumps(authenticator.get(options)),
        "application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["redirect_url"] == "/"
