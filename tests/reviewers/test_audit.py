import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tipline.audit import GENESIS, log_action, verify
from tipline.models import AuditEvent


def test_entries_form_a_chain_that_verifies(db, django_user_model):
    user = django_user_model.objects.create_user("alice")
    first = log_action(user, "tip.read", tip_id=1)
    second = log_action(user, "tip.reply", tip_id=1, message=3)
    assert first.previous_hash == GENESIS
    assert second.previous_hash == first.entry_hash
    result = verify()
    assert result.problems == [] and result.head == second.entry_hash


def test_an_edited_entry_is_detected(db):
    log_action(None, "desk.create", desk="a")
    event = log_action(None, "tip.read", tip_id=7)
    log_action(None, "tip.read", tip_id=8)
    AuditEvent.objects.filter(pk=event.pk).update(tip_id=9)  # as a database edit would
    assert any("edited" in p for p in verify().problems)


def test_a_deleted_entry_is_detected(db):
    log_action(None, "desk.create", desk="a")
    event = log_action(None, "tip.read", tip_id=7)
    log_action(None, "tip.read", tip_id=8)
    AuditEvent.objects.filter(pk=event.pk).delete()
    assert any("deleted or inserted" in p for p in verify().problems)


def test_an_inserted_entry_is_detected(db):
    first = log_action(None, "desk.create", desk="a")
    log_action(None, "tip.read", tip_id=7)
    forged = AuditEvent(action="tip.read", tip_id=99, previous_hash="f" * 64)
    forged.at = first.at
    forged.entry_hash = "e" * 64
    forged.save()
    assert verify().problems


def test_verifyaudit_reports_and_fails_on_tampering(db, capsys):
    log_action(None, "desk.create", desk="a")
    call_command("verifyaudit")
    assert "OK: 1 entries" in capsys.readouterr().out
    AuditEvent.objects.update(action="nothing.happened")
    with pytest.raises(CommandError, match="tampered"):
        call_command("verifyaudit")


# serialized_rollback: the flush after a transactional test would remove the default desks.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_writers_keep_one_chain():
    errors = []

    def writer(n):
        try:
            for i in range(10):
                log_action(None, "tip.read", tip_id=n * 100 + i)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = verify()
    assert result.entries == 40 and result.problems == []


def test_admins_read_the_trail_and_nobody_else(backoffice, desk, make_reviewer, logged_in):
    from django.test import Client

    alice = make_reviewer("alice", desks=[desk], key="alice")
    root = make_reviewer("root", key="bob", is_staff=True, is_superuser=True)
    log_action(alice.user, "tip.read", tip_id=41)
    assert logged_in(alice).get("/audit/").status_code == 404
    admin_client = Client()
    admin_client.post(
        "/login/",
        {"username": "root", "password": "a-long-test-password-1", "otp_token": root.totp()},
    )
    response = admin_client.get("/audit/")
    assert response.status_code == 200
    assert b"tip.read" in response.content and b"#41" in response.content
    assert admin_client.post("/audit/").status_code == 405


def test_a_truncated_end_is_detected_with_a_recorded_head(db, capsys):
    log_action(None, "desk.create", desk="a")
    last = log_action(None, "tip.read", tip_id=1)
    call_command("verifyaudit", "--expect-head", last.entry_hash)
    last.delete()  # cut off the end: the chain itself still verifies
    assert verify().problems == []
    with pytest.raises(CommandError):
        call_command("verifyaudit", "--expect-head", last.entry_hash)


def test_staff_without_the_permission_cannot_read_the_trail(backoffice, make_reviewer, logged_in):
    clerk = make_reviewer("clerk", key="alice", is_staff=True)
    assert logged_in(clerk).get("/audit/").status_code == 404
