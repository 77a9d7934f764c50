import subprocess
from pathlib import Path

import pytest
from django.conf import settings

LOCALES = [code for code, _ in settings.LANGUAGES if code != "en"]


@pytest.mark.parametrize("language", LOCALES)
def test_every_message_is_translated(language):
    po = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "fuzzy" not in result.stderr and "untranslated" not in result.stderr, result.stderr
