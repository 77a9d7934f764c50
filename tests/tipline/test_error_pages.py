"""Error pages: friendly, in the tipster's language, and silent about the server behind them."""

import platform
import re
from html import unescape
from unittest import mock

import django
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tipline import views as public_views

# What a server error must not show: the exception's text, where the code lives, what runs it.
EXCEPTION_TEXT = "exception-canary-5150 in /srv/tipline/secret_module.py"
REVEALING = [
    "Traceback",
    "RuntimeError",
    "exception-canary-5150",
    "secret_module",
    "/srv/",
    ".py",
    "site-packages",
    "Django",
    "Python",
    "WSGI",
    "CSRF",
    "Request Method",
    django.get_version(),
    platform.python_version(),
]


@pytest.fixture
def alice(public_site, desk, make_reviewer):
    return make_reviewer("alice", desks=[desk], key="alice")


def arabic_client(settings, **kwargs) -> Client:
    client = Client(**kwargs)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    return client


def bad_request(client, settings, monkeypatch):
    """A Host header the site does not serve: Django answers it through handler400."""
    return client.get("/checkin/", HTTP_HOST="attacker.example")


def form_too_big_to_read(client, settings, monkeypatch):
    """A form over DATA_UPLOAD_MAX_MEMORY_SIZE: Django refuses to read it, through handler400."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    return client.post("/checkin/", {"codename": "x" * 200})


def csrf_failure(client, settings, monkeypatch):
    checking = arabic_client(settings, enforce_csrf_checks=True)
    return checking.post("/checkin/", {"codename": "abacus " * 7})


def missing_page(client, settings, monkeypatch):
    return client.get("/nowhere/")


def file_too_large(client, settings, monkeypatch):
    settings.MAX_ATTACHMENT_BYTES = 1024
    upload = SimpleUploadedFile("ledger.bin", b"x" * 2048)
    return client.post("/submit/cyber/", {"message": "a tip", "attachment": upload})


def server_error(client, settings, monkeypatch):
    monkeypatch.setattr(
        public_views, "get_language", mock.Mock(side_effect=RuntimeError(EXCEPTION_TEXT))
    )
    client.raise_request_exception = False
    return client.get("/")


@pytest.mark.parametrize(
    ("status", "provoke"),
    [
        (400, bad_request),
        (400, form_too_big_to_read),
        (403, csrf_failure),
        (404, missing_page),
        (413, file_too_large),
        (500, server_error),
    ],
    ids=["400-host", "400-too-big-to-read", "403-csrf", "404", "413", "500"],
)
def test_it_explains_an_error_in_arabic_and_reveals_nothing(
    alice, settings, monkeypatch, status, provoke
):
    response = provoke(arabic_client(settings), settings, monkeypatch)
    assert response.status_code == status
    page = unescape(response.content.decode())
    assert '<html lang="ar" dir="rtl">' in page
    [alert] = re.findall(r'<p class="error" role="alert">(.*?)</p>', page, re.S)
    assert re.search(r"[\u0600-\u06ff]{3}", alert)  # words in Arabic script...
    assert not re.search(r"[A-Za-z]", alert)  # ...and none in English
    assert "خط البلاغات" in page  # the site's name, and its header, in Arabic
    for revealing in REVEALING:
        assert revealing not in page, revealing
        for name, value in response.headers.items():
            assert revealing not in value, (name, revealing)
    assert "Server" not in response.headers and "X-Powered-By" not in response.headers
