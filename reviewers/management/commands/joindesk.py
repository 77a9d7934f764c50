from django.core.management.base import BaseCommand, CommandError

from reviewers.provisioning import ProvisioningError, add_to_desk


class Command(BaseCommand):
    help = "Make an existing reviewer a member of a desk (they read its new tips from now on)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--desk", required=True)

    def handle(self, username, desk, **options):
        try:
            add_to_desk(username, desk)
        except ProvisioningError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{username} is a member of {desk}.")
