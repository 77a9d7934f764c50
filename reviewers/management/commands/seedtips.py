from django.core.management.base import BaseCommand, CommandError

from reviewers import seeding


class Command(BaseCommand):
    help = (
        "Create COUNT made-up tips, encrypted to their desks' reviewers, for trying the back "
        "office and for the benchmarks. Needs DEBUG or --i-know-this-is-not-production; "
        "refused on a database with real tips unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("count", type=int)
        parser.add_argument("--days", type=int, default=365, help="spread over this many days")
        parser.add_argument(
            "--envelopes",
            type=int,
            default=seeding.ENVELOPES_PER_DESK,
            help="distinct envelopes encrypted per desk (one gpg call each), shared in turn",
        )
        parser.add_argument("--seed", type=int, default=7, help="for a repeatable spread")
        parser.add_argument(
            "--i-know-this-is-not-production", action="store_true", dest="not_production"
        )
        parser.add_argument(
            "--force", action="store_true", help="seed even though real tips are there"
        )

    def handle(self, count, days, envelopes, seed, not_production, force, **options):
        try:
            report = seeding.seed_tips(
                count,
                not_production=not_production,
                force=force,
                days=days,
                envelopes_per_desk=envelopes,
                seed=seed,
            )
        except seeding.SeedingRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{report.tips} made-up tips on {', '.join(report.desks)} in "
            f"{report.total_seconds:.1f} s, of which {report.envelopes} distinct envelopes "
            f"encrypted in {report.encrypt_seconds:.1f} s."
        )
