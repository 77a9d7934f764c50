import io
from datetime import timedelta
from pathlib import Path

from django.test import Client
from django.utils import timezone

from tipline import retention, tasks
from tipline.models import Attachment, AuditEvent, Message, Tip


def stored(settings) -> list[Path]:
    return [p for p in (Path(settings.ENCRYPTED_FILES_DIR) / "stored").glob("*.gpg")]


def test_closed_tips_are_purged_after_the_retention_period(
    public_site, desk, make_reviewer, settings
):
    make_reviewer("alice", desks=[desk], key="alice")
    for _ in range(3):
        upload = io.BytesIO(b"evidence")
        upload.name = "e.txt"
        Client().post("/submit/cyber/", {"message": "m", "attachment": upload})
    old, recent, open_tip = Tip.objects.order_by("pk")
    Tip.objects.filter(pk=old.pk).update(
        status="closed", resolution="spam", closed_at=timezone.now() - timedelta(days=400)
    )
    Tip.objects.filter(pk=recent.pk).update(
        status="closed", resolution="spam", closed_at=timezone.now() - timedelta(days=10)
    )
    Message.objects.create(tip=old, author="tipster", body_for_desk=b"x")
    old_file = Attachment.objects.get(tip=old).storage_name
    settings.RETENTION_DAYS = 365
    assert tasks.purge_closed_tips() == 1
    assert set(Tip.objects.values_list("pk", flat=True)) == {recent.pk, open_tip.pk}
    assert not Message.objects.filter(tip_id=old.pk).exists()
    assert old_file not in {p.stem for p in stored(settings)} and len(stored(settings)) == 2
    event = AuditEvent.objects.get(action="tip.purged")
    assert event.tip_id == old.pk and event.detail["files"] == 1


def test_retention_zero_keeps_everything(public_site, desk, tip_factory, settings):
    tip_factory(status="closed", resolution="spam", closed_at=timezone.now() - timedelta(days=999))
    settings.RETENTION_DAYS = 0
    assert retention.purge_closed_tips() == 0
    assert Tip.objects.count() == 1


def test_closing_and_reopening_sets_and_clears_the_closing_time(backoffice, desk, make_reviewer):
    from reviewers import triage
    from tests.reviewers.test_access import make_tip

    alice = make_reviewer("alice", desks=[desk], key="alice")
    tip = make_tip(desk, alice.key)
    triage.update_tip(
        alice.user, tip, status="closed", resolution="duplicate", priority=1, tags=[], assignee=None
    )
    tip.refresh_from_db()
    assert tip.closed_at is not None
    triage.update_tip(
        alice.user, tip, status="triaged", resolution="", priority=1, tags=[], assignee=None
    )
    tip.refresh_from_db()
    assert tip.closed_at is None


def test_shredding_overwrites_before_deleting(public_site, settings, monkeypatch):
    from tipline import storage

    name, path = storage.new_incoming()
    path.write_bytes(b"A" * 3000)
    storage.commit(name)
    target = storage.path_of(name)
    seen = {}
    real_unlink = Path.unlink

    def spy(self, *args, **kwargs):
        if self == target:
            seen["content"] = self.read_bytes()
        return real_unlink(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", spy)
    storage.shred(name)
    assert not target.exists()
    assert len(seen["content"]) == 3000 and b"AAAA" not in seen["content"]
