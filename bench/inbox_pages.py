"""How long inbox pages take over 100,000 tips, through the real view.

Creates a fresh database (SQLite in a temporary data directory, or the one DATABASE_URL names,
which must be an empty scratch database: bench/with_scratch_database.py makes one), stores N
tips as bench/stats_dashboard.py does (`manage.py seedtips`), tags a tenth of them, gives a tenth
a file and a twentieth a follow-up, and signs a reviewer of every desk in with password and TOTP.
Then it times GET requests to the inbox through Django's test client (URL routing, middleware,
the view, the template): the first page, each filter, and the page after the tip half-way down
the list (its cursor, as the "Next" links carry it), newest and highest priority first. The
baseline, measured in the same run, is a back-office page that queries no tip (the empty case
list) through the same client; the bare query for the first page's 50 ids is printed too.
Seeding 100,000 tips takes one to two minutes on 2 cores (eight keys, 400 envelopes, the rows).

    python bench/with_scratch_database.py postgresql://postgres@127.0.0.1:5432/postgres \\
        -- python bench/inbox_pages.py [--tips 100000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["TIPLINE_SITE"] = "backoffice"
SCRATCH = None  # a data directory made for this run, removed at the end
if "TIPLINE_DATA_DIR" not in os.environ:
    SCRATCH = tempfile.mkdtemp(prefix="bench-inbox-")
    os.environ["TIPLINE_DATA_DIR"] = SCRATCH
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tipline.settings")

PAGES = {
    "first page": "/",
    "the page after the tip half-way down": "/?after={middle}",
    "new": "/?view=new",
    "assigned to me": "/?view=mine",
    "status investigating": "/?status=investigating",
    "tag apt": "/?tag=apt",
    "with files": "/?has_files=on",
    "unread follow-up": "/?unread_followup=on",
    "one desk, oldest first": "/?desk=cyber&sort=received",
    "highest priority": "/?sort=-priority",
    "highest priority, after the tip half-way down": "/?sort=-priority&after={middle_priority}",
}


def decorate(rng: random.Random) -> None:
    """Tags, files and follow-ups on a share of the tips, for the filters to find."""
    from tipline.models import Attachment, Message, Tag, Tip

    apt = Tag.objects.create(name="apt")
    ids = list(Tip.objects.values_list("pk", flat=True))
    through = Tip.tags.through
    through.objects.bulk_create(
        [through(tip_id=pk, tag_id=apt.pk) for pk in rng.sample(ids, len(ids) // 10)],
        batch_size=5000,
    )
    Attachment.objects.bulk_create(
        [
            Attachment(tip_id=pk, storage_name=f"{pk:032x}", ciphertext_bytes=1000)
            for pk in rng.sample(ids, len(ids) // 10)
        ],
        batch_size=5000,
    )
    Message.objects.bulk_create(
        [
            Message(tip_id=pk, author=Message.Author.TIPSTER, body_for_desk=b"x" * 256)
            for pk in rng.sample(ids, len(ids) // 20)
        ],
        batch_size=5000,
    )


def sign_in(reviewer):
    from django.test import Client
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    reviewer.set_password("bench-password-1")
    reviewer.save()
    device = TOTPDevice.objects.create(user=reviewer, name="bench", confirmed=True)
    client = Client(HTTP_HOST="127.0.0.1")
    response = client.post(
        "/login/",
        {
            "username": reviewer.username,
            "password": "bench-password-1",
            "otp_token": format(totp(device.bin_key), "06d"),
        },
    )
    assert response.status_code == 302, response.content
    return client


def page_filter(reviewer, url: str):
    """The filter and cursor the inbox view reads from ``url``."""
    from django.http import QueryDict

    from reviewers.forms import InboxFilterForm

    query = QueryDict(urlsplit(url).query)
    form = InboxFilterForm(reviewer, query)
    assert form.is_valid(), form.errors
    return form.to_filter(), query.get("after", "")


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tips", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.stats_dashboard import populate, timed_ms
    from reviewers import triage
    from reviewers.access import readable_tips
    from tipline.models import Tip

    call_command("migrate", verbosity=0)
    reviewer = populate(args.tips)
    decorate(random.Random(11))  # noqa: S311  (sample data, not secrets)
    with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum would keep
        cursor.execute("ANALYZE")
    client = sign_in(reviewer)
    print(f"{connection.vendor}, {Tip.objects.count()} tips, {args.repeat} requests per page")

    bare = readable_tips(reviewer).order_by("-received_at", "-pk").values_list("pk", flat=True)
    query = statistics.median(timed_ms(lambda: list(bare[:50]), args.repeat))
    print(f"the first page's 50 ids by bare query: {query:.1f} ms")
    # Baseline: a page through the same client and middleware that queries no tip.
    baseline = statistics.median(timed_ms(lambda: client.get("/cases/"), args.repeat))
    print(f"baseline, the (empty) cases page, no tip query: {baseline:.1f} ms")
    cursors = {}
    for name, sort in (("middle", "-received"), ("middle_priority", "-priority")):
        tip = triage.inbox(reviewer, triage.InboxFilter(sort=sort))[args.tips // 2 - 1]
        cursors[name] = quote(triage.cursor_of(tip, triage.SORTS[sort]))
    for name, url in PAGES.items():
        url = url.format(**cursors)
        assert client.get(url).status_code == 200, url  # warm, and check
        times = timed_ms(lambda url=url: client.get(url), args.repeat)
        median, high = statistics.median(times), p95(times)
        # The page's own queries without the request around them, and the count of its tips
        # that page numbers needed (no longer run): less noisy on a busy machine.
        wanted, after = page_filter(reviewer, url)
        page = timed_ms(
            lambda w=wanted, a=after: triage.inbox_page(reviewer, w, after=a), args.repeat
        )
        count = timed_ms(lambda w=wanted: triage.inbox(reviewer, w).count(), 5)
        print(
            f"{name}: p50 {median:.1f} ms, p95 {high:.1f} ms "
            f"({median / baseline:.1f}x / {high / baseline:.1f}x baseline); "
            f"its queries {statistics.median(page):.1f} ms, "
            f"a count of its tips {statistics.median(count):.1f} ms"
        )


if __name__ == "__main__":
    try:
        main()
    finally:
        if SCRATCH:
            from bench.stats_dashboard import stop_gpg_agents

            stop_gpg_agents(SCRATCH)
            shutil.rmtree(SCRATCH, ignore_errors=True)
