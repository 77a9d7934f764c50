"""Core data shared by the public site, the worker and the back office.

Nothing a tipster writes is stored here in the clear: a tip's message, answers and the names of
its files live only inside ``Tip.envelope`` (OpenPGP ciphertext), and its files only as
ciphertext on disk (see tipline/storage.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from tipline.crypto import PublicKey


class Desk(models.Model):
    """A topic a tipster can report on, read by the reviewers who are its members."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="DeskMembership", related_name="desks"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def recipient_keys(self) -> list[PublicKey]:
        """Public keys of the desk's active reviewers: everyone who may read its tips."""
        keys = ReviewerKey.objects.filter(
            user__desk_memberships__desk=self, user__is_active=True
        ).order_by("fingerprint")
        return [PublicKey(fingerprint=k.fingerprint, armored=k.public_key) for k in keys]


class DeskMembership(models.Model):
    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="desk_memberships"
    )
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["desk", "user"], name="one_membership_per_desk")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.desk_id}"


class ReviewerKey(models.Model):
    """A reviewer's public key. The secret half exists only in the back office's GnuPG home."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviewer_key"
    )
    fingerprint = models.CharField(max_length=40, unique=True)
    public_key = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.fingerprint


class Tip(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        CLOSED = "closed", "Closed"

    desk = models.ForeignKey(Desk, on_delete=models.PROTECT, related_name="tips")
    codename_hash = models.CharField(max_length=64, unique=True)
    # The tipster's message, answers and file names: one OpenPGP message to the desk's readers.
    envelope = models.BinaryField()
    # Fingerprints the envelope and files were encrypted to, so the back office can tell who
    # can read a tip without trying.
    recipients = models.JSONField(default=list)
    language = models.CharField(max_length=16, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tips",
    )
    routed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"Tip {self.pk}"


class Attachment(models.Model):
    """A file the tipster sent; its name and type are inside the tip's envelope."""

    tip = models.ForeignKey(Tip, on_delete=models.CASCADE, related_name="attachments")
    storage_name = models.CharField(max_length=32, unique=True)
    ciphertext_bytes = models.BigIntegerField()

    def __str__(self) -> str:
        return self.storage_name
