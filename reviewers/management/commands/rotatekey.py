import getpass
import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from reviewers import lockout, rotation
from reviewers.management.commands.createreviewer import secret_from_env_or_prompt
from tipline import crypto


class Command(BaseCommand):
    help = (
        "Rotate a reviewer's server-held key: a new key pair becomes theirs at once, every tip "
        "and case the old key reads is re-encrypted for it, then the old secret key is "
        "overwritten and deleted. The old passphrase comes from TIPLINE_KEY_PASSPHRASE and the "
        "new one from TIPLINE_NEW_KEY_PASSPHRASE, or both are asked for. An interrupted "
        "rotation is resumed by running it again."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, username, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active reviewer: {username}")
        key = getattr(user, "reviewer_key", None)
        if key is None:
            raise CommandError(f"{username} has no key")
        old = os.environ.get("TIPLINE_KEY_PASSPHRASE") or getpass.getpass("Current passphrase: ")
        try:
            if not key.previous_fingerprint:
                new = secret_from_env_or_prompt("TIPLINE_NEW_KEY_PASSPHRASE", "New passphrase")
                fingerprint = rotation.start_rotation(user, old, new)
                self.stdout.write(f"New key {fingerprint}; re-encrypting for it.")
            else:
                self.stdout.write("Resuming the rotation under way.")
            remaining = None
            while remaining != 0:
                remaining = rotation.continue_rotation(user, old)
                self.stdout.write(f"{remaining} tips and cases left.")
        except (rotation.RotationError, lockout.LockedOut, crypto.CryptoError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write("Done: the old secret key is destroyed.")
