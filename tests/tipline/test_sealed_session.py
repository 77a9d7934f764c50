"""The public site's session cookie: kept only in the browser, and unreadable there."""

import base64

import pytest
from django.core import signing

from tipline import sealed_session
from tipline.sealed_session import SessionStore


def saved(data: dict) -> str:
    store = SessionStore()
    store.update(data)
    store.save()
    return store.session_key


def test_it_gives_back_what_was_stored(settings):
    cookie = saved({"tipline_tip": 41, "tipline_started": 1_700_000_000})
    assert SessionStore(cookie).load() == {"tipline_tip": 41, "tipline_started": 1_700_000_000}


def test_it_shows_nothing_of_the_session(settings):
    cookie = saved({"tipline_tip": 41, "tipline_started": 1_700_000_000, "pad": "tipline" * 20})
    assert ":" not in cookie and "tipline" not in cookie
    raw = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
    assert b"tipline" not in raw and b"41" not in raw
    with pytest.raises(signing.BadSignature):
        signing.loads(cookie, salt=sealed_session.SIGNING_SALT)


@pytest.mark.parametrize(
    "forge",
    [
        lambda cookie: cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB"),
        lambda cookie: signing.dumps({"tipline_tip": 41}, salt=sealed_session.SIGNING_SALT),
        lambda cookie: "",
        lambda cookie: "not base64 at all!",
    ],
)
def test_it_starts_an_empty_session_for_a_cookie_it_did_not_seal(settings, forge):
    store = SessionStore(forge(saved({"tipline_tip": 41})))
    assert store.load() == {}
    assert store.modified  # a fresh cookie replaces the bad one


def test_it_refuses_a_cookie_sealed_under_another_secret_key(settings):
    cookie = saved({"tipline_tip": 41})
    settings.SECRET_KEY = "another secret key, another site" * 2
    assert SessionStore(cookie).load() == {}


def test_it_expires_like_a_signed_cookie(settings):
    cookie = saved({"tipline_tip": 41})
    settings.SESSION_COOKIE_AGE = -1
    assert SessionStore(cookie).load() == {}
