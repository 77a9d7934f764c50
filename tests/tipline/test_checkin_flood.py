"""A flood of codename guesses: one site-wide budget, counted before any Argon2 work, and
nothing about the client kept."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.utils import timezone

from tipline import codenames
from tipline.models import ThrottleWindow

CLIENT_CANARIES = {
    "REMOTE_ADDR": "203.0.113.41",
    "HTTP_USER_AGENT": "flood-agent-canary/1.0",
    "HTTP_X_FORWARDED_FOR": "198.51.100.41",
}


@pytest.fixture
def codename(public_site, desk, make_reviewer):
    make_reviewer("alice", desks=[desk], key="alice")
    response = Client().post("/submit/cyber/", {"message": "first tip"})
    assert response.status_code == 200
    return response.context["codename"]


@pytest.fixture
def hashed(monkeypatch):
    """Every codename the Argon2 work is done for, counted (the real derivation still runs)."""
    calls = []
    real = codenames.derive

    def counted(codename):
        calls.append(codename)
        return real(codename)

    monkeypatch.setattr(codenames, "derive", counted)
    return calls


def database_text() -> str:
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            parts.extend(repr(row) for row in cursor.fetchall())
    parts.extend(repr(session.get_decoded()) for session in Session.objects.all())
    return "\n".join(parts)


def test_a_flood_of_wrong_codenames_hits_the_limit(codename, settings, hashed, monkeypatch):
    settings.CHECKINS_PER_MINUTE = 10
    start = timezone.now().replace(second=0, microsecond=0)
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(seconds=5))
    statuses = [
        Client(**CLIENT_CANARIES).post("/checkin/", {"codename": f"{n} wrong guess " * 7})
        for n in range(60)
    ]
    assert [r.status_code for r in statuses].count(400) == 10
    assert [r.status_code for r in statuses[10:]] == [429] * 50
    assert len(hashed) == 10  # refused guesses cost no Argon2 work
    assert b"wait a minute" in statuses[-1].content
    # One budget for everyone: the right codename waits too, until the next window.
    assert Client().post("/checkin/", {"codename": codename}).status_code == 429
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(seconds=61))
    assert Client().post("/checkin/", {"codename": codename}).status_code == 302


def test_the_flood_leaves_only_counts_behind(codename, settings, monkeypatch):
    settings.CHECKINS_PER_MINUTE = 5
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    for n in range(20):
        Client(**CLIENT_CANARIES).post("/checkin/", {"codename": f"{n} wrong guess " * 7})
    assert {field.name for field in ThrottleWindow._meta.get_fields()} == {
        "id",
        "scope",
        "window_start",
        "count",
    }
    checkins = ThrottleWindow.objects.filter(scope__startswith="checkin")
    assert sum(checkins.values_list("count", flat=True)) == 5
    text = database_text()
    for canary in (*CLIENT_CANARIES.values(), "wrong guess"):
        assert canary not in text
