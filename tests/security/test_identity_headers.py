"""Invariant 3, continued: client hints, Do Not Track and the addresses proxies and CDNs add
are removed with the rest of the client's identity (tests/security/test_identity.py)."""

import pytest
from django.test import RequestFactory

from tests.security.test_identity import IDENTITY
from tipline.middleware import forget_client_identity

# What browsers, proxies and CDNs add that could identify or fingerprint the sender.
HINTS_AND_PROXY_ADDRESSES = {
    "HTTP_SEC_CH_UA": '"Chromium";v="124", "canary-brand";v="8"',
    "HTTP_SEC_CH_UA_PLATFORM": '"canary-platform"',
    "HTTP_SEC_CH_UA_MOBILE": "?1",
    "HTTP_DNT": "1",
    "HTTP_VIA": "1.1 canary-proxy.example.org",
    "HTTP_CLIENT_IP": "198.51.100.31",
    "HTTP_TRUE_CLIENT_IP": "198.51.100.32",
    "HTTP_CF_CONNECTING_IP": "198.51.100.33",
}


def meta_seen_by_the_view(**headers) -> dict:
    seen = {}

    def view(request):
        seen.update(request.META)

    forget_client_identity(view)(RequestFactory().get("/", **headers))
    return seen


@pytest.mark.parametrize("header", HINTS_AND_PROXY_ADDRESSES)
def test_the_first_middleware_removes_client_hints_dnt_and_proxy_addresses(header):
    seen = meta_seen_by_the_view(**{header: HINTS_AND_PROXY_ADDRESSES[header]})
    assert header not in seen


def test_an_error_report_contains_no_client_identity_at_all(client, public_site, caplog, settings):
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    client.raise_request_exception = False
    # A 404 is logged with the request, which error reports (mail, Sentry) would include.
    client.get("/nowhere/", **IDENTITY, **HINTS_AND_PROXY_ADDRESSES)
    reported = [record.request for record in caplog.records if hasattr(record, "request")]
    assert reported
    for request in reported:
        assert not set(HINTS_AND_PROXY_ADDRESSES) & set(request.META)
        assert not set(IDENTITY.values()) & {str(v) for v in request.META.values()}
