from django.core.management.base import BaseCommand, CommandError

from tipline import health


class Command(BaseCommand):
    help = "Check the database, the broker, a worker and gpg; exit 1 if any is down."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=2.0)

    def handle(self, timeout, **options):
        results = health.check(timeout)
        for name, result in results.items():
            self.stdout.write(f"{name:10} {result}")
        failing = [name for name, result in results.items() if result != "ok"]
        if failing:
            raise CommandError(f"unhealthy: {', '.join(failing)}")
