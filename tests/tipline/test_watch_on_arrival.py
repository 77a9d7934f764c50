"""Watch lists matched as tips arrive: a tip that names an entry of a public list (a sanctions
list's addresses, say) is flagged when it is stored and raised to high priority by routing,
before anyone has opened it.

The public site never holds the back office's indicator key, so it cannot compute the keyed
digests the back office matches on. A list an admin marks as public is therefore also kept as
plain SHA-256 digests of its entries: nothing secret, since the list is public, and all the
public site needs to compare a tip's indicators against it. The tip keeps only the flag.
"""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from reviewers import watchlists
from tests.conftest import switch_site
from tipline import routing, watch_on_arrival
from tipline.models import ArrivalWatchDigest, AuditEvent, Question, RoutingDecision, Tip
from tipline.questionnaires import HONEYPOT

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "watchlist-example.csv"
SEGWIT = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
UNLISTED = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


@pytest.fixture
def admin(backoffice, make_reviewer):
    return make_reviewer("root", is_staff=True, is_superuser=True)


@pytest.fixture
def public(settings):
    """Switches the test to the public site, as its process runs: no indicator key."""

    def switch():
        switch_site(settings, "public")
        settings.CODENAME_PEPPER = "pepper for tests"
        settings.INDICATOR_KEY = None

    return switch


@pytest.fixture
def desk_with_wallet(desk, make_reviewer):
    make_reviewer("alice", desks=[desk], key="alice")
    Question.objects.create(
        desk=desk, key="wallet", kind="crypto_address", position=10, labels={"en": "Wallet"}
    )
    return desk


def import_example(admin, on_arrival: bool = True):
    return watchlists.import_csv(
        admin.user, "Example list", EXAMPLE.read_text(), "tests", on_arrival=on_arrival
    )


def send(message: str = "a tip", **answers):
    response = Client().post("/submit/cyber/", {"message": message, **answers})
    assert response.status_code == 200, response.content.decode()[:2000]
    return Tip.objects.latest("pk")


def test_a_tip_naming_a_listed_address_is_flagged_on_arrival_and_raised_by_routing(
    admin, desk_with_wallet, public
):
    import_example(admin)
    public()
    tip = send(wallet_chain="bitcoin", wallet_address=SEGWIT)
    assert tip.watchlist_hit
    assert routing.route(tip.pk)
    tip.refresh_from_db()
    assert tip.priority == Tip.Priority.HIGH
    assert "watch list" in RoutingDecision.objects.get(tip=tip).rule
    assert AuditEvent.objects.filter(action="tip.watchlist_hit", tip_id=tip.pk).exists()
    # A tip that names nothing listed is left as it is.
    other = send(wallet_chain="bitcoin", wallet_address=UNLISTED)
    routing.route(other.pk)
    other.refresh_from_db()
    assert not other.watchlist_hit and other.priority == Tip.Priority.NORMAL
    assert "watch list" not in RoutingDecision.objects.get(tip=other).rule


def test_an_entry_found_in_the_tipsters_own_words_is_matched_too(admin, desk_with_wallet, public):
    import_example(admin)
    public()
    assert send(f"they wrote to Treasurer@Example.org and paid {SEGWIT}").watchlist_hit
    assert not send("they paid someone, I do not know whom").watchlist_hit


def test_a_list_not_marked_public_is_not_matched_on_arrival(admin, desk_with_wallet, public):
    import_example(admin, on_arrival=False)
    assert ArrivalWatchDigest.objects.count() == 0
    public()
    tip = send(wallet_chain="bitcoin", wallet_address=SEGWIT)
    assert not tip.watchlist_hit  # it waits for a reviewer to open it, as before


def test_the_tip_keeps_the_flag_and_nothing_of_what_matched(admin, desk_with_wallet, public):
    import_example(admin)
    public()
    tip = send(f"see {UNLISTED}", wallet_chain="bitcoin", wallet_address=SEGWIT)
    assert tip.watchlist_hit
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    text = dump.getvalue().lower()
    assert UNLISTED not in text and SEGWIT not in text
    # What the public site holds is the list's entries, digested without a key: the list is
    # public, so whoever has it can compute them anyway. A tip's own indicators are never kept.
    assert ArrivalWatchDigest.objects.filter(
        digest=watch_on_arrival.digest("crypto_address", SEGWIT)
    ).exists()
    assert not ArrivalWatchDigest.objects.filter(
        digest=watch_on_arrival.digest("crypto_address", UNLISTED)
    ).exists()
    assert ArrivalWatchDigest.objects.count() == 5
    assert {f.name for f in ArrivalWatchDigest._meta.get_fields()} == {"id", "watch_list", "digest"}


def test_a_follow_up_naming_a_listed_address_flags_its_tip(admin, desk_with_wallet, public):
    import_example(admin)
    public()
    client = Client()
    response = client.post("/submit/cyber/", {"message": "a first tip"})
    codename = response.context["codename"]
    tip = Tip.objects.latest("pk")
    routing.route(tip.pk)
    assert not tip.watchlist_hit
    client.post("/checkin/", {"codename": codename})
    response = client.post("/tip/followup/", {"message": f"and the wallet was {SEGWIT}"})
    assert response.status_code in (200, 302), response.content.decode()[:2000]
    tip.refresh_from_db()
    assert tip.watchlist_hit and tip.priority == Tip.Priority.HIGH
    assert AuditEvent.objects.filter(action="tip.watchlist_hit", tip_id=tip.pk).exists()


def test_a_bot_that_pastes_listed_addresses_stays_at_the_bottom(admin, desk_with_wallet, public):
    import_example(admin)
    public()
    tip = send(f"cheap pills {SEGWIT}", **{HONEYPOT: "filled by a bot"})
    assert tip.suspected_spam and tip.watchlist_hit
    routing.route(tip.pk)
    tip.refresh_from_db()
    # Flagged, so a reviewer sees it; not raised, or a flood could buy the top of the inbox.
    assert tip.priority == Tip.Priority.LOW


def test_a_list_stops_being_matched_on_arrival(admin, desk_with_wallet, public):
    result = import_example(admin)
    assert watchlists.stop_matching_on_arrival(admin.user, result.watch_list) == 5
    assert ArrivalWatchDigest.objects.count() == 0
    result.watch_list.refresh_from_db()
    assert not result.watch_list.match_on_arrival
    assert AuditEvent.objects.filter(action="watchlist.arrival_stopped").exists()
    public()
    assert not send(wallet_chain="bitcoin", wallet_address=SEGWIT).watchlist_hit


def test_staff_mark_a_list_public_on_the_page_and_with_the_command(
    admin, logged_in, tmp_path, desk
):
    staff = logged_in(admin)
    response = staff.post(
        "/watchlists/",
        {"name": "Pasted", "source": "", "csv": EXAMPLE.read_text(), "on_arrival": "on"},
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    assert ArrivalWatchDigest.objects.filter(watch_list__name="Pasted").count() == 5
    html = response.content.decode()
    assert "5 entries matched as tips arrive" in html
    pasted = ArrivalWatchDigest.objects.filter(watch_list__name="Pasted").first().watch_list
    response = staff.post("/watchlists/", {"stop_arrival": str(pasted.pk)})
    assert response.status_code == 200
    assert "no longer matched as tips arrive" in response.content.decode()
    assert not ArrivalWatchDigest.objects.filter(watch_list=pasted).exists()
    call_command(
        "importwatchlist", "From a file", str(EXAMPLE), "--on-arrival", stdout=io.StringIO()
    )
    assert ArrivalWatchDigest.objects.filter(watch_list__name="From a file").count() == 5
    call_command("importwatchlist", "Private", str(EXAMPLE), stdout=io.StringIO())
    assert not ArrivalWatchDigest.objects.filter(watch_list__name="Private").exists()


def test_without_a_public_list_no_tip_is_searched_for_indicators(
    admin, desk_with_wallet, public, monkeypatch
):
    from tipline import indicators

    import_example(admin, on_arrival=False)
    public()
    searched = []
    real = indicators.find_in_text
    monkeypatch.setattr(
        indicators, "find_in_text", lambda text: searched.append(text) or real(text)
    )
    send(f"paid into {SEGWIT}")
    assert searched == []
