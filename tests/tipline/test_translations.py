import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

# Independent of the database the suite runs against: run once (bin/test: PostgreSQL pass).
pytestmark = pytest.mark.once

# Catalogue directories are named by locale ("zh_Hans"), not by language code ("zh-hans").
LOCALES = [translation.to_locale(code) for code, _ in settings.LANGUAGES if code != "en"]


@pytest.mark.parametrize("language", [code for code, _ in settings.LANGUAGES if code != "en"])
def test_the_site_finds_the_catalogue_of_every_language(language):
    """A catalogue in the wrong directory, or not compiled, silently falls back to English."""
    english = "Tell us what you know, safely"
    with translation.override(language):
        assert translation.gettext(english) != english


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


def test_makemessages_finds_nothing_new_to_translate(tmp_path):
    """Every translatable string in the code is already in the catalogue, translated."""
    import shutil
    import sys

    root = Path(settings.BASE_DIR)
    copy = tmp_path / "tree"
    for name in ("tipline", "reviewers", "templates", "locale"):
        shutil.copytree(
            root / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo")
        )
    shutil.copy(root / "manage.py", copy / "manage.py")
    env = {
        "PATH": "/usr/bin:/bin",
        "TIPLINE_DATA_DIR": str(tmp_path / "data"),
        "DJANGO_SETTINGS_MODULE": "tipline.settings",
    }
    for language in LOCALES:
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-l", language, "-v0"],
            cwd=copy,
            env=env,
            check=True,
        )
        po = copy / "locale" / language / "LC_MESSAGES" / "django.po"
        result = subprocess.run(
            ["msgfmt", "--statistics", "-o", "/dev/null", str(po)], capture_output=True, text=True
        )
        assert "fuzzy" not in result.stderr and "untranslated" not in result.stderr, (
            language,
            result.stderr,
        )
