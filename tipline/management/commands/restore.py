import os
import sys

from django.core.management.base import BaseCommand, CommandError

from tipline.backup import BackupError
from tipline.restore import RestoreError, restore


class Command(BaseCommand):
    help = (
        "Restore a decrypted backup into this fresh install (migrated, empty): "
        "gpg --decrypt ARCHIVE | manage.py restore --from - (docs/operations.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--from",
            dest="source",
            required=True,
            metavar="FILE",
            help="the decrypted archive, or - for standard input",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="restore into an install that is not fresh: its whole database is replaced and "
            "the archive's files overwrite those of the same name",
        )

    def handle(self, source, force, **options):
        try:
            if source == "-":
                if sys.stdin.isatty():
                    raise CommandError("pipe the decrypted archive in: gpg --decrypt ARCHIVE | ...")
                summary = restore(sys.stdin.buffer, force=force)
            else:
                with open(source, "rb") as stream:
                    summary = restore(stream, force=force)
        except OSError as exc:
            raise CommandError(f"cannot read {source}: {exc.strerror}") from None
        except (RestoreError, BackupError) as exc:
            raise CommandError(str(exc)) from None
        files = ", ".join(f"{count} in {area}" for area, count in sorted(summary.files.items()))
        self.stdout.write(
            f"Restored the backup of {summary.created_at}: {sum(summary.rows.values())} rows and "
            f"{sum(summary.files.values())} files ({files}). Start the sites and the worker."
        )
        for variable in ("SECRET_KEY", "TIPLINE_CODENAME_PEPPER"):
            if os.environ.get(variable) or os.environ.get(f"{variable}_FILE"):
                self.stderr.write(
                    f"{variable} is set in this environment and overrides the restored secret in "
                    "the data dir: set it to the value the backed-up install used."
                )
