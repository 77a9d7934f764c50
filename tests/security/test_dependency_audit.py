"""bin/audit-dependencies: fails on a known vulnerability, and only says so when it cannot look.

pip-audit is run for real, against a stand-in for OSV's query API on loopback that knows one
vulnerability, in Django; no test here needs the network.
"""

from __future__ import annotations

import json
import runpy
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

# Independent of the database the suite runs against: run once (bin/test: PostgreSQL pass).
pytestmark = pytest.mark.once

SCRIPT = Path(__file__).resolve().parents[2] / "bin" / "audit-dependencies"
ADVISORY = {
    "id": "GHSA-test-0000-0000",
    "aliases": ["CVE-2099-0001"],
    "summary": "a vulnerability made up for this test",
    "affected": [
        {
            "package": {"name": "django", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99.0"}]}],
        }
    ],
}


def serve_osv(vulnerable: set[str]) -> Iterator[str]:
    class OSV(BaseHTTPRequestHandler):
        def do_POST(self):
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            name = query["package"]["name"]
            body = json.dumps({"vulns": [ADVISORY]} if name in vulnerable else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), OSV)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1/query"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def osv_knowing_django():
    yield from serve_osv({"django"})


@pytest.fixture
def osv_knowing_nothing():
    yield from serve_osv(set())


def audit(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--cache-dir", str(tmp_path / "cache"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def requirements(tmp_path: Path, *pins: str) -> list[str]:
    path = tmp_path / "requirements.txt"
    path.write_text("\n".join(pins) + "\n")
    return ["-r", str(path), "--no-deps", "--disable-pip"]


def test_it_fails_on_a_known_vulnerability_in_the_installed_environment(
    tmp_path, osv_knowing_django
):
    result = audit(tmp_path, "-s", "osv", "--osv-url", osv_knowing_django)
    assert result.returncode == 1, result.stdout + result.stderr
    django = [line for line in result.stdout.splitlines() if line.startswith("django ")]
    assert len(django) == 1, result.stdout
    assert "GHSA-test-0000-0000" in django[0] and "CVE-2099-0001" in django[0]
    assert "fixed in 99.0" in django[0]


def test_it_passes_when_no_dependency_has_a_known_vulnerability(tmp_path, osv_knowing_nothing):
    pins = requirements(tmp_path, "django==5.2.19", "gunicorn==27.0.1")
    result = audit(tmp_path, "-s", "osv", "--osv-url", osv_knowing_nothing, *pins)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no known vulnerabilities in 2 dependencies" in result.stdout


def test_it_passes_over_a_vulnerability_it_is_told_to_ignore(tmp_path, osv_knowing_django):
    pins = requirements(tmp_path, "django==5.2.19")
    ignore = ["--ignore-vuln", "GHSA-test-0000-0000"]
    result = audit(tmp_path, "-s", "osv", "--osv-url", osv_knowing_django, *pins, *ignore)
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_reports_an_unreachable_database_without_failing_the_run(tmp_path):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        pins = requirements(tmp_path, "django==5.2.19")
        url = f"http://127.0.0.1:{port}/v1/query"
        result = audit(tmp_path, "-s", "osv", "--osv-url", url, "--timeout", "5", *pins)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "could not be reached" in result.stdout and "NOT audited" in result.stdout


def test_it_reports_a_database_that_answers_for_no_dependency_as_not_audited(capsys):
    # What PyPI's JSON API gives behind a mirror that lacks its per-version pages: a 404 for
    # every dependency, which pip-audit turns into skips and, by itself, a passing run.
    summarize = runpy.run_path(str(SCRIPT))["summarize"]
    reason = "Dependency not found on PyPI and could not be audited: django (5.2.19)"
    report = {"dependencies": [{"name": "django", "skip_reason": reason}], "fixes": []}
    assert summarize(report) == 0
    assert "NOT audited" in capsys.readouterr().out
    vulnerable = {
        "name": "django",
        "version": "5.2.19",
        "vulns": [{**ADVISORY, "fix_versions": []}],
    }
    assert summarize({"dependencies": [vulnerable], "fixes": []}) == 1


def test_it_fails_when_pip_audit_itself_fails(tmp_path):
    result = audit(tmp_path, "--no-such-option")
    assert result.returncode == 2
