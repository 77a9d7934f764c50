from django.conf import settings
from django.core.management.base import BaseCommand

from tipline.retention import purge_closed_tips


class Command(BaseCommand):
    help = (
        "Delete the tips closed more than TIPLINE_RETENTION_DAYS ago, with their messages, notes "
        "and files (shredded), each purge audited. Celery beat runs the same every day."
    )

    def handle(self, **options):
        if settings.RETENTION_DAYS <= 0:
            self.stdout.write("TIPLINE_RETENTION_DAYS is 0: nothing is ever purged.")
            return
        purged = purge_closed_tips()
        self.stdout.write(
            f"Purged {purged} tips closed more than {settings.RETENTION_DAYS} days ago."
        )
