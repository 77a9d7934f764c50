"""The reverse proxy's configuration (deploy/Caddyfile), run with Debian's caddy.

Caddy runs the shipped Caddyfile with its addresses moved onto this machine: high ports instead
of 80, 443 and 8080, a self-signed certificate for `tips.test` in place of the operator's
(TIPLINE_TLS=files), and a stub in place of the public site that records what it is sent. Every
client connection comes from 127.0.0.2, an address that must then appear nowhere in what Caddy
writes. Caddy is required: `bin/test` installs it, and a missing caddy fails these tests.

The image in docker-compose.yml is a newer Caddy 2 than Debian's; the configuration uses nothing
that differs between them.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import short_tempdir
from tests.e2e.stack import self_signed_certificate

# Independent of the database the suite runs against: run once (bin/test: PostgreSQL pass).
pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]
CADDYFILE = ROOT / "deploy" / "Caddyfile"
DOMAIN = "tips.test"
ONION = "exampleonionaddressxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion"
CLIENT_ADDRESS = "127.0.0.2"
MAX_BODY = 64 * 1024


class Stub(http.server.ThreadingHTTPServer):
    """Stands in for the public site: records each request's headers and body length."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), StubHandler)
        self.requests: list[dict] = []

    def handle_error(self, request, client_address) -> None:
        pass  # a request the proxy cut off


class StubHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_request(self) -> None:
        if self.path == "/hang-up":  # a public site that dies mid-request: Caddy answers 502
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        received = len(self.rfile.read(length)) if length else 0
        self.server.requests.append({"headers": dict(self.headers), "received": received})
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = handle_request

    def log_message(self, *args) -> None:
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_certificate(directory: Path) -> Path:
    """A self-signed certificate for DOMAIN, named as deploy/Caddyfile's `tls_files` expects."""
    certificate, key = self_signed_certificate([DOMAIN])
    (directory / "fullchain.pem").write_bytes(certificate)
    (directory / "privkey.pem").write_bytes(key)
    return directory / "fullchain.pem"


def local_caddyfile(directory: Path, ports: dict[str, int], upstream: str) -> Path:
    """deploy/Caddyfile with its ports, certificate directory and upstream moved here."""
    text = CADDYFILE.read_text()
    replacements = {
        "\tadmin off\n": (
            f"\tadmin off\n\thttp_port {ports['http']}\n\thttps_port {ports['https']}\n"
        ),
        "reverse_proxy public:8000": f"reverse_proxy {upstream}",
        "/etc/caddy/certs/": f"{directory}/",
        "http://:8080 {": f"http://:{ports['onion']} {{",
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/Caddyfile no longer has {old!r}"
        text = text.replace(old, new)
    path = directory / "Caddyfile"
    path.write_text(text)
    return path


def caddy_environment(directory: Path, **variables: str) -> dict[str, str]:
    return dict(
        os.environ,
        HOME=str(directory),
        XDG_DATA_HOME=str(directory / "data"),
        XDG_CONFIG_HOME=str(directory / "config"),
        PUBLIC_DOMAIN=DOMAIN,
        **variables,
    )


@pytest.fixture(scope="module")
def caddy() -> str:
    path = shutil.which("caddy")
    assert path, "Debian's caddy is required (apt-get install caddy; bin/test installs it)"
    return path


@pytest.fixture(scope="module")
def proxy(caddy):
    directory = short_tempdir()
    stub = Stub()
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    ports = {"http": free_port(), "https": free_port(), "onion": free_port()}
    certificate = write_certificate(directory)
    config = local_caddyfile(directory, ports, f"127.0.0.1:{stub.server_address[1]}")
    log = directory / "caddy.log"
    process = subprocess.Popen(
        [caddy, "run", "--config", config, "--adapter", "caddyfile"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=caddy_environment(
            directory, TIPLINE_TLS="files", TIPLINE_MAX_REQUEST_BODY=f"{MAX_BODY}B"
        ),
    )
    try:
        deadline = time.monotonic() + 15
        while not all(listening(port) for port in ports.values()):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield {"ports": ports, "stub": stub, "log": log, "certificate": certificate}
    finally:
        process.terminate()
        process.wait(timeout=10)
        stub.shutdown()
        shutil.rmtree(directory, ignore_errors=True)


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def request(
    proxy: dict,
    listener: str,
    method: str = "GET",
    path: str = "/",
    host: str = DOMAIN,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> http.client.HTTPResponse:
    """One request to one of the proxy's listeners, from CLIENT_ADDRESS."""
    sock = socket.create_connection(
        ("127.0.0.1", proxy["ports"][listener]), timeout=10, source_address=(CLIENT_ADDRESS, 0)
    )
    if listener == "https":
        context = ssl.create_default_context(cafile=proxy["certificate"])
        sock = context.wrap_socket(sock, server_hostname=DOMAIN)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    response = http.client.HTTPResponse(sock)
    response.begin()
    response.read()
    sock.close()
    return response


def last_forwarded(proxy: dict) -> dict:
    return proxy["stub"].requests[-1]


SPOOFED = {
    "X-Forwarded-For": "203.0.113.9",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "evil.example",
}


def test_it_redirects_plain_http_to_https(proxy):
    response = request(proxy, "http", path="/submit/cyber/?lang=de")
    assert response.status == 308
    assert response.getheader("Location").startswith(f"https://{DOMAIN}")
    assert response.getheader("Location").endswith("/submit/cyber/?lang=de")


def test_it_forwards_https_as_https_and_no_client_address(proxy):
    response = request(proxy, "https", headers={**SPOOFED, "X-Forwarded-Proto": "http"})
    assert response.status == 200
    assert response.getheader("Server") is None
    headers = last_forwarded(proxy)["headers"]
    assert headers["X-Forwarded-Proto"] == "https"
    assert "X-Forwarded-For" not in headers
    assert CLIENT_ADDRESS not in json.dumps(headers)
    assert "203.0.113.9" not in json.dumps(headers)


def test_it_forwards_onion_requests_as_plain_http_whatever_the_client_says(proxy):
    response = request(proxy, "onion", host=ONION, headers=SPOOFED)
    assert response.status == 200
    headers = last_forwarded(proxy)["headers"]
    assert headers["Host"] == ONION
    assert headers["X-Forwarded-Proto"] == "http"
    assert "X-Forwarded-For" not in headers
    assert CLIENT_ADDRESS not in json.dumps(headers)


@pytest.mark.parametrize("listener", ["https", "onion"])
def test_it_streams_a_body_up_to_the_limit_and_refuses_a_larger_one(proxy, listener):
    host = DOMAIN if listener == "https" else ONION
    response = request(proxy, listener, "POST", host=host, body=b"x" * MAX_BODY)
    assert response.status == 200
    assert last_forwarded(proxy)["received"] == MAX_BODY

    forwarded = len(proxy["stub"].requests)
    response = request(proxy, listener, "POST", host=host, body=b"x" * (MAX_BODY + 1))
    # Debian's Caddy 2.6 answers 502 (the upstream request failed), newer ones 413.
    assert response.status in (413, 502)
    assert all(r["received"] <= MAX_BODY for r in proxy["stub"].requests[forwarded:])


def test_its_log_names_no_client_even_when_the_public_site_fails(proxy):
    """Every kind of request, answered or failed; the other tests' requests add to the log."""
    assert request(proxy, "https", headers=SPOOFED).status == 200
    assert request(proxy, "onion", host=ONION, headers=SPOOFED).status == 200
    too_large = request(proxy, "onion", "POST", host=ONION, body=b"x" * (MAX_BODY + 1))
    assert too_large.status in (413, 502)
    assert request(proxy, "https", path="/hang-up").status == 502
    assert request(proxy, "onion", host=ONION, path="/hang-up").status == 502
    # A TLS handshake that fails, and a request for a host that is not served.
    with socket.create_connection(
        ("127.0.0.1", proxy["ports"]["https"]), source_address=(CLIENT_ADDRESS, 0)
    ) as sock:
        sock.sendall(b"\x16\x03\x01\x00\x05hello")
    request(proxy, "http", host="unknown.example")
    time.sleep(0.5)

    log = proxy["log"].read_text()
    assert CLIENT_ADDRESS not in log
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert entries
    for entry in entries:
        assert not {"request", "remote", "remote_addr", "remote_ip", "client_ip"} & set(entry)
    # The failures are still logged, without the request.
    failures = [entry for entry in entries if entry["level"] == "error" and entry.get("status")]
    assert len(failures) >= 2
    assert all(entry["status"] >= 500 for entry in failures)
    # No access log: nothing is written about the requests that succeeded.
    assert not [entry for entry in entries if entry.get("logger", "").startswith("http.log.access")]


def test_it_keeps_no_access_log_in_either_tls_mode(caddy):
    directory = short_tempdir()
    try:
        for tls in ("acme", "files"):
            result = subprocess.run(
                [caddy, "adapt", "--config", CADDYFILE, "--adapter", "caddyfile"],
                capture_output=True,
                text=True,
                env=caddy_environment(directory, TIPLINE_TLS=tls),
                check=True,
            )
            config = json.loads(result.stdout)
            servers = config["apps"]["http"]["servers"]
            assert sorted(server["listen"][0] for server in servers.values()) == [":443", ":8080"]
            for server in servers.values():
                assert "logs" not in server
            assert list(config["logging"]["logs"]) == ["default"]
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_a_form_sent_over_the_onion_passes_csrf_only_as_plain_http(public_site, settings):
    """Why the onion listener tells Django `http`: Tor Browser's Origin for the page is
    http://<address>.onion, and Django compares it with the scheme it believes in."""
    settings.ALLOWED_HOSTS = [ONION]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    statuses = {}
    for scheme in ("http", "https"):
        client = Client(
            enforce_csrf_checks=True,
            HTTP_HOST=ONION,
            HTTP_ORIGIN=f"http://{ONION}",
            HTTP_X_FORWARDED_PROTO=scheme,
        )
        client.get("/checkin/")
        token = client.cookies[settings.CSRF_COOKIE_NAME].value
        response = client.post("/i18n/setlang/", {"language": "de", "csrfmiddlewaretoken": token})
        statuses[scheme] = response.status_code
    assert statuses == {"http": 302, "https": 403}
