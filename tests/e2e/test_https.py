"""The public site over TLS: gunicorn as shipped, with a certificate made for the test, and a
real HTTPS client that checks it. A tip goes in; HSTS and Secure cookies are on; nothing is
served in the clear on the TLS port.

In production TLS ends at the reverse proxy or at Tor (docs/operations.md), and gunicorn sits
behind it; gunicorn terminating TLS itself is the same code path for Django (``is_secure()``),
and lets this test prove the settings without a proxy."""

from __future__ import annotations

import functools
import re
import shutil
import socket
import ssl

import pytest
import requests

from tests.conftest import short_tempdir
from tests.e2e.stack import BIN, ROOT, Stack, self_signed_certificate, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.once]


def make_certificate(directory) -> tuple[str, str]:
    certificate, key = self_signed_certificate(["localhost"], ["127.0.0.1"])
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate)
    key_path.write_bytes(key)
    key_path.chmod(0o600)
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_stack():
    stack = Stack(short_tempdir(), embedded=True)
    stack.env["TIPLINE_HTTPS"] = "true"
    try:
        stack.provision()
        cert, key = make_certificate(stack.root)
        stack._spawn(
            "public",
            [
                str(BIN / "gunicorn"),
                "--config",
                str(ROOT / "gunicorn.conf.py"),
                "tipline.wsgi_public",
                "--bind",
                f"127.0.0.1:{stack.public_port}",
                "--certfile",
                cert,
                "--keyfile",
                key,
            ],
            extra_env={"TIPLINE_SITE": "public"},
        )
        origin = f"https://127.0.0.1:{stack.public_port}"

        def answers() -> bool:
            try:
                return requests.get(origin + "/", verify=cert, timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(answers, 30, "gunicorn over TLS")
        yield stack, origin, cert
    finally:
        stack.close()
        shutil.rmtree(stack.root, ignore_errors=True)


def test_a_tip_goes_in_over_https_with_hsts_and_secure_cookies(tls_stack):
    stack, origin, cert = tls_stack
    tipster = requests.Session()
    # A real client: the certificate is checked, not ignored. (Given per request: a CA bundle
    # named in the environment would override the session's.)
    tipster.request = functools.partial(tipster.request, verify=cert)
    # A browser sends Origin with a form's POST; the first middleware strips Referer, so over
    # HTTPS Django's CSRF check rests on it.
    tipster.headers["Origin"] = origin

    page = tipster.get(f"{origin}/submit/demo/", timeout=10)
    assert page.status_code == 200
    hsts = page.headers["Strict-Transport-Security"]
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 365 * 86400
    assert "includeSubDomains" in hsts
    cookies = page.raw.headers.getlist("Set-Cookie")
    assert cookies, "the form sets its CSRF cookie"
    for cookie in cookies:
        assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie

    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    receipt = tipster.post(
        f"{origin}/submit/demo/",
        data={"csrfmiddlewaretoken": token, "message": "a tip over TLS"},
        files={"attachment": ("notes.txt", b"sent over https", "text/plain")},
        timeout=30,
    )
    assert receipt.status_code == 200, receipt.text
    codename = re.search(r'<p class="codename"[^>]*>([^<]+)</p>', receipt.text).group(1)
    assert len(codename.split()) == 7
    assert stack.sql("SELECT count(*) FROM tipline_tip") == [(1,)]
    for cookie in receipt.raw.headers.getlist("Set-Cookie"):
        assert "; Secure" in cookie

    form = tipster.get(f"{origin}/checkin/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    checkin = tipster.post(
        f"{origin}/checkin/",
        data={"csrfmiddlewaretoken": token, "codename": codename},
        timeout=30,
    )
    assert checkin.status_code in (200, 302)
    for cookie in checkin.raw.headers.getlist("Set-Cookie"):
        assert "; Secure" in cookie, cookie


def test_the_tls_port_serves_nothing_in_the_clear(tls_stack):
    stack, origin, cert = tls_stack
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{stack.public_port}/", timeout=5)
    # The client in these tests checks certificates: one it was not given is refused.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{origin}/", timeout=5)
    # What a current client negotiates with gunicorn as shipped.
    context = ssl.create_default_context(cafile=cert)
    with (
        socket.create_connection(("127.0.0.1", stack.public_port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
