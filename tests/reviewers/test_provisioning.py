import pytest
from django.core.management import CommandError, call_command

from tipline import crypto
from tipline.models import AuditEvent, Desk, ReviewerKey


def test_createdesk_creates_a_desk_with_the_basic_questions(backoffice, capsys):
    call_command("createdesk", "leaks", "--name", "Leaked documents")
    desk = Desk.objects.get(slug="leaks")
    assert desk.name == "Leaked documents"
    assert [(q.key, q.kind, q.required) for q in desk.questions.all()] == [
        ("message", "long_text", True),
        ("attachment", "file", False),
    ]


def test_a_fresh_install_ships_the_default_desks(db):
    assert set(Desk.objects.values_list("slug", flat=True)) >= {
        "cyber",
        "crypto",
        "sanctions",
        "other",
    }
    for desk in Desk.objects.filter(slug__in=["cyber", "crypto", "sanctions", "other"]):
        assert desk.localized_name("ar") != desk.name
        for question in desk.questions.all():
            assert question.label("ar") != question.label("en"), question


def test_createreviewer_creates_a_key_pair_and_totp_device(backoffice, monkeypatch, capsys):
    monkeypatch.setenv("TIPLINE_PASSWORD", "a-strong-password-for-dana")
    monkeypatch.setenv("TIPLINE_KEY_PASSPHRASE", "dana's own key passphrase")
    call_command("createreviewer", "dana", "--desk", "cyber")
    out = capsys.readouterr().out
    assert "otpauth://totp/" in out
    key = ReviewerKey.objects.get(user__username="dana")
    assert key.user.desks.get().slug == "cyber"
    assert key.user.check_password("a-strong-password-for-dana")
    home = crypto.reviewer_home(key.fingerprint)
    try:
        assert crypto.secret_key_fingerprints(home) == [key.fingerprint]
        crypto.check_passphrase(key.fingerprint, "dana's own key passphrase")
        with pytest.raises(crypto.BadPassphraseError):
            crypto.check_passphrase(key.fingerprint, "another passphrase")
    finally:
        crypto.stop_agent(home)
    assert "dana's own key passphrase" not in out
    assert AuditEvent.objects.filter(action="reviewer.create").exists()


@pytest.mark.parametrize(
    ("password", "passphrase", "error"),
    [
        ("short", "a long enough passphrase", "too short"),
        ("a-strong-password-1", "short", "at least 12"),
        ("a-strong-password-1", "a-strong-password-1", "must differ"),
    ],
)
def test_createreviewer_refuses_weak_secrets(backoffice, monkeypatch, password, passphrase, error):
    monkeypatch.setenv("TIPLINE_PASSWORD", password)
    monkeypatch.setenv("TIPLINE_KEY_PASSPHRASE", passphrase)
    with pytest.raises(CommandError, match=error):
        call_command("createreviewer", "erin")
    assert not ReviewerKey.objects.exists()


def test_createreviewer_refuses_an_unknown_desk(backoffice, monkeypatch):
    monkeypatch.setenv("TIPLINE_PASSWORD", "a-strong-password-1")
    monkeypatch.setenv("TIPLINE_KEY_PASSPHRASE", "a long enough passphrase")
    with pytest.raises(CommandError, match="no such desk"):
        call_command("createreviewer", "erin", "--desk", "nope")


def test_createreviewer_refuses_to_run_on_the_public_site(public_site, monkeypatch):
    monkeypatch.setenv("TIPLINE_PASSWORD", "a-strong-password-1")
    monkeypatch.setenv("TIPLINE_KEY_PASSPHRASE", "a long enough passphrase")
    with pytest.raises(CommandError, match="back office"):
        call_command("createreviewer", "erin")


def test_demo_creates_a_desk_and_a_reviewer_and_keeps_credentials_private(
    backoffice, settings, capsys, tmp_path
):
    settings.DATA_DIR = tmp_path
    call_command("demo")
    out = capsys.readouterr().out
    credentials = tmp_path / "demo-credentials.txt"
    assert credentials.stat().st_mode & 0o777 == 0o600
    assert "otpauth://totp/" in out and "key passphrase:" in out
    key = ReviewerKey.objects.get(user__username="demo")
    assert key.user.desks.get().slug == "demo"
    try:
        passphrase = next(
            line.split(":", 1)[1].strip()
            for line in credentials.read_text().splitlines()
            if line.startswith("key passphrase:")
        )
        crypto.check_passphrase(key.fingerprint, passphrase)
        call_command("demo")  # a second run changes nothing and prints the same credentials
        assert ReviewerKey.objects.count() == 1
        assert passphrase in capsys.readouterr().out
        call_command("demo", "--code")
        assert capsys.readouterr().out.strip().isdigit()
    finally:
        crypto.stop_agent(crypto.reviewer_home(key.fingerprint))


def test_joindesk_adds_an_existing_reviewer_to_a_desk(backoffice, make_reviewer):
    alice = make_reviewer("alice", key="alice")
    call_command("joindesk", "alice", "--desk", "crypto")
    assert list(alice.user.desks.values_list("slug", flat=True)) == ["crypto"]
    assert AuditEvent.objects.filter(action="desk.member_add").exists()
    with pytest.raises(CommandError, match="no such desk"):
        call_command("joindesk", "alice", "--desk", "nope")


def test_createreviewer_makes_an_admin_who_is_on_no_desk(backoffice, monkeypatch):
    monkeypatch.setenv("TIPLINE_PASSWORD", "a-strong-password-for-root")
    monkeypatch.setenv("TIPLINE_KEY_PASSPHRASE", "root's own key passphrase")
    call_command("createreviewer", "root", "--admin")
    key = ReviewerKey.objects.get(user__username="root")
    try:
        assert key.user.is_staff and key.user.is_superuser
        assert not key.user.desks.exists()
    finally:
        crypto.stop_agent(crypto.reviewer_home(key.fingerprint))


def test_demo_refuses_to_run_on_the_public_site(public_site):
    with pytest.raises(CommandError, match="back office"):
        call_command("demo")


def test_createreviewer_records_an_email_for_reminders(backoffice, monkeypatch):
    monkeypatch.setenv("TIPLINE_PASSWORD", "a-strong-password-for-erin")
    monkeypatch.setenv("TIPLINE_KEY_PASSPHRASE", "erin's own key passphrase")
    call_command("createreviewer", "erin", "--email", "erin@example.org")
    key = ReviewerKey.objects.get(user__username="erin")
    try:
        assert key.user.email == "erin@example.org"
    finally:
        crypto.stop_agent(crypto.reviewer_home(key.fingerprint))


def test_a_disabled_reviewer_is_logged_out_and_cannot_log_in(
    backoffice, desk, make_reviewer, logged_in, client
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    logged_in(alice)
    assert client.get("/").status_code == 200
    call_command("disablereviewer", "alice")
    assert client.get("/").status_code == 302  # the open session is gone
    response = client.post(
        "/login/",
        {
            "username": "alice",
            "password": "a-long-test-password-1",
            "otp_token": alice.totp(drift=1),
        },
    )
    assert response.status_code == 400
    assert AuditEvent.objects.filter(action="reviewer.disable").exists()
    call_command("disablereviewer", "alice", "--enable")
    alice.user.refresh_from_db()
    assert alice.user.is_active


def test_resettotp_replaces_the_authenticator(backoffice, desk, make_reviewer, capsys):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    alice = make_reviewer("alice", desks=[desk], key="alice")
    old_key = alice.device.key
    call_command("resettotp", "alice")
    assert "otpauth://totp/" in capsys.readouterr().out
    [device] = TOTPDevice.objects.filter(user=alice.user)
    assert device.key != old_key
    assert AuditEvent.objects.filter(action="reviewer.totp_reset").exists()
    with pytest.raises(CommandError, match="no such reviewer"):
        call_command("resettotp", "nobody")
