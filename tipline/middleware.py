"""Middleware that both sites run first."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

# Everything in a request that could identify or fingerprint the person sending it. Removing it
# here, before any other code runs, means no view, log record or error report can store it.
IDENTIFYING_META = (
    "REMOTE_ADDR",
    "REMOTE_HOST",
    "REMOTE_PORT",
    "HTTP_USER_AGENT",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
    "HTTP_VIA",
    "HTTP_CLIENT_IP",
    "HTTP_TRUE_CLIENT_IP",
    "HTTP_CF_CONNECTING_IP",
    "HTTP_REFERER",
    "HTTP_SEC_CH_UA",
    "HTTP_SEC_CH_UA_PLATFORM",
    "HTTP_SEC_CH_UA_MOBILE",
    "HTTP_DNT",
)
PLACEHOLDER_ADDRESS = "0.0.0.0"  # noqa: S104  # nosec B104  # a placeholder, not a bind address


def forget_client_identity(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        for key in IDENTIFYING_META:
            request.META.pop(key, None)
        # Some libraries expect an address; give them one that identifies nobody.
        request.META["REMOTE_ADDR"] = PLACEHOLDER_ADDRESS
        return get_response(request)

    return middleware


PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
        "interest-cohort",
        "browsing-topics",
    )
)


def security_headers(get_response: Callable[[HttpRequest], HttpResponse]):
    """Headers Django's own middleware does not set, on every response of both sites.

    Nothing may be kept by a browser or proxy cache (static files set their own caching), no
    browser feature is available to the page, and no other origin may embed our resources.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        onion = settings.ONION_ADDRESS
        if onion and settings.PUBLIC and not _requested_host(request).endswith(".onion"):
            response.setdefault("Onion-Location", f"http://{onion}{request.get_full_path()}")
        return response

    return middleware


def _requested_host(request: HttpRequest) -> str:
    """The Host asked for, or "" for one ALLOWED_HOSTS refuses: that request is answered with
    a 400, which must get these headers too rather than fail again here."""
    try:
        return request.get_host()
    except DisallowedHost:
        return ""
