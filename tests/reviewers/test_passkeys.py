"""Passkeys and security keys as the second factor: phishing-resistant, inside the login rules.

The ceremonies are answered by a software authenticator (tests/webauthn_authenticator.py) that
signs exactly as a browser with a security key would, for whatever origin it is told it is on.
"""

import json
import re

import pytest
from django.test import Client
from django_otp_webauthn.models import WebAuthnCredential

from reviewers import lockout
from tests.conftest import PASSWORD
from tests.reviewers.test_lockout import fresh_code
from tests.webauthn_authenticator import SoftAuthenticator
from tipline.models import AuditEvent, ReviewerProfile

ORIGIN = "http://testserver"


def post_json(client: Client, url: str, data: dict | None = None):
    return client.post(url, json.dumps(data or {}), content_type="application/json")


def register(client: Client, authenticator: SoftAuthenticator):
    """Register a passkey in ``client``'s (verified) session; return the complete response."""
    options = post_json(client, "/me/passkeys/register/begin/")
    assert options.status_code == 200, options.content
    return post_json(
        client, "/me/passkeys/register/complete/", authenticator.create(options.json())
    )


def password_step(client: Client, username: str, password: str = PASSWORD, code: str = ""):
    return client.post("/login/", {"username": username, "password": password, "otp_token": code})


def passkey_step(client: Client, authenticator: SoftAuthenticator, origin: str | None = None):
    options = post_json(client, "/login/passkey/begin/")
    if options.status_code != 200:
        return options
    return post_json(
        client, "/login/passkey/complete/", authenticator.get(options.json(), origin=origin)
    )


@pytest.fixture
def alice(make_reviewer, desk):
    return make_reviewer("alice", desks=[desk])


@pytest.fixture
def alice_key(alice, logged_in):
    """Alice with one registered passkey; returns her authenticator."""
    authenticator = SoftAuthenticator(ORIGIN)
    client = logged_in(alice)
    assert register(client, authenticator).status_code == 200
    client.post("/logout/")
    return authenticator


def test_only_a_session_verified_with_a_second_factor_registers_a_passkey(
    alice, backoffice, logged_in
):
    anonymous = Client()
    assert post_json(anonymous, "/me/passkeys/register/begin/").status_code in (401, 403)
    password_only = Client()
    password_only.force_login(alice.user)
    assert post_json(password_only, "/me/passkeys/register/begin/").status_code in (401, 403)
    assert not WebAuthnCredential.objects.exists()

    client = logged_in(alice)
    assert register(client, SoftAuthenticator(ORIGIN)).status_code == 200
    assert WebAuthnCredential.objects.get().user == alice.user
    assert AuditEvent.objects.filter(actor=alice.user, action="reviewer.passkey_added").exists()


def test_a_reviewer_logs_in_with_password_then_passkey(alice, alice_key):
    client = Client()
    response = password_step(client, "alice")
    assert response.status_code == 302 and response.url == "/login/passkey/"
    # The password alone opens nothing.
    assert client.get("/").status_code == 302
    assert client.get("/login/passkey/").status_code == 200

    response = passkey_step(client, alice_key)
    assert response.status_code == 200, response.content
    assert response.json()["redirect_url"] == "/"
    assert client.get("/").status_code == 200
    login = AuditEvent.objects.filter(actor=alice.user, action="reviewer.login").latest("pk")
    assert login.detail["factor"] == "passkey"
    assert WebAuthnCredential.objects.get().last_used_at is not None


def test_a_signature_made_for_another_site_is_refused(alice, alice_key):
    """A phishing page relaying the ceremony gets a signature bound to its own origin."""
    client = Client()
    password_step(client, "alice")
    response = passkey_step(client, alice_key, origin="https://review-example.phish")
    assert response.status_code >= 400
    assert client.get("/").status_code == 302


def test_a_signature_cannot_be_replayed(alice, alice_key):
    client = Client()
    password_step(client, "alice")
    options = post_json(client, "/login/passkey/begin/").json()
    assertion = alice_key.get(options)
    assert post_json(client, "/login/passkey/complete/", assertion).status_code == 200
    client.post("/logout/")

    attacker = Client()
    password_step(attacker, "alice")
    post_json(attacker, "/login/passkey/begin/")
    assert post_json(attacker, "/login/passkey/complete/", assertion).status_code >= 400
    assert attacker.get("/").status_code == 302


def test_another_reviewers_passkey_does_not_sign_for_alice(alice, alice_key, make_reviewer):
    bob = make_reviewer("bob")
    bob_key = SoftAuthenticator(ORIGIN)
    bob_client = Client()
    bob_client.post("/login/", {"username": "bob", "password": PASSWORD, "otp_token": bob.totp()})
    assert register(bob_client, bob_key).status_code == 200

    client = Client()
    password_step(client, "alice")
    options = post_json(client, "/login/passkey/begin/").json()
    # Bob's authenticator answers as if its credential were among Alice's.
    bob_id = next(iter(bob_key.credentials))
    from tests.webauthn_authenticator import b64url

    options["allowCredentials"] = [{"id": b64url(bob_id), "type": "public-key"}]
    response = post_json(client, "/login/passkey/complete/", bob_key.get(options))
    assert response.status_code >= 400
    assert client.get("/").status_code == 302


def test_the_passkey_step_needs_the_password_first(alice, alice_key):
    client = Client()
    assert post_json(client, "/login/passkey/begin/").status_code in (401, 403)
    assert post_json(client, "/login/passkey/complete/", {}).status_code in (401, 403)
    assert client.get("/login/passkey/").status_code == 302
    # A wrong password with an empty code is the usual refusal: no passkey step.
    response = password_step(client, "alice", password="wrong password")
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_an_empty_code_without_a_passkey_is_refused(alice, backoffice):
    client = Client()
    response = password_step(client, "alice")
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_failed_passkey_attempts_spend_the_login_budget(alice, alice_key, settings):
    """A password and a passkey make one login attempt; a failed passkey ends the session, so
    each new try goes through the password again."""
    settings.LOGIN_FAILURES = 3
    client = Client()
    for _ in range(3):
        assert password_step(client, "alice").status_code == 302
        response = passkey_step(client, alice_key, origin="https://wrong.example")
        assert response.status_code >= 400
        assert "_auth_user_id" not in client.session
        assert passkey_step(client, alice_key).status_code in (401, 403)
    assert AuditEvent.objects.filter(action="reviewer.locked_out").exists()
    # Locked: even the right password is refused, unchecked.
    assert password_step(client, "alice").status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_successful_passkey_login_restores_the_budget(alice, alice_key, settings):
    settings.LOGIN_FAILURES = 3
    client = Client()
    password_step(client, "alice", password="wrong password")
    password_step(client, "alice")
    assert passkey_step(client, alice_key).status_code == 200
    from reviewers.models import AttemptCounter

    assert not AttemptCounter.objects.filter(scope=lockout.LOGIN).exists()


def test_adding_a_passkey_ends_the_reviewers_other_sessions(alice, backoffice, logged_in):
    other = Client()
    other.post("/login/", {"username": "alice", "password": PASSWORD, "otp_token": alice.totp()})
    assert other.get("/").status_code == 200
    client = Client()
    client.post(
        "/login/", {"username": "alice", "password": PASSWORD, "otp_token": fresh_code(alice)}
    )
    assert register(client, SoftAuthenticator(ORIGIN)).status_code == 200
    assert other.get("/").status_code == 302
    assert client.get("/").status_code == 200


def test_removing_a_passkey_needs_the_password_and_is_audited(alice, alice_key, logged_in):
    client = Client()
    password_step(client, "alice")
    passkey_step(client, alice_key)
    other = Client()
    other.post(
        "/login/", {"username": "alice", "password": PASSWORD, "otp_token": fresh_code(alice)}
    )
    credential = WebAuthnCredential.objects.get()

    client.post(f"/me/passkeys/{credential.pk}/remove/", {"password": "wrong"})
    assert WebAuthnCredential.objects.filter(pk=credential.pk).exists()
    assert other.get("/").status_code == 200

    client.post(f"/me/passkeys/{credential.pk}/remove/", {"password": PASSWORD})
    assert not WebAuthnCredential.objects.exists()
    assert AuditEvent.objects.filter(actor=alice.user, action="reviewer.passkey_removed").exists()
    assert other.get("/").status_code == 302
    # The session the removed passkey signed ends too.
    assert client.get("/").status_code == 302


def test_removing_a_passkey_from_a_totp_session_keeps_that_session(alice, alice_key):
    client = Client()
    client.post(
        "/login/", {"username": "alice", "password": PASSWORD, "otp_token": fresh_code(alice)}
    )
    credential = WebAuthnCredential.objects.get()
    response = client.post(f"/me/passkeys/{credential.pk}/remove/", {"password": PASSWORD})
    assert response.status_code == 302 and response.url == "/me/passkeys/"
    assert not WebAuthnCredential.objects.exists()
    assert client.get("/").status_code == 200


def test_a_reviewer_cannot_remove_someone_elses_passkey(alice, alice_key, make_reviewer):
    bob = make_reviewer("bob")
    client = Client()
    client.post("/login/", {"username": "bob", "password": PASSWORD, "otp_token": bob.totp()})
    credential = WebAuthnCredential.objects.get()
    response = client.post(f"/me/passkeys/{credential.pk}/remove/", {"password": PASSWORD})
    assert response.status_code == 404
    assert WebAuthnCredential.objects.filter(pk=credential.pk).exists()


@pytest.mark.parametrize("how", ["profile", "setting"])
def test_when_passkeys_are_required_totp_only_leads_to_registering_one(
    alice, backoffice, settings, how
):
    if how == "profile":
        ReviewerProfile.objects.create(user=alice.user, require_passkey=True)
    else:
        settings.REQUIRE_PASSKEY = True
    client = Client()
    response = client.post(
        "/login/", {"username": "alice", "password": PASSWORD, "otp_token": alice.totp()}
    )
    assert response.status_code == 302
    for path in ("/", "/me/key/", "/stats/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302 and response.url == "/me/passkeys/", path
    assert client.get("/me/passkeys/").status_code == 200

    authenticator = SoftAuthenticator(ORIGIN)
    assert register(client, authenticator).status_code == 200
    # The session was opened with TOTP, which no longer signs this reviewer in.
    response = client.get("/")
    assert response.status_code == 302 and response.url == "/login/"
    assert "_auth_user_id" not in client.session
    response = client.post(
        "/login/", {"username": "alice", "password": PASSWORD, "otp_token": fresh_code(alice)}
    )
    assert response.status_code == 400
    assert b"leave the code empty" in response.content
    assert "_auth_user_id" not in client.session

    password_step(client, "alice")
    assert passkey_step(client, authenticator).status_code == 200
    assert client.get("/").status_code == 200


def test_an_admin_requires_a_passkey_of_a_reviewer(alice, make_reviewer, backoffice):
    admin = make_reviewer("admin", is_staff=True, is_superuser=True)
    client = Client()
    client.post("/login/", {"username": "admin", "password": PASSWORD, "otp_token": admin.totp()})
    response = client.post(
        "/admin/tipline/reviewerprofile/add/",
        {"user": alice.user.pk, "languages": "[]", "require_passkey": "on"},
    )
    assert response.status_code == 302, response.content
    assert ReviewerProfile.objects.get(user=alice.user).require_passkey
    assert AuditEvent.objects.filter(actor=admin.user, action__startswith="admin.").exists()


def test_the_passkey_page_runs_only_the_back_offices_own_scripts(alice, alice_key):
    client = Client()
    password_step(client, "alice")
    page = client.get("/login/passkey/").content.decode()
    scripts = re.findall(r"<script[^>]*src=\"([^\"]+)\"", page)
    assert scripts == ["/passkeys/i18n.js", "/static/django_otp_webauthn/otp_webauthn_auth.js"]
    config = json.loads(re.search(r'id="otp_webauthn_config"[^>]*>(.*?)</script>', page).group(1))
    assert all(
        url.startswith("/login/passkey/")
        for k, url in config.items()
        if k.endswith("Url") and "Authentication" in k
    )
    for script in scripts:
        assert client.get(script).status_code == 200


def test_a_two_factor_reset_removes_passkeys_too(alice, alice_key):
    """A lost phone may hold the passkey: the reset leaves no factor behind."""
    from reviewers.provisioning import reset_totp

    assert WebAuthnCredential.objects.filter(user=alice.user).exists()
    reset_totp("alice")
    assert not WebAuthnCredential.objects.filter(user=alice.user).exists()
    client = Client()
    assert password_step(client, "alice").status_code == 400
