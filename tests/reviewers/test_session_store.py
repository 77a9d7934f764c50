"""A copy of the database holds no live back-office session: rows are keyed by a hash of the
cookie, so the keys in the table cannot be replayed as cookies."""

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from reviewers.session_store import stored_key


@pytest.fixture
def alice_logged_in(make_reviewer, desk, logged_in):
    return logged_in(make_reviewer("alice", desks=[desk]))


def test_the_session_table_holds_no_cookie_value(alice_logged_in):
    client = alice_logged_in
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    keys = list(Session.objects.values_list("session_key", flat=True))
    assert keys == [stored_key(cookie)]
    assert cookie not in keys


def test_a_key_read_from_the_table_does_not_open_a_session(alice_logged_in):
    assert alice_logged_in.get("/").status_code == 200
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = Session.objects.get().session_key
    response = thief.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_logging_out_deletes_the_row(alice_logged_in):
    alice_logged_in.post("/logout/")
    assert not Session.objects.exists()
