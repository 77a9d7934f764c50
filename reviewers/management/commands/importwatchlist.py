"""Import a watch list from a CSV file (reviewers/watchlists.py): ``importwatchlist NAME FILE``."""

from django.core.management.base import BaseCommand, CommandError

from reviewers import watchlists


class Command(BaseCommand):
    help = "Import a watch list (CSV: kind,value[,chain,platform,label]) as keyed hashes."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the list to add the entries to (made if new)")
        parser.add_argument("file", help="UTF-8 CSV with a header row")
        parser.add_argument("--source", default="", help="where the list came from")
        parser.add_argument(
            "--on-arrival",
            action="store_true",
            help="the list is public (a sanctions list): also match new tips as they arrive",
        )

    def handle(self, name, file, source, on_arrival, **options):
        try:
            with open(file, encoding="utf-8-sig") as handle:
                text = handle.read(watchlists.MAX_BYTES + 1)
            result = watchlists.import_csv(None, name, text, source, on_arrival=on_arrival)
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {file}: {exc}") from None
        except watchlists.WatchListError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"{result.imported} entries imported, {len(result.refused)} rows refused, "
            f"{len(result.flagged)} tips newly flagged."
        )
        for line, reason in result.refused:
            self.stdout.write(f"  line {line}: {reason}")
