"""Watch lists: imported as CSV, kept as keyed hashes only, and matched against the tips'
recorded indicators, which flags and prioritizes the tips that hit one."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from reviewers import correlation, watchlists
from reviewers.models import WatchListEntry
from tests.reviewers.test_correlation import page, tip_with, typed
from tipline.models import AuditEvent, Tip

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "watchlist-example.csv"
SEGWIT = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"


@pytest.fixture
def alice(make_reviewer, desk):
    return make_reviewer("alice", desks=[desk], key="alice")


@pytest.fixture
def admin(make_reviewer):
    return make_reviewer("root", is_staff=True, is_superuser=True)


def test_the_example_list_imports_its_good_rows_and_reports_the_bad(backoffice, admin):
    result = watchlists.import_csv(admin.user, "Example list", EXAMPLE.read_text(), "tests")
    assert result.imported == 5
    assert [line for line, _reason in result.refused] == [7, 8]
    assert "checksum" in result.refused[0][1]
    dump = io.StringIO()
    call_command("dumpdata", "reviewers", stdout=dump)
    text = dump.getvalue().lower()
    for watched in (SEGWIT, "treasurer@example.org", "example_launderer", "tr7nhqjekq"):
        assert watched not in text
    assert WatchListEntry.objects.filter(
        digest=correlation.digest("email", "treasurer@example.org")
    )
    event = AuditEvent.objects.get(action="watchlist.import")
    assert event.detail["entries"] == 5 and event.detail["refused"] == 2


def test_a_tip_opened_after_the_import_is_flagged_and_raised(
    backoffice, admin, desk, alice, logged_in
):
    watchlists.import_csv(admin.user, "Example list", EXAMPLE.read_text())
    tip = tip_with(desk, [alice.key], text=f"paid into {SEGWIT} last week")
    other = tip_with(desk, [alice.key], text="nothing watched here")
    reader = logged_in(alice, unlock=True)
    html = page(reader, tip)
    assert "On a watch list" in html and "Example entity A (made up)" in html
    tip.refresh_from_db()
    assert tip.watchlist_hit and tip.priority == Tip.Priority.HIGH
    page(reader, other)
    other.refresh_from_db()
    assert not other.watchlist_hit and other.priority == Tip.Priority.NORMAL
    assert list(
        AuditEvent.objects.filter(action="tip.watchlist_hit").values_list("tip_id", flat=True)
    ) == [tip.pk]


def test_tips_recorded_before_the_import_are_flagged_by_it(backoffice, admin, desk, alice):
    tip = tip_with(
        desk, [alice.key], typed("handle", "telegram:example_launderer", platform="telegram")
    )
    correlation.record(
        tip, correlation.indicators_in([typed("handle", "telegram:example_launderer")], [])
    )
    result = watchlists.import_csv(admin.user, "Example list", EXAMPLE.read_text())
    assert result.flagged == [tip.pk]
    tip.refresh_from_db()
    assert tip.watchlist_hit
    # Importing again flags nothing twice.
    assert watchlists.import_csv(admin.user, "Example list", EXAMPLE.read_text()).flagged == []


def test_urgent_stays_urgent(backoffice, admin, desk, alice):
    tip = tip_with(desk, [alice.key], typed("email", "treasurer@example.org"))
    Tip.objects.filter(pk=tip.pk).update(priority=Tip.Priority.URGENT)
    correlation.record(
        tip, correlation.indicators_in([typed("email", "treasurer@example.org")], [])
    )
    watchlists.import_csv(admin.user, "Example list", EXAMPLE.read_text())
    tip.refresh_from_db()
    assert tip.watchlist_hit and tip.priority == Tip.Priority.URGENT


def test_staff_import_through_the_page_and_reviewers_cannot(
    backoffice, admin, alice, logged_in, client
):
    logged_in(alice)
    assert client.get("/watchlists/").status_code == 404
    client.logout()
    logged_in(admin)
    response = client.post(
        "/watchlists/", {"name": "Example list", "source": "tests", "csv": EXAMPLE.read_text()}
    )
    assert response.status_code == 200, response.content.decode()[-2500:]
    assert "5 entries imported" in response.content.decode()
    response = client.post("/watchlists/", {"name": "Bad", "csv": "address\nbc1q\n"})
    assert response.status_code == 400 and "kind,value" in response.content.decode()


def test_importwatchlist_imports_a_file(backoffice, tmp_path):
    out = io.StringIO()
    call_command("importwatchlist", "Example list", str(EXAMPLE), "--source", "tests", stdout=out)
    assert "5 entries imported, 2 rows refused" in out.getvalue()
    assert "line 7:" in out.getvalue()
    assert WatchListEntry.objects.count() == 5
