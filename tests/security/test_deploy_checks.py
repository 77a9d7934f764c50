import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import short_tempdir

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("site", ["public", "backoffice"])
def test_deploy_checks_pass_with_debug_off_and_a_secret_key(site):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIPLINE_")}
    env.update(
        TIPLINE_SITE=site,
        TIPLINE_DATA_DIR=str(short_tempdir()),
        SECRET_KEY="x" * 20 + "deploy-check-secret-key-not-for-use-anywhere",
        DEBUG="false",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_deploy_checks_fail_when_https_is_turned_off():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIPLINE_")}
    env.update(
        TIPLINE_DATA_DIR=str(short_tempdir()),
        TIPLINE_HTTPS="false",
        SECRET_KEY="x" * 20 + "deploy-check-secret-key-not-for-use-anywhere",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "SESSION_COOKIE_SECURE" in result.stderr or "security.W012" in result.stderr


def test_a_bad_setting_stops_start_up_with_a_clear_message():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIPLINE_")}
    env.update(TIPLINE_DATA_DIR=str(short_tempdir()), TIPLINE_SITE="everything")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "TIPLINE_SITE='everything'" in result.stderr
