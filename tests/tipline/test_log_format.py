"""Structured logs: one JSON object per line, fixed fields only, nothing about the client."""

import json
import logging
import logging.config
import os
import subprocess
import sys

import pytest
from django.test import RequestFactory

from tipline.logformat import JsonFormatter

# Independent of the database the suite runs against: run once (bin/test: PostgreSQL pass).
pytestmark = pytest.mark.once


def test_a_json_line_holds_only_its_fixed_fields():
    request = RequestFactory().get(
        "/submit/cyber/", REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="agent-canary"
    )
    logger = logging.getLogger("django.request")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logger.makeRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error: %s",
            ("/submit/cyber/",),
            sys.exc_info(),
            extra={"request": request, "status_code": 500},
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert set(entry) == {"time", "level", "logger", "message", "exception"}
    assert entry["message"] == "Internal Server Error: /submit/cyber/"
    assert entry["level"] == "ERROR" and entry["logger"] == "django.request"
    assert entry["time"].endswith("+00:00")
    assert "198.51.100.7" not in line and "agent-canary" not in line


def test_the_setting_picks_the_format_and_refuses_others(tmp_path):
    def settings_with(value: str):
        env = {**os.environ, "TIPLINE_LOG_FORMAT": value, "TIPLINE_DATA_DIR": str(tmp_path)}
        code = (
            "import django, logging; django.setup(); logging.getLogger('tipline').warning('a line')"
        )
        return subprocess.run(
            [sys.executable, "-c", code],
            env={**env, "DJANGO_SETTINGS_MODULE": "tipline.settings"},
            capture_output=True,
            text=True,
            timeout=60,
        )

    result = settings_with("json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stderr.strip().splitlines()[-1])["message"] == "a line"
    result = settings_with("xml")
    assert result.returncode != 0 and "TIPLINE_LOG_FORMAT" in result.stderr
