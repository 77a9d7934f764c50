"""The screenshots README.md and docs/ show are the ones the browser tests take (`make
screenshots`): every picture they show exists and is on the tests' list, and none is left over."""

import re
from pathlib import Path

import pytest

from tests.e2e.test_browser import DOCS_SCREENSHOTS, DOCUMENTED

pytestmark = pytest.mark.once
ROOT = Path(__file__).resolve().parent.parent
PICTURE = re.compile(r"!\[[^\]]+\]\(((?:docs/)?screenshots/([\w-]+)\.png)\)")


def shown() -> dict[str, set[str]]:
    pictures: dict[str, set[str]] = {}
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for _path, name in PICTURE.findall(page.read_text()):
            pictures.setdefault(name, set()).add(page.name)
    return pictures


def test_every_picture_in_the_docs_is_one_the_browser_tests_take():
    pictures = shown()
    assert pictures, "no screenshot shown anywhere"
    assert set(pictures) <= DOCUMENTED, set(pictures) - DOCUMENTED
    missing = {name for name in pictures if not (DOCS_SCREENSHOTS / f"{name}.png").is_file()}
    assert missing == set()


def test_no_screenshot_is_kept_that_the_docs_do_not_show():
    kept = {path.stem for path in DOCS_SCREENSHOTS.glob("*")}
    assert kept == DOCUMENTED
    assert set(shown()) >= DOCUMENTED


def test_the_pictures_are_png_images():
    for name in DOCUMENTED:
        assert (DOCS_SCREENSHOTS / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
