"""Unsafe configuration stops the service: each entry point gunicorn or celery would start is run
as its own process, and must refuse to start with a message naming the check that failed.

tests/security/test_site_separation.py covers a secret key in the public keyring (E002);
tests/security/test_site_processes.py starts both sites, from the same clean environment, with
nothing wrong."""

import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import export_secret_key, short_tempdir
from tipline import crypto

# Independent of the database the suite runs against: run once (bin/test: PostgreSQL pass).
pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]
WSGI_MODULES = {"public": "tipline.wsgi_public", "backoffice": "reviewers.wsgi"}


@pytest.fixture
def data_dir():
    path = short_tempdir()
    yield path
    crypto.stop_agent(path / "gnupg" / "public")  # started by the checks' gpg calls
    shutil.rmtree(path, ignore_errors=True)


def environment(data_dir: Path, **variables: str) -> dict:
    """A clean environment, as a service manager would give: only what the test sets."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TIPLINE_", "DJANGO_")) and k not in ("SECRET_KEY", "DATABASE_URL")
    }
    env.update(
        TIPLINE_DATA_DIR=str(data_dir),
        DATABASE_URL=f"sqlite:///{data_dir}/db",
        PYTHONUNBUFFERED="1",
        **variables,
    )
    return env


def load_wsgi(site: str, env: dict) -> subprocess.CompletedProcess:
    """What gunicorn does first: import the site's WSGI module."""
    return subprocess.run(
        [sys.executable, "-c", f"import {WSGI_MODULES[site]}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_refused(result: subprocess.CompletedProcess, check: str) -> None:
    assert result.returncode != 0, result.stderr
    assert "refusing to start" in result.stderr and check in result.stderr, result.stderr


@pytest.mark.parametrize("site", WSGI_MODULES)
def test_it_refuses_to_start_without_gpg(data_dir, site):
    env = environment(data_dir, TIPLINE_GPG_BINARY=str(data_dir / "no-such-gpg"))
    assert_refused(load_wsgi(site, env), "tipline.E001")


def test_the_public_site_refuses_to_start_knowing_where_reviewer_keys_live(data_dir):
    # The public settings never set it; an operator's settings module copied from the back
    # office's could.
    (data_dir / "operator_settings.py").write_text(
        "from tipline.settings import *  # noqa: F403\n"
        f"REVIEWER_GNUPG_ROOT = {str(data_dir / 'reviewers')!r}\n"
    )
    env = environment(
        data_dir, DJANGO_SETTINGS_MODULE="operator_settings", PYTHONPATH=str(data_dir)
    )
    assert_refused(load_wsgi("public", env), "tipline.E003")


@pytest.mark.parametrize("variable", ["TIPLINE_INDICATOR_KEY", "TIPLINE_INDICATOR_KEY_FILE"])
def test_the_public_site_refuses_to_start_with_the_indicator_key(data_dir, variable):
    key_file = data_dir / "indicator-key"
    key_file.write_text("an indicator key given to the wrong site")
    value = str(key_file) if variable.endswith("_FILE") else key_file.read_text()
    env = environment(data_dir, **{variable: value})
    assert_refused(load_wsgi("public", env), "tipline.E006")
    assert load_wsgi("backoffice", env).returncode == 0


@pytest.mark.parametrize("content", [None, "not a key"], ids=["missing", "not-a-key"])
def test_it_refuses_to_start_with_an_unreadable_organization_key(data_dir, content):
    path = data_dir / "organization.asc"
    if content is not None:
        path.write_text(content)
    env = environment(data_dir, TIPLINE_ORGANIZATION_KEY_FILE=str(path))
    assert_refused(load_wsgi("public", env), "tipline.E004")


def test_it_refuses_to_start_with_a_secret_organization_key(data_dir, key_cache):
    path = data_dir / "organization.asc"
    path.write_bytes(export_secret_key(key_cache["alice"], armor=True))
    env = environment(data_dir, TIPLINE_ORGANIZATION_KEY_FILE=str(path))
    assert_refused(load_wsgi("public", env), "tipline.E005")


@pytest.mark.parametrize("words", ["6", "1", "0", "-7"])
@pytest.mark.parametrize("site", WSGI_MODULES)
def test_it_refuses_to_start_with_codenames_shorter_than_seven_words(data_dir, site, words):
    """Seven words of the 7,776-word list are about 90 bits; six would be about 77."""
    result = load_wsgi(site, environment(data_dir, TIPLINE_CODENAME_WORDS=words))
    assert result.returncode != 0, result.stderr
    assert "ImproperlyConfigured" in result.stderr, result.stderr
    assert f"TIPLINE_CODENAME_WORDS={words}" in result.stderr, result.stderr


@pytest.mark.parametrize("words", ["7", "8"])
def test_it_starts_with_codenames_of_seven_words_or_more(data_dir, words):
    result = load_wsgi("public", environment(data_dir, TIPLINE_CODENAME_WORDS=words))
    assert result.returncode == 0, result.stderr


def run_worker(env: dict, timeout: float = 60) -> tuple[bool, str]:
    """Start a Celery worker; return whether it exited by itself, and what it printed.

    A worker that gets as far as "ready" is stopped at once: it started.
    """
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tipline",
            "worker",
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    output = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(worker.stdout, selectors.EVENT_READ)
        try:
            while time.monotonic() < deadline and b" ready." not in output:
                if selector.select(timeout=0.5):
                    chunk = os.read(worker.stdout.fileno(), 65536)
                    if not chunk:  # the worker exited
                        return True, output.decode(errors="replace")
                    output += chunk
            return False, output.decode(errors="replace")
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            worker.stdout.close()


def test_the_worker_starts_when_nothing_is_wrong(data_dir):
    exited, output = run_worker(environment(data_dir, TIPLINE_SITE="public"))
    assert not exited and " ready." in output, output


def test_the_worker_refuses_to_start_on_a_security_error(data_dir):
    env = environment(
        data_dir, TIPLINE_SITE="public", TIPLINE_GPG_BINARY=str(data_dir / "no-such-gpg")
    )
    exited, output = run_worker(env)
    assert "refusing to start" in output and "tipline.E001" in output, output
    assert exited, output
