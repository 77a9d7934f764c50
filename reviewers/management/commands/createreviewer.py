import getpass
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reviewers.provisioning import ProvisioningError, create_reviewer
from tipline import crypto


def secret_from_env_or_prompt(variable: str, prompt: str) -> str:
    value = os.environ.get(variable)
    if value:
        return value
    first = getpass.getpass(f"{prompt}: ")
    if getpass.getpass(f"{prompt} (again): ") != first:
        raise CommandError("the two entries differ")
    return first


class Command(BaseCommand):
    help = (
        "Create a reviewer with a TOTP device and a passphrase-protected key pair (or, with "
        "--public-key, their own public key: they decrypt offline). The password and key "
        "passphrase come from TIPLINE_PASSWORD and TIPLINE_KEY_PASSPHRASE, or are asked for."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--desk",
            action="append",
            default=[],
            dest="desks",
            help="slug of a desk to join (repeatable)",
        )
        parser.add_argument(
            "--admin",
            action="store_true",
            help="may edit desks and questionnaires (not read their tips)",
        )
        parser.add_argument(
            "--email", default="", help="for work-waiting reminders (they carry no tip content)"
        )
        parser.add_argument(
            "--public-key",
            metavar="FILE",
            help="the reviewer's own ASCII-armoured OpenPGP public key: no key pair is "
            "generated, the server never holds their secret key, and they decrypt offline",
        )

    def handle(self, username, desks, admin, email, public_key, **options):
        key = None
        if public_key:
            try:
                key = crypto.validate_public_key(Path(public_key).read_text())
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"cannot read {public_key}: {exc}") from None
            except crypto.CryptoError as exc:
                raise CommandError(str(exc)) from None
        password = secret_from_env_or_prompt("TIPLINE_PASSWORD", "Password")
        passphrase = None
        if key is None:
            passphrase = secret_from_env_or_prompt("TIPLINE_KEY_PASSPHRASE", "Key passphrase")
        try:
            reviewer = create_reviewer(
                username, password, passphrase, desks, admin=admin, email=email, public_key=key
            )
        except ProvisioningError as exc:
            raise CommandError(str(exc)) from None
        where = "offline: the server holds no secret key" if key else "kept on this server"
        self.stdout.write(f"Reviewer {username!r} created, key {reviewer.fingerprint} ({where}).")
        self.stdout.write("Add this to an authenticator app (it is shown only now):")
        self.stdout.write(reviewer.otpauth_uri)
