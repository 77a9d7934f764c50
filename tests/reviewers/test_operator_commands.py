"""Commands an operator runs at the console: rotate a reviewer's key, purge by retention,
install the organization's public key."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from reviewers.tips import open_tip
from tests.conftest import export_secret_key, short_tempdir
from tests.reviewers.test_access import make_tip
from tipline import crypto
from tipline.checks import check_organization_key
from tipline.models import AuditEvent, ReviewerKey, Tip


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_rotatekey_moves_every_tip_to_a_new_key_and_destroys_the_old_one(
    backoffice, desk, make_reviewer, monkeypatch
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    tips = [make_tip(desk, alice.key, message=f"rotated-canary-{n}") for n in range(3)]
    old = alice.key.fingerprint
    monkeypatch.setenv("TIPLINE_KEY_PASSPHRASE", alice.key.passphrase)
    monkeypatch.setenv("TIPLINE_NEW_KEY_PASSPHRASE", "the new passphrase for alice")

    output = run("rotatekey", "alice")

    key = ReviewerKey.objects.get(user=alice.user)
    assert key.fingerprint != old and not key.previous_fingerprint
    assert "Done" in output
    assert not crypto.reviewer_home(old).exists()
    alice.user.refresh_from_db()
    for n, tip in enumerate(tips):
        tip = Tip.objects.get(pk=tip.pk)
        assert tip.recipients == [key.fingerprint]
        opened = open_tip(alice.user, tip, "the new passphrase for alice")
        assert opened.answers[0]["value"] == f"rotated-canary-{n}"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"key.rotation_started", "key.rotation_finished"} <= actions


def test_rotatekey_refuses_a_wrong_passphrase_and_changes_nothing(
    backoffice, desk, make_reviewer, monkeypatch
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    monkeypatch.setenv("TIPLINE_KEY_PASSPHRASE", "not alice's passphrase")
    monkeypatch.setenv("TIPLINE_NEW_KEY_PASSPHRASE", "the new passphrase for alice")
    with pytest.raises(CommandError):
        run("rotatekey", "alice")
    assert ReviewerKey.objects.get(user=alice.user).fingerprint == alice.key.fingerprint


def test_purgeclosed_purges_tips_closed_beyond_retention(backoffice, desk, tip_factory, settings):
    old, recent = tip_factory(), tip_factory()
    Tip.objects.filter(pk=old.pk).update(
        status="closed", resolution="spam", closed_at=timezone.now() - timedelta(days=400)
    )
    Tip.objects.filter(pk=recent.pk).update(
        status="closed", resolution="spam", closed_at=timezone.now() - timedelta(days=10)
    )
    settings.RETENTION_DAYS = 365
    assert "Purged 1 tips" in run("purgeclosed")
    assert list(Tip.objects.values_list("pk", flat=True)) == [recent.pk]
    assert AuditEvent.objects.filter(action="tip.purged", tip_id=old.pk).exists()


def test_importorgkey_installs_only_a_public_key(backoffice, key_cache, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    key = key_cache["carol"]
    public = tmp_path / "org.asc"
    public.write_text(key.armored)
    output = run("importorgkey", str(public))
    installed = tmp_path / "organization-key.asc"
    assert key.fingerprint in output
    assert installed.read_text() == key.armored.strip() + "\n"
    assert check_organization_key(installed) == []
    event = AuditEvent.objects.get(action="organization_key.imported")
    assert event.detail == {"fingerprint": key.fingerprint}

    secret = tmp_path / "secret.asc"
    secret.write_bytes(export_secret_key(key, armor=True))
    with pytest.raises(CommandError, match="secret key"):
        run("importorgkey", str(secret))
    assert installed.read_text() == key.armored.strip() + "\n"


def test_makeorgkey_makes_a_pair_whose_public_half_importorgkey_takes(
    backoffice, settings, monkeypatch
):
    out = short_tempdir() / "ceremony"
    monkeypatch.setenv("TIPLINE_ORG_KEY_PASSPHRASE", "the ceremony's long passphrase")
    output = run("makeorgkey", str(out))
    fingerprint = output.split()[2]
    public = (out / "organization-public.asc").read_text()
    secret = out / "organization-secret.asc"
    assert "PRIVATE KEY BLOCK" in secret.read_text() and secret.stat().st_mode & 0o777 == 0o600
    assert "PRIVATE" not in public
    assert out.stat().st_mode & 0o777 == 0o700
    assert crypto.validate_public_key(public).fingerprint == fingerprint

    settings.DATA_DIR = out.parent
    assert fingerprint in run("importorgkey", str(out / "organization-public.asc"))
    with pytest.raises(CommandError, match="secret key"):
        run("importorgkey", str(secret))
    with pytest.raises(CommandError, match="not empty"):
        run("makeorgkey", str(out))


def test_makeorgkey_refuses_a_short_passphrase(backoffice, monkeypatch):
    out = short_tempdir() / "ceremony"
    monkeypatch.setenv("TIPLINE_ORG_KEY_PASSPHRASE", "short")
    with pytest.raises(CommandError, match="at least"):
        run("makeorgkey", str(out))
    assert not (out / "organization-secret.asc").exists()
