"""The per-minute budgets: counted in the database, several at once in one transaction."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.utils import timezone

from tipline import throttle
from tipline.models import ThrottleWindow

pytestmark = pytest.mark.django_db(transaction=True)

MINUTE = datetime(2026, 11, 26, 10, 0, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: MINUTE)


def counts() -> dict[str, int]:
    return dict(ThrottleWindow.objects.values_list("scope", "count"))


def test_it_counts_every_budget_until_one_is_spent():
    budgets = [("desk", 2), ("site", 3)]
    assert [throttle.allow_all(budgets) for _ in range(3)] == [True, True, False]
    # The desk's budget refused the third: the site's was not counted for it.
    assert counts() == {"desk": 2, "site": 2}
    assert throttle.allow_all([("other desk", 5), ("site", 3)])
    assert not throttle.allow_all([("other desk", 5), ("site", 3)])
    # Refused by the site's budget after the desk's counted it, as each check runs in turn.
    assert counts() == {"desk": 2, "site": 3, "other desk": 2}


def test_a_new_window_starts_each_minute(monkeypatch):
    assert throttle.allow("checkin", 1)
    assert not throttle.allow("checkin", 1)
    monkeypatch.setattr(timezone, "now", lambda: MINUTE.replace(minute=1))
    assert throttle.allow("checkin", 1)


def test_two_budgets_cost_one_commit_once_their_windows_exist():
    """Every write commits to disk (synchronous=FULL on SQLite); a tip checks two budgets
    before its body is read, which cost four queries and two commits."""
    budgets = [("tips:desk:1", 60), ("tips", 120)]
    assert throttle.allow_all(budgets)
    statements = []

    def record(execute, sql, params, many, context):
        if not sql.upper().startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE opens the block
            statements.append((sql.split()[0].upper(), connection.in_atomic_block))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert throttle.allow_all(budgets)
    # Two updates, in one transaction: one commit. No lookup of the windows first.
    assert statements == [("UPDATE", True), ("UPDATE", True)]
