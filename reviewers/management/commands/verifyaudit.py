from django.core.management.base import BaseCommand, CommandError

from reviewers.audit import verify


class Command(BaseCommand):
    help = (
        "Check the audit trail's hash chain. Prints the head hash: keep it elsewhere to "
        "detect entries cut off the end later."
    )

    def handle(self, **options):
        result = verify()
        for problem in result.problems:
            self.stderr.write(problem)
        if result.problems:
            raise CommandError(
                f"the audit trail was tampered with ({len(result.problems)} problems)"
            )
        self.stdout.write(f"OK: {result.entries} entries, head {result.head}")
