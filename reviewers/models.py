from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    """One thing a reviewer did. Written only through reviewers.audit.log_action."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=64)
    # Plain ids rather than foreign keys: the trail must outlive what it talks about.
    tip_id = models.BigIntegerField(null=True, db_index=True)
    detail = models.JSONField(default=dict)
    # The hash chain (see reviewers/audit.py): unique, so the trail cannot fork.
    previous_hash = models.CharField(max_length=64, unique=True)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"


class Note(models.Model):
    """A reviewer's internal note on a tip, encrypted to the desk's readers like the tip.

    Plain text only: no markup is accepted, so there is nothing to sanitise.
    """

    tip = models.ForeignKey("tipline.Tip", on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    written_at = models.DateTimeField(default=timezone.now)
    body = models.BinaryField()
    recipients = models.JSONField(default=list)

    class Meta:
        ordering = ["written_at", "pk"]

    def __str__(self) -> str:
        return f"note {self.pk} on tip {self.tip_id}"
