"""What each site's process holds, started as gunicorn starts it (the site's WSGI module) from a
clean environment and one shared data directory, as on a single machine."""

import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import short_tempdir
from tests.security.test_startup_refusal import ROOT, environment
from tipline import crypto

PEPPER = "pepper-canary-shared-by-mistake"

BACKOFFICE_PROBE = r"""
import json
import reviewers.wsgi
from django.conf import settings
from django.core.management import call_command
call_command("migrate", verbosity=0)
print(json.dumps({
    "pepper": settings.CODENAME_PEPPER,
    "secret_key": settings.SECRET_KEY,
    "indicator_key": settings.INDICATOR_KEY.decode(),
}))
"""

PUBLIC_PROBE = r"""
import json, sys
import tipline.wsgi_public
from django.conf import settings
from django.test import Client
client = Client(raise_request_exception=False, SERVER_NAME="localhost")
statuses = {p: client.get(p).status_code for p in ("/", "/submit/cyber/", "/checkin/", "/admin/")}
statuses["POST /checkin/"] = client.post("/checkin/", {"codename": "no such words"}).status_code
print(json.dumps({
    "statuses": statuses,
    "reviewers_modules": sorted(m for m in sys.modules if m.split(".")[0] == "reviewers"),
    "pepper": settings.CODENAME_PEPPER,
    "secret_key": settings.SECRET_KEY,
    "indicator_key": settings.INDICATOR_KEY,
    "idle_seconds": settings.SESSION_COOKIE_AGE,
    "save_every_request": settings.SESSION_SAVE_EVERY_REQUEST,
}))
"""


def run(probe: str, data_dir: Path, **variables: str) -> dict:
    """Run ``probe`` in a fresh process; the WSGI module it imports picks the site."""
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=environment(data_dir, **variables),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def sites():
    data_dir = short_tempdir()
    pepper_file = data_dir / "secrets" / "codename-pepper"
    pepper_file.parent.mkdir(mode=0o700)
    pepper_file.write_text(PEPPER)
    # The back office is handed the pepper twice over, in its environment and in the data
    # directory it shares with the public site, and must still not hold it.
    backoffice = run(BACKOFFICE_PROBE, data_dir, TIPLINE_CODENAME_PEPPER=PEPPER)
    public = run(PUBLIC_PROBE, data_dir)
    yield {"data_dir": data_dir, "public": public, "backoffice": backoffice}
    crypto.stop_agent(data_dir / "gnupg" / "public")
    shutil.rmtree(data_dir, ignore_errors=True)


def test_the_public_process_imports_no_back_office_code_but_its_models(sites):
    public = sites["public"]
    assert public["statuses"] == {
        "/": 200,
        "/submit/cyber/": 200,
        "/checkin/": 200,
        "/admin/": 404,
        "POST /checkin/": 400,
    }
    # Not reviewers/admin.py above all: SimpleAdminConfig does not autodiscover admin modules.
    assert public["reviewers_modules"] == ["reviewers", "reviewers.apps", "reviewers.models"]


def test_only_the_public_process_holds_the_codename_pepper(sites):
    assert sites["public"]["pepper"] == PEPPER
    assert sites["backoffice"]["pepper"] is None


def test_only_the_back_office_holds_the_indicator_key(sites):
    """The key of the indicator hashes (reviewers/correlation.py): with it, a copy of the
    database would answer "was this address reported?"."""
    key_file = sites["data_dir"] / "secrets" / "indicator-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert sites["backoffice"]["indicator_key"] == key_file.read_text().strip()
    assert len(sites["backoffice"]["indicator_key"]) >= 50
    assert sites["public"]["indicator_key"] is None


def test_each_site_creates_and_reads_its_own_secret_key(sites):
    secrets_dir = sites["data_dir"] / "secrets"
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    for site in ("public", "backoffice"):
        path = secrets_dir / f"{site}-secret-key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text().strip() == sites[site]["secret_key"]
        assert len(sites[site]["secret_key"]) >= 50
    assert sites["public"]["secret_key"] != sites["backoffice"]["secret_key"]


def test_a_tipsters_session_idles_out_after_120_minutes_by_default(sites):
    assert sites["public"]["idle_seconds"] == 120 * 60
    assert sites["public"]["save_every_request"] is True  # each request starts the time again
