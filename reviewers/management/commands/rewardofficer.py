from django.core.management.base import BaseCommand, CommandError

from reviewers.provisioning import ProvisioningError, set_reward_officer


class Command(BaseCommand):
    help = (
        "Make a reviewer a reward officer: tipsters' contacts for the reward process are "
        "encrypted to the officers' keys only. --remove takes the role away. Audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--remove", action="store_true")

    def handle(self, username, remove, **options):
        try:
            changed = set_reward_officer(username, officer=not remove)
        except ProvisioningError as exc:
            raise CommandError(str(exc)) from None
        state = "no longer a reward officer" if remove else "a reward officer"
        self.stdout.write(f"{username} is {state}{'' if changed else ' (unchanged)'}.")
