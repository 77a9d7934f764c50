from django.core.management.base import BaseCommand, CommandError

from reviewers.provisioning import ProvisioningError, set_active


class Command(BaseCommand):
    help = "Disable a reviewer: no login, no new tips, open sessions ended (--enable to undo)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--enable", action="store_true")

    def handle(self, username, enable, **options):
        try:
            set_active(username, enable)
        except ProvisioningError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{username} is {'enabled' if enable else 'disabled'}.")
