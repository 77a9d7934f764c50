"""Invariant 3: no client identity reaches the application, and pages load nothing foreign."""

import logging
import re

import pytest
from django.test import RequestFactory

from tipline.middleware import forget_client_identity

IDENTITY = {
    "REMOTE_ADDR": "203.0.113.77",
    "HTTP_USER_AGENT": "Mozilla/5.0 canary-agent",
    "HTTP_X_FORWARDED_FOR": "198.51.100.23",
    "HTTP_X_REAL_IP": "198.51.100.24",
    "HTTP_FORWARDED": "for=198.51.100.25",
    "HTTP_REFERER": "https://example.org/canary-referer",
}


def test_the_first_middleware_removes_every_identifying_header():
    seen = {}

    def view(request):
        seen.update(request.META)
        return None

    forget_client_identity(view)(RequestFactory().get("/", **IDENTITY))
    leaked = {k: v for k, v in seen.items() if str(v) in IDENTITY.values()}
    assert leaked == {}


def test_it_runs_before_everything_else(settings):
    from tipline import settings as tipline_settings

    for middleware in tipline_settings.SITE_MIDDLEWARE.values():
        assert middleware[0] == "tipline.middleware.forget_client_identity"


@pytest.mark.parametrize("path", ["/", "/submit/cyber/", "/submit/missing/"])
def test_public_pages_leave_no_identity_in_logs(client, public_site, desk, path, caplog):
    caplog.set_level(logging.DEBUG)
    client.get(path, **IDENTITY)
    client.post(path, {"message": ""}, **IDENTITY)
    for value in IDENTITY.values():
        assert value not in caplog.text


def test_an_error_report_contains_no_request_metadata(client, public_site, caplog, settings):
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    client.raise_request_exception = False
    client.get("/submit/cyber/?x=" + "%ff" * 3, **IDENTITY)  # logs a 404 warning
    for record in caplog.records:
        request = getattr(record, "request", None)
        if request is not None:
            for value in IDENTITY.values():
                assert value not in str(request.META)


@pytest.mark.parametrize("path", ["/", "/submit/cyber/", "/nowhere/"])
def test_public_pages_carry_the_security_headers_and_nothing_foreign(
    client, public_site, desk, path
):
    response = client.get(path)
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp  # no script may run at all
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert "camera=()" in response["Permissions-Policy"]
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    html = response.content.decode()
    assert "<script" not in html
    assert not re.search(r"""(src|href|action)=["']?(https?:)?//""", html)


def test_it_announces_the_onion_address_on_the_clearnet_only(client, public_site, settings):
    settings.ONION_ADDRESS = "exampleonionaddressxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion"
    settings.ALLOWED_HOSTS = ["localhost", settings.ONION_ADDRESS]
    response = client.get("/?x=1", HTTP_HOST="localhost")
    assert response["Onion-Location"] == f"http://{settings.ONION_ADDRESS}/?x=1"
    response = client.get("/", HTTP_HOST=settings.ONION_ADDRESS)
    assert not response.has_header("Onion-Location")
