from django.conf import settings
from django.db import models
from django.utils import timezone


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
