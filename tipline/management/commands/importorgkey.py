import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tipline import crypto
from tipline.audit import log_action


class Command(BaseCommand):
    help = (
        "Install the organization's public key (made offline; its secret half never comes near "
        "a server) as DATA_DIR/organization-key.asc, where TIPLINE_ORGANIZATION_KEY_FILE finds "
        "it when unset. Refuses a secret key, more than one key, or a key that cannot encrypt. "
        "Prints the fingerprint: compare it with the one read out at the key ceremony."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the armored public key, or - for standard input")

    def handle(self, file, **options):
        if file == "-":
            armored = sys.stdin.read(crypto.MAX_ARMORED_KEY_CHARS + 1)
        else:
            try:
                armored = Path(file).read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"cannot read {file}: {exc}") from None
        try:
            key = crypto.validate_public_key(armored)
        except crypto.CryptoError as exc:
            raise CommandError(str(exc)) from None
        target = settings.DATA_DIR / "organization-key.asc"
        staging = target.with_suffix(".new")
        staging.write_text(key.armored)
        staging.chmod(0o644)
        staging.replace(target)
        log_action(None, "organization_key.imported", fingerprint=key.fingerprint)
        self.stdout.write(f"Organization key {key.fingerprint} installed as {target}.")
        configured = settings.ORGANIZATION_KEY_FILE
        if configured and Path(configured) != target:
            self.stdout.write(
                f"TIPLINE_ORGANIZATION_KEY_FILE points at {configured}: unset it to use this key."
            )
