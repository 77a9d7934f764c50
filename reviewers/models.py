from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Case(models.Model):
    """A group of tips of one desk worked on together.

    The title is written by reviewers and may name people, so it is encrypted to the desk's
    readers like a note; the case is listed by number.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        HANDED_OVER = "handed_over", "Handed over"
        CLOSED = "closed", "Closed"

    desk = models.ForeignKey("tipline.Desk", on_delete=models.PROTECT, related_name="cases")
    title = models.BinaryField()
    recipients = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_cases",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]

    def __str__(self) -> str:
        return f"Case {self.pk}"


class CaseTip(models.Model):
    """A tip's place in a case: a tip joins at most one case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="members")
    tip = models.OneToOneField("tipline.Tip", on_delete=models.CASCADE, related_name="case_link")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "pk"]

    def __str__(self) -> str:
        return f"tip {self.tip_id} in case {self.case_id}"


class Note(models.Model):
    """A reviewer's internal note on a tip or a case, encrypted to the desk's readers.

    Plain text only: no markup is accepted, so there is nothing to sanitise.
    """

    tip = models.ForeignKey(
        "tipline.Tip", null=True, blank=True, on_delete=models.CASCADE, related_name="notes"
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    written_at = models.DateTimeField(default=timezone.now)
    body = models.BinaryField()
    recipients = models.JSONField(default=list)

    class Meta:
        ordering = ["written_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(tip__isnull=False, case__isnull=True)
                | Q(tip__isnull=True, case__isnull=False),
                name="note_on_a_tip_or_a_case",
            )
        ]

    def __str__(self) -> str:
        target = f"tip {self.tip_id}" if self.tip_id else f"case {self.case_id}"
        return f"note {self.pk} on {target}"
