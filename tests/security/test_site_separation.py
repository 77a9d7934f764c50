"""Invariant 1: the public site and the back office are separate, and the public site holds no
key that can decrypt a tip. Each site is started as its own Python process, as in production."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import export_secret_key, short_tempdir

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, sys
import django
django.setup()
from django.conf import settings
from django.test import Client
from django.urls import get_resolver
client = Client(raise_request_exception=False, SERVER_NAME="localhost")
paths = json.loads(sys.argv[1])
result = {
    "statuses": {p: client.get(p).status_code for p in paths},
    "backoffice_modules": sorted(m for m in sys.modules if m.startswith("reviewers.")
                                 and m.split(".")[1] in ("views", "urls", "access", "unlock",
                                                         "tips", "forms")),
    "reviewer_root": str(settings.REVIEWER_GNUPG_ROOT),
    "urlconf": settings.ROOT_URLCONF,
    "route_names": sorted(str(p.pattern) for p in get_resolver().url_patterns),
}
print(json.dumps(result))
"""

BACKOFFICE_PATHS = [
    "/login/",
    "/logout/",
    "/key/unlock/",
    "/key/lock/",
    "/tips/1/",
    "/tips/1/files/" + "0" * 32 + "/",
    "/admin/",
    "/audit/",
]


def run_probe(site: str, data_dir: Path, paths: list[str]) -> dict:
    env = dict(
        os.environ,
        TIPLINE_SITE=site,
        TIPLINE_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="tipline.settings",
        DATABASE_URL=f"sqlite:///{data_dir}/db",
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(paths)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def data_dir():
    return short_tempdir()


def test_the_public_site_serves_no_back_office_url(data_dir):
    result = run_probe("public", data_dir, BACKOFFICE_PATHS)
    assert set(result["statuses"].values()) == {404}
    assert result["urlconf"] == "tipline.urls_public"


def backoffice_paths() -> list[str]:
    """A path for every route of the back office's URLconf, its parameters filled in."""
    from django.urls import get_resolver

    from tests.security.test_fuzz_public import routes
    from tipline import settings as tipline_settings

    resolver = get_resolver(tipline_settings.SITE_URLCONF["backoffice"])
    fill = {
        r"<int:\w+>": "1",
        r"<uuid:\w+>": "00000000-0000-0000-0000-000000000001",
        r"<(?:str|slug|path):\w+>": "x",
        r"\(\?P<\w+>[^)]*\)": "x",
    }
    paths = set()
    for route in routes(resolver.url_patterns).values():
        path = route.replace("^", "").replace("$", "").replace("\\", "")
        for pattern, value in fill.items():
            path = re.sub(pattern, value, path)
        paths.add("/" + path)
    return sorted(paths)


def test_the_public_site_serves_none_of_the_back_offices_routes(data_dir):
    """Every back-office route, found by walking its URLconf: a 404 on the public site, unless
    the public site has a page of its own at the same address (its home, its health check)."""
    paths = backoffice_paths()
    assert len(paths) > 40 and "/audit/" in paths and "/spam/groups/" in paths
    result = run_probe("public", data_dir, paths)
    served = {path for path, status in result["statuses"].items() if status != 404}
    public_pages = {"/", "/health/", "/i18n/setlang/"}
    assert served <= public_pages, served - public_pages


def test_the_public_site_never_imports_back_office_code(data_dir):
    result = run_probe("public", data_dir, ["/", "/submit/x/", "/login/"])
    assert result["backoffice_modules"] == []


def test_the_public_site_knows_no_reviewer_key_location(data_dir):
    assert run_probe("public", data_dir, ["/"])["reviewer_root"] == "None"


def test_the_back_office_serves_its_own_urls_and_not_the_public_ones(data_dir):
    result = run_probe("backoffice", data_dir, ["/login/", "/submit/x/"])
    assert result["statuses"] == {"/login/": 200, "/submit/x/": 404}


def test_the_public_site_refuses_to_start_with_a_secret_key_in_its_keyring(data_dir, key_cache):
    from tipline import crypto

    public_home = data_dir / "bad-public-home"
    public_home.mkdir()
    alice = key_cache["alice"]
    exported = export_secret_key(alice)
    subprocess.run(
        ["gpg", "--homedir", str(public_home), "--batch", "--import"],
        input=exported,
        check=True,
        capture_output=True,
    )
    try:
        env = dict(
            os.environ,
            TIPLINE_SITE="public",
            TIPLINE_DATA_DIR=str(data_dir),
            TIPLINE_PUBLIC_GNUPG_HOME=str(public_home),
            DATABASE_URL=f"sqlite:///{data_dir}/db",
        )
        check = subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert check.returncode != 0
        assert "tipline.E002" in check.stderr
        # gunicorn loads the WSGI module: it must refuse to start, not serve.
        wsgi = subprocess.run(
            [sys.executable, "-c", "import tipline.wsgi_public"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert wsgi.returncode != 0
        assert "refusing to start" in wsgi.stderr and "tipline.E002" in wsgi.stderr
    finally:
        crypto.stop_agent(public_home)
