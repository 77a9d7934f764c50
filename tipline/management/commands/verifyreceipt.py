"""Check a tipster's signed receipt: ``python manage.py verifyreceipt FILE`` (``-`` for stdin).

Exit status 0 when the receipt is signed by a receipt key and matches a stored tip, 1 otherwise.
Audited, with the tip it matched.
"""

import sys

from django.core.management.base import BaseCommand, CommandError

from tipline import receipts
from tipline.audit import log_action


class Command(BaseCommand):
    help = "Verify a signed receipt against the receipt keys and the stored tips."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the receipt, as the tipster kept it; - for stdin")

    def handle(self, *args, file: str, **options):
        try:
            if file == "-":
                text = sys.stdin.read()
            else:
                with open(file, encoding="utf-8", errors="replace") as handle:
                    text = handle.read(64 * 1024)
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        result = receipts.verify(text)
        log_action(
            None,
            "receipt.verify",
            tip_id=result.tip.pk if result.tip else None,
            valid=result.valid,
            reference=result.reference,
        )
        for label, value in (
            ("Reference", result.reference),
            ("Received", result.received),
            ("Submission SHA-256", result.digest),
            ("Signed by", result.signed_by),
        ):
            if value:
                self.stdout.write(f"{label}: {value}")
        if not result.valid:
            self.stdout.write(f"NOT VALID: {result.problem}")
            sys.exit(1)
        self.stdout.write(
            f"VALID: tip #{result.tip.pk}, received {result.tip.received_at:%Y-%m-%d %H:%M} UTC"
        )
