from django.core.management.base import BaseCommand, CommandError

from reviewers.provisioning import ProvisioningError, reset_totp


class Command(BaseCommand):
    help = "Replace a reviewer's authenticator (lost phone) and print the new otpauth:// URI."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, username, **options):
        try:
            uri = reset_totp(username)
        except ProvisioningError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write("The old authenticator no longer works. Add this one (shown only now):")
        self.stdout.write(uri)
