import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tipline.backup import BackupError, organization_key, write_backup, write_backup_file


class Command(BaseCommand):
    help = (
        "Write one archive of the database, the encrypted files, the GnuPG homes and the sites' "
        "secrets, encrypted to the organization's public key (docs/operations.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--to",
            required=True,
            metavar="FILE",
            help="a new file to write (never replaced), or - for standard output",
        )
        parser.add_argument(
            "--recipient-file",
            metavar="KEY.asc",
            help="encrypt to this armored public key instead of TIPLINE_ORGANIZATION_KEY_FILE",
        )

    def handle(self, to, recipient_file, **options):
        report = self.stdout
        try:
            recipient = organization_key(recipient_file)
            if to == "-":
                if sys.stdout.isatty():
                    raise CommandError("the archive is binary: redirect standard output")
                summary = write_backup(sys.stdout.buffer, recipient)
                report = self.stderr
            else:
                summary = write_backup_file(Path(to), recipient)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        files = ", ".join(f"{count} in {area}" for area, count in sorted(summary.files.items()))
        report.write(
            f"Backed up {sum(summary.rows.values())} rows and {sum(summary.files.values())} "
            f"files ({files}) to {to}: "
            f"{summary.archive_bytes} bytes encrypted to {summary.encrypted_to}, "
            f"SHA-256 {summary.archive_sha256}."
        )
        if not summary.has_pepper:
            report.write(
                "No codename pepper was found in the data dir: tipsters' codenames will not work "
                "after a restore. Run the backup with TIPLINE_SITE=public and the public site's "
                "environment, or keep TIPLINE_CODENAME_PEPPER safely yourself."
            )
