from django.core.management.base import BaseCommand, CommandError

from tipline.audit import verify
from tipline.models import AuditEvent


class Command(BaseCommand):
    help = (
        "Check the audit trail's hash chain. Prints the head hash: keep it elsewhere and pass "
        "it back with --expect-head to detect entries cut off the end."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--expect-head",
            default="",
            help="a head hash printed by an earlier run; it must still be there",
        )

    def handle(self, expect_head, **options):
        result = verify()
        problems = list(result.problems)
        if expect_head and not AuditEvent.objects.filter(entry_hash=expect_head).exists():
            problems.append(f"the recorded head {expect_head} is gone: entries were cut off")
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"the audit trail was tampered with ({len(problems)} problems)")
        self.stdout.write(f"OK: {result.entries} entries, head {result.head}")
