"""Invitations, offline keys, and disabling or resetting a reviewer from the admin.

The invitee's side always goes through the Django test client as a browser would: the link from
the admin's page, the QR code's secret read off the page, the codes computed from it.
"""

import hashlib
import io
import re
import shutil
import subprocess
from base64 import b32decode
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from reviewers import invitations
from reviewers.models import Invitation
from reviewers.provisioning import ProvisioningError
from tests.conftest import PASSWORD, short_tempdir
from tipline import crypto, routing, submissions
from tipline.models import AuditEvent, ReviewerKey, ReviewerProfile

ADD_URL = "/admin/reviewers/invitation/add/"
ACCOUNTS_URL = "/admin/reviewers/revieweraccount/"
LINK = re.compile(r"http://testserver(/invite/([A-Za-z0-9_-]{40,})/)")
NEW_PASSWORD = "dana's long login password"
PASSPHRASE = "dana's separate key passphrase"


@pytest.fixture
def admin_reviewer(make_reviewer, desk):
    """An admin who is on the desk invitations are for (only members may invite onto a desk)."""
    return make_reviewer("root", desks=[desk], key="bob", is_staff=True, is_superuser=True)


@pytest.fixture
def offline_key():
    """A key pair made on the reviewer's own machine: the server only ever sees its public half."""
    home = short_tempdir()

    def gpg(*args):
        return subprocess.run(
            ["gpg", "--batch", "--homedir", str(home), "--passphrase", "", *args],
            capture_output=True,
            check=True,
        ).stdout.decode()

    gpg("--quick-gen-key", "Dana offline <d@example.org>", "ed25519", "cert,sign", "0")
    fingerprint = next(
        line.split(":")[9]
        for line in gpg("--with-colons", "--list-keys").splitlines()
        if line.startswith("fpr:")
    )
    gpg("--quick-add-key", fingerprint, "cv25519", "encr", "0")
    key = {
        "fingerprint": fingerprint,
        "public": gpg("--armor", "--export", fingerprint),
        "secret": gpg("--armor", "--export-secret-keys", fingerprint),
        "decrypt": lambda data: (
            subprocess.run(
                ["gpg", "--batch", "--homedir", str(home), "--decrypt"],
                input=data,
                capture_output=True,
                check=True,
            ).stdout
        ),
    }
    yield key
    crypto.stop_agent(home)
    shutil.rmtree(home, ignore_errors=True)


def invite(client, username="dana", email="", desks=()):
    """Create an invitation on the admin page; return the token from the link shown once."""
    response = client.post(
        ADD_URL, {"username": username, "email": email, "desks": [d.pk for d in desks]}
    )
    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    [(_path, token)] = LINK.findall(response.content.decode())
    return token


def code(secret: str, drift: int = 0) -> str:
    return format(totp(b32decode(secret.replace(" ", "")), drift=drift), "06d")


def confirm_authenticator(browser, token) -> tuple[str, str]:
    """Scan the QR code (read its secret off the page) and confirm a code; return both."""
    page = browser.get(f"/invite/{token}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and "otpauth://totp/" in html
    secret = page.context["secret"]
    assert secret in html
    confirmation = code(secret)
    response = browser.post(f"/invite/{token}/", {"code": confirmation})
    assert response.status_code == 302, response.content
    return secret, confirmation


def account(key="server", **fields):
    data = {
        "password": NEW_PASSWORD,
        "password_again": NEW_PASSWORD,
        "key": key,
        "passphrase": PASSPHRASE if key == "server" else "",
        "passphrase_again": PASSPHRASE if key == "server" else "",
        "public_key": "",
    }
    data.update(fields)
    return data


def log_in(browser, username, password, otp):
    return browser.post("/login/", {"username": username, "password": password, "otp_token": otp})


def nothing_created(username="dana"):
    return (
        not (
            ReviewerKey.objects.filter(user__username=username).exists()
            or TOTPDevice.objects.filter(user__username=username).exists()
            or ReviewerProfile.objects.filter(user__username=username).exists()
            or AuditEvent.objects.filter(action="reviewer.create").exists()
        )
        and not Invitation.objects.filter(used_at__isnull=False).exists()
    )


def not_found_page(browser):
    response = browser.get("/invite/" + "x" * 43 + "/")
    assert response.status_code == 404
    return response.content


# --- Inviting a reviewer -------------------------------------------------------------------


def test_it_invites_a_reviewer_who_keeps_their_key_on_the_server(
    backoffice, settings, desk, admin_reviewer, logged_in
):
    token = invite(logged_in(admin_reviewer), email="dana@example.org", desks=[desk])
    [message] = mail.outbox
    assert message.to == ["dana@example.org"]
    assert f"http://testserver/invite/{token}/" in message.body
    for text in (desk.slug, desk.name, "dana"):
        assert text not in message.body and text not in message.subject

    browser = Client()
    secret, confirmation = confirm_authenticator(browser, token)
    response = browser.post(f"/invite/{token}/", account())
    assert response.status_code == 200, response.content
    assert b"Your account is ready" in response.content

    key = ReviewerKey.objects.get(user__username="dana")
    user = key.user
    assert list(user.desks.values_list("slug", flat=True)) == [desk.slug]
    assert user.email == "dana@example.org" and not user.is_staff
    assert ReviewerProfile.objects.filter(user=user).exists()
    assert crypto.holds_secret_key(key.fingerprint)
    crypto.check_passphrase(key.fingerprint, PASSPHRASE)
    with pytest.raises(crypto.BadPassphraseError):
        crypto.check_passphrase(key.fingerprint, NEW_PASSWORD)
    # The code that confirmed the authenticator cannot be replayed; the next one logs in. (The
    # replay counts as a failure: without throttling the next attempt is judged on its own.)
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    assert log_in(browser, "dana", NEW_PASSWORD, confirmation).status_code == 400
    assert log_in(browser, "dana", NEW_PASSWORD, code(secret, drift=1)).status_code == 302
    assert browser.get("/").status_code == 200

    invitation = Invitation.objects.get()
    created = AuditEvent.objects.get(action="invitation.create")
    assert created.actor == admin_reviewer.user
    assert created.detail["desks"] == [desk.slug]
    assert AuditEvent.objects.get(action="reviewer.create").detail["invitation"] == invitation.pk


def test_it_invites_a_reviewer_who_decrypts_offline(
    backoffice, settings, desk, admin_reviewer, logged_in, offline_key
):
    token = invite(logged_in(admin_reviewer), desks=[desk])
    browser = Client()
    confirm_authenticator(browser, token)
    response = browser.post(
        f"/invite/{token}/", account("offline", public_key=offline_key["public"])
    )
    assert response.status_code == 200, response.content

    key = ReviewerKey.objects.get(user__username="dana")
    assert key.fingerprint == offline_key["fingerprint"]
    assert not crypto.holds_secret_key(key.fingerprint)
    assert AuditEvent.objects.get(action="reviewer.create").detail["offline_key"] is True

    # A tip to the desk is encrypted to that key (and the inviting admin's, a member of the
    # desk), and routing gives it to the newcomer while the admin is away.
    ReviewerProfile.objects.update_or_create(user=admin_reviewer.user, defaults={"is_away": True})
    settings.CODENAME_PEPPER = "pepper for tests"
    receipt = submissions.submit_tip(
        desk,
        [{"key": "message", "label": "Message", "value": "canary-offline-9Zq"}],
        [],
        "en",
        desk.recipient_keys(),
    )
    tip = desk.tips.get(pk=receipt.tip_id)
    assert tip.recipients == sorted([offline_key["fingerprint"], admin_reviewer.key.fingerprint])
    assert b"canary-offline-9Zq" in offline_key["decrypt"](bytes(tip.envelope))
    assert routing.route(tip.pk)
    tip.refresh_from_db()
    assert tip.assignee == key.user


def test_a_token_works_once_and_a_used_one_looks_like_an_unknown_one(
    backoffice, desk, admin_reviewer, logged_in
):
    token = invite(logged_in(admin_reviewer), desks=[desk])
    browser = Client()
    confirm_authenticator(browser, token)
    assert browser.post(f"/invite/{token}/", account()).status_code == 200
    for again in (browser, Client()):
        response = again.get(f"/invite/{token}/")
        assert response.status_code == 404
        assert response.content == not_found_page(again)
        assert again.post(f"/invite/{token}/", account()).status_code == 404
    assert ReviewerKey.objects.filter(user__username="dana").count() == 1


def test_an_invitation_used_by_a_racing_request_creates_nothing(
    backoffice, desk, admin_reviewer, settings
):
    issued = invitations.invite_reviewer(admin_reviewer.user, "dana", "", [desk])
    found = invitations.find(issued.token)
    assert found == issued.invitation
    assert Invitation.objects.get(pk=found.pk).claim()  # another request used it meanwhile
    assert not Invitation.objects.get(pk=found.pk).claim()
    homes = set(settings.REVIEWER_GNUPG_ROOT.iterdir())
    device = invitations.authenticator_for(found, issued.token)
    with pytest.raises(ProvisioningError, match="no longer valid"):
        invitations.accept(found, device, NEW_PASSWORD, passphrase=PASSPHRASE)
    assert not ReviewerKey.objects.filter(user__username="dana").exists()
    assert set(settings.REVIEWER_GNUPG_ROOT.iterdir()) == homes  # the new key was discarded


def test_an_expired_or_revoked_token_is_refused_like_an_unknown_one(
    backoffice, desk, admin_reviewer, settings, monkeypatch
):
    settings.INVITATION_HOURS = 2
    issued = invitations.invite_reviewer(admin_reviewer.user, "dana", "", [desk])
    assert issued.invitation.expires_at == issued.invitation.created_at + timedelta(hours=2)
    browser = Client()
    unknown = not_found_page(browser)
    start = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(hours=1, minutes=59))
    assert browser.get(f"/invite/{issued.token}/").status_code == 200
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(hours=2, seconds=1))
    response = browser.get(f"/invite/{issued.token}/")
    assert response.status_code == 404 and response.content == unknown
    device = invitations.authenticator_for(issued.invitation, issued.token)
    with pytest.raises(ProvisioningError):
        invitations.accept(issued.invitation, device, NEW_PASSWORD, passphrase=PASSPHRASE)
    assert nothing_created()

    monkeypatch.undo()
    second = invitations.invite_reviewer(admin_reviewer.user, "erin", "", [desk])
    invitations.revoke(admin_reviewer.user, Invitation.objects.filter(pk=second.invitation.pk))
    response = browser.get(f"/invite/{second.token}/")
    assert response.status_code == 404 and response.content == unknown
    assert AuditEvent.objects.filter(action="invitation.revoke").exists()


def test_the_token_is_stored_only_as_a_hash(backoffice, desk, admin_reviewer, logged_in):
    token = invite(logged_in(admin_reviewer), email="dana@example.org", desks=[desk])
    browser = Client()
    confirm_authenticator(browser, token)
    browser.post(f"/invite/{token}/", account())

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    dump = dump.getvalue()
    assert hashlib.sha256(token.encode()).hexdigest() in dump  # the dump does hold invitations
    assert AuditEvent.objects.filter(action="reviewer.create").exists()
    for secret in (token, NEW_PASSWORD, PASSPHRASE):
        assert secret not in dump


def test_an_invitation_for_a_taken_username_is_refused(backoffice, admin_reviewer, logged_in):
    client = logged_in(admin_reviewer)
    response = client.post(ADD_URL, {"username": "root", "email": "", "desks": []})
    assert response.status_code == 400 and b"already exists" in response.content
    invite(client, "dana")
    response = client.post(ADD_URL, {"username": "dana", "email": "", "desks": []})
    assert response.status_code == 400 and b"already invited" in response.content
    assert Invitation.objects.count() == 1


def test_a_link_is_not_mailed_through_a_backend_that_logs_it(
    backoffice, settings, admin_reviewer, logged_in, capsys
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    response = logged_in(admin_reviewer).post(
        ADD_URL, {"username": "dana", "email": "dana@example.org", "desks": []}
    )
    [(_path, token)] = LINK.findall(response.content.decode())
    assert b"not sent to dana@example.org" in response.content
    printed = capsys.readouterr()
    assert token not in printed.out + printed.err


# --- What the invitee may get wrong ---------------------------------------------------------


def test_a_wrong_totp_code_saves_nothing(backoffice, desk, admin_reviewer, logged_in):
    token = invite(logged_in(admin_reviewer), desks=[desk])
    browser = Client()
    page = browser.get(f"/invite/{token}/")
    secret = page.context["secret"]
    wrong = format((int(code(secret)) + 1) % 1_000_000, "06d")
    response = browser.post(f"/invite/{token}/", {"code": wrong})
    assert response.status_code == 400
    assert b"does not match" in response.content
    # Skipping the authenticator step: the account form is not even looked at.
    response = browser.post(f"/invite/{token}/", account())
    assert response.status_code == 400 and "secret" in response.context
    assert nothing_created()
    assert Invitation.objects.get().used_at is None


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"password": "short", "password_again": "short"}, b"too short"),
        ({"password_again": "something else entirely"}, b"do not match"),
        ({"passphrase": "short", "passphrase_again": "short"}, b"at least 12"),
        ({"passphrase": NEW_PASSWORD, "passphrase_again": NEW_PASSWORD}, b"must differ"),
        ({"key": "offline", "public_key": "not a key"}, b"public key"),
        ({"key": "offline"}, b"Paste your public key"),
    ],
)
def test_account_errors_keep_the_invitee_on_the_step_and_save_nothing(
    backoffice, desk, admin_reviewer, logged_in, settings, fields, error
):
    token = invite(logged_in(admin_reviewer), desks=[desk])
    browser = Client()
    confirm_authenticator(browser, token)
    homes = set(settings.REVIEWER_GNUPG_ROOT.iterdir())
    response = browser.post(f"/invite/{token}/", account(**fields))
    assert response.status_code == 400
    assert error in response.content
    assert "secret" not in response.context  # still on the account step
    assert nothing_created()
    assert set(settings.REVIEWER_GNUPG_ROOT.iterdir()) == homes


def test_a_pasted_secret_key_is_refused(backoffice, desk, admin_reviewer, logged_in, offline_key):
    token = invite(logged_in(admin_reviewer), desks=[desk])
    browser = Client()
    confirm_authenticator(browser, token)
    response = browser.post(
        f"/invite/{token}/", account("offline", public_key=offline_key["secret"])
    )
    assert response.status_code == 400
    assert b"secret key" in response.content
    assert nothing_created()


def test_a_username_taken_meanwhile_leaves_no_account_and_no_key_behind(
    backoffice, desk, admin_reviewer, logged_in, django_user_model, settings
):
    token = invite(logged_in(admin_reviewer), desks=[desk])
    browser = Client()
    confirm_authenticator(browser, token)
    homes_before = set(settings.REVIEWER_GNUPG_ROOT.iterdir())
    django_user_model.objects.create_user(username="dana", password="x")
    response = browser.post(f"/invite/{token}/", account())
    assert response.status_code == 400 and b"already exists" in response.content
    assert set(settings.REVIEWER_GNUPG_ROOT.iterdir()) == homes_before
    assert not ReviewerKey.objects.filter(user__username="dana").exists()
    assert Invitation.objects.get().used_at is None


# --- Who may invite --------------------------------------------------------------------------


def test_a_reviewer_who_is_not_staff_cannot_reach_the_invitation_page(
    backoffice, desk, make_reviewer, logged_in
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    client = logged_in(alice)
    for response in (
        client.get(ADD_URL),
        client.post(ADD_URL, {"username": "mallory", "desks": [desk.pk]}),
    ):
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not Invitation.objects.exists()


def test_staff_without_the_permission_cannot_invite_disable_or_reset(
    backoffice, desk, make_reviewer, logged_in
):
    from django.contrib.auth.models import Permission

    alice = make_reviewer("alice", desks=[desk], key="alice")
    staff = make_reviewer("staff", key="carol", is_staff=True)
    staff.user.user_permissions.add(Permission.objects.get(codename="view_revieweraccount"))
    client = logged_in(staff)
    assert client.get(ADD_URL).status_code == 403
    assert client.post(ADD_URL, {"username": "mallory", "desks": [desk.pk]}).status_code == 403
    assert client.get(ACCOUNTS_URL).status_code == 200
    for action in ("disable", "reset_two_factor"):
        client.post(ACCOUNTS_URL, {"action": action, "_selected_action": [alice.user.pk]})
    alice.user.refresh_from_db()
    assert alice.user.is_active and TOTPDevice.objects.filter(user=alice.user).exists()
    assert not Invitation.objects.exists()


# --- Disabling and resetting two-factor from the admin ---------------------------------------


def test_disabling_from_the_admin_is_audited_and_takes_effect(
    backoffice, desk, admin_reviewer, make_reviewer, logged_in
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    alice_browser = Client()
    assert log_in(alice_browser, "alice", PASSWORD, alice.totp()).status_code == 302
    client = logged_in(admin_reviewer)
    response = client.post(ACCOUNTS_URL, {"action": "disable", "_selected_action": [alice.user.pk]})
    assert response.status_code == 302

    assert alice_browser.get("/").status_code == 302  # her open session is gone
    assert log_in(alice_browser, "alice", PASSWORD, alice.totp(drift=1)).status_code == 400
    event = AuditEvent.objects.get(action="reviewer.disable")
    assert event.actor == admin_reviewer.user and event.detail["reviewer"] == alice.user.pk

    client.post(ACCOUNTS_URL, {"action": "enable", "_selected_action": [alice.user.pk]})
    alice.user.refresh_from_db()
    assert alice.user.is_active
    assert AuditEvent.objects.get(action="reviewer.enable").actor == admin_reviewer.user


def test_an_admin_cannot_disable_or_reset_themselves(backoffice, admin_reviewer, logged_in):
    client = logged_in(admin_reviewer)
    for action in ("disable", "reset_two_factor"):
        client.post(ACCOUNTS_URL, {"action": action, "_selected_action": [admin_reviewer.user.pk]})
    admin_reviewer.user.refresh_from_db()
    assert admin_reviewer.user.is_active
    assert TOTPDevice.objects.filter(user=admin_reviewer.user).exists()
    assert client.get("/").status_code == 200


def test_resetting_two_factor_from_the_admin_sends_a_link_to_enrol_a_new_authenticator(
    backoffice, desk, admin_reviewer, make_reviewer, logged_in
):
    alice = make_reviewer("alice", desks=[desk], key="alice", email="alice@example.org")
    old_key = alice.device.bin_key
    alice_browser = Client()
    assert log_in(alice_browser, "alice", PASSWORD, alice.totp()).status_code == 302
    client = logged_in(admin_reviewer)
    response = client.post(
        ACCOUNTS_URL, {"action": "reset_two_factor", "_selected_action": [alice.user.pk]}
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    [(path, token)] = LINK.findall(response.content.decode())
    assert b"otpauth://" not in response.content  # the admin never sees the new secret
    [message] = mail.outbox
    assert message.to == ["alice@example.org"] and token in message.body

    # The old authenticator is gone at once, and so is her session.
    assert alice_browser.get("/").status_code == 302
    for drift in (0, 1):
        old_code = format(totp(old_key, drift=drift), "06d")
        assert log_in(Client(), "alice", PASSWORD, old_code).status_code == 400
    event = AuditEvent.objects.get(action="reviewer.totp_reset")
    assert event.actor == admin_reviewer.user and event.detail["reviewer"] == alice.user.pk

    # The link needs her password as well as a code from the new authenticator.
    page = alice_browser.get(path)
    assert page.status_code == 200 and b"<svg" in page.content
    secret = page.context["secret"]
    wrong = alice_browser.post(path, {"password": "not her password", "code": code(secret)})
    assert wrong.status_code == 400
    assert not TOTPDevice.objects.filter(user=alice.user).exists()
    assert AuditEvent.objects.filter(action="reviewer.totp_enrol_failed").exists()
    done = alice_browser.post(path, {"password": PASSWORD, "code": code(secret)})
    assert done.status_code == 200, done.content
    assert log_in(Client(), "alice", PASSWORD, code(secret, drift=1)).status_code == 302
    assert AuditEvent.objects.get(action="reviewer.totp_enrol").actor == alice.user
    assert alice_browser.get(path).status_code == 404


def test_disabling_a_reviewer_revokes_their_pending_link(
    backoffice, desk, admin_reviewer, make_reviewer, logged_in
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    client = logged_in(admin_reviewer)
    response = client.post(
        ACCOUNTS_URL, {"action": "reset_two_factor", "_selected_action": [alice.user.pk]}
    )
    [(path, _)] = LINK.findall(response.content.decode())
    client.post(ACCOUNTS_URL, {"action": "disable", "_selected_action": [alice.user.pk]})
    assert Client().get(path).status_code == 404


# --- The command for offline reviewers -------------------------------------------------------


def test_createreviewer_registers_an_offline_public_key(
    backoffice, desk, monkeypatch, tmp_path, capsys, offline_key
):
    monkeypatch.setenv("TIPLINE_PASSWORD", "a-strong-password-for-dana")
    monkeypatch.delenv("TIPLINE_KEY_PASSPHRASE", raising=False)
    monkeypatch.setattr("getpass.getpass", pytest.fail)  # no passphrase is asked for
    public = tmp_path / "dana.asc"
    public.write_text(offline_key["public"])
    call_command("createreviewer", "dana", "--desk", desk.slug, "--public-key", str(public))
    key = ReviewerKey.objects.get(user__username="dana")
    assert key.fingerprint == offline_key["fingerprint"]
    assert not crypto.holds_secret_key(key.fingerprint)
    assert "otpauth://totp/" in capsys.readouterr().out

    public.write_text(offline_key["secret"])
    with pytest.raises(CommandError, match="secret key"):
        call_command("createreviewer", "erin", "--public-key", str(public))
    assert not ReviewerKey.objects.filter(user__username="erin").exists()


def test_an_admin_cannot_invite_anyone_onto_a_desk_they_are_not_on(
    backoffice, desk, other_desk, admin_reviewer, logged_in
):
    """Otherwise an admin on no desk could invite an account of their own and read its tips."""
    client = logged_in(admin_reviewer)
    response = client.post(
        "/admin/reviewers/invitation/add/",
        {"username": "mole", "email": "", "desks": [other_desk.pk]},
    )
    assert response.status_code == 400
    assert not Invitation.objects.exists()
    with pytest.raises(ProvisioningError, match="member of"):
        invitations.invite_reviewer(admin_reviewer.user, "mole", "", [other_desk])
    assert not Invitation.objects.exists()
    invitations.invite_reviewer(admin_reviewer.user, "newcomer", "", [desk])
    assert Invitation.objects.get().desks.get() == desk
