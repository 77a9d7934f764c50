import getpass
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tipline import crypto

MIN_PASSPHRASE = 16


def network_interfaces_up() -> list[str]:
    """Interfaces other than loopback that say they are up: this computer may be online."""
    up = []
    for interface in sorted(Path("/sys/class/net").glob("*")):
        if interface.name == "lo":
            continue
        try:
            if (interface / "operstate").read_text().strip() in ("up", "unknown"):
                up.append(interface.name)
        except OSError:
            continue
    return up


class Command(BaseCommand):
    help = (
        "At the key ceremony, on a computer that is offline: make the organization's key pair "
        "in OUTDIR (a new directory): organization-public.asc, to install on the servers with "
        "importorgkey, and organization-secret.asc, protected by the passphrase, which never "
        "goes near a server. The passphrase comes from TIPLINE_ORG_KEY_PASSPHRASE or is asked "
        "for twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("outdir")
        parser.add_argument("--name", default="Tipline organization key")

    def handle(self, outdir, name, **options):
        target = Path(outdir)
        if target.exists() and any(target.iterdir()):
            raise CommandError(f"{target} is not empty: give a new directory")
        online = network_interfaces_up()
        if online:
            self.stderr.write(
                f"Warning: network interfaces are up ({', '.join(online)}). Make the "
                "organization key on a computer that is offline."
            )
        passphrase = os.environ.get("TIPLINE_ORG_KEY_PASSPHRASE")
        if not passphrase:
            passphrase = getpass.getpass("Passphrase for the organization's secret key: ")
            if getpass.getpass("Again: ") != passphrase:
                raise CommandError("the two entries differ")
        if len(passphrase) < MIN_PASSPHRASE:
            raise CommandError(f"use a passphrase of at least {MIN_PASSPHRASE} characters")
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        target.chmod(0o700)
        try:
            fingerprint, public, secret = crypto.generate_organization_key(
                target / "gnupg", name, passphrase
            )
        except crypto.CryptoError as exc:
            raise CommandError(str(exc)) from None
        (target / "organization-public.asc").write_text(public)
        secret_path = target / "organization-secret.asc"
        descriptor = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secret)
        self.stdout.write(f"Organization key {fingerprint}")
        self.stdout.write(
            f"Public half: {target / 'organization-public.asc'} (install with importorgkey)."
        )
        self.stdout.write(
            f"Secret half: {secret_path}, protected by the passphrase: copy it to two "
            "encrypted drives kept in two places, never to a server. Write the fingerprint "
            "down on paper."
        )
