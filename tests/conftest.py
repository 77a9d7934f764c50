"""Shared fixtures: real gpg keys, real GnuPG homes, a few named reviewers.

Reviewer keys are generated once per test session with the production code path (passphrase
protected, no caching agent) and copied into each test's own GnuPG homes, because generating a
protected key costs about two seconds.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import translation
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tipline import crypto
from tipline.models import Desk, DeskMembership, ReviewerKey

KEY_NAMES = ("alice", "bob", "carol")
PASSPHRASES = {name: f"{name} passphrase for tests" for name in KEY_NAMES}
PASSWORD = "a-long-test-password-1"


@dataclass
class CachedKey:
    fingerprint: str
    armored: str
    home: Path
    passphrase: str


@pytest.fixture(autouse=True)
def english_until_a_request_says_otherwise():
    """Each test starts in English: a request served in another language leaves that language
    active in the thread, where a later test's messages would come out translated."""
    translation.activate("en")
    yield
    translation.deactivate()


def short_tempdir() -> Path:
    """A short path: gpg-agent's socket path must stay under 108 bytes."""
    return Path(tempfile.mkdtemp(prefix="t", dir="/tmp"))


def stop_agents_under(root: Path) -> None:
    if root.is_dir():
        for home in root.iterdir():
            if home.is_dir():
                crypto.stop_agent(home)


def export_secret_key(key: CachedKey, armor: bool = False) -> bytes:
    """The key's secret half, as an attacker or a careless operator might copy it."""
    import subprocess

    return subprocess.run(
        [
            "gpg",
            "--homedir",
            str(key.home),
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            key.passphrase,
            *(["--armor"] if armor else []),
            "--export-secret-keys",
            key.fingerprint,
        ],
        check=True,
        capture_output=True,
    ).stdout


@pytest.fixture(scope="session")
def key_cache():
    root = short_tempdir()
    keys = {}
    with override_settings(REVIEWER_GNUPG_ROOT=root / "r", PUBLIC_GNUPG_HOME=root / "p"):
        for name in KEY_NAMES:
            key = crypto.generate_reviewer_key(PASSPHRASES[name])
            keys[name] = CachedKey(
                key.fingerprint,
                key.armored,
                crypto.reviewer_home(key.fingerprint),
                PASSPHRASES[name],
            )
    yield keys
    stop_agents_under(root / "r")
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def gpg_dirs(settings):
    """Per-test GnuPG homes and encrypted-file store."""
    root = short_tempdir()
    settings.REVIEWER_GNUPG_ROOT = root / "r"
    settings.PUBLIC_GNUPG_HOME = root / "p"
    settings.PART_GNUPG_HOME = root / "s"
    settings.ENCRYPTED_FILES_DIR = root / "f"
    yield root
    stop_agents_under(root / "r")
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def install_key(key_cache, gpg_dirs, settings):
    """Copy a cached key's secret home into this test's reviewer root; return the key."""

    def install(name: str) -> CachedKey:
        key = key_cache[name]
        target = Path(settings.REVIEWER_GNUPG_ROOT) / key.fingerprint[-16:]
        if not target.exists():
            shutil.copytree(key.home, target, ignore=shutil.ignore_patterns("S.*"))
        return key

    return install


@dataclass
class Reviewer:
    user: object
    key: CachedKey | None
    device: TOTPDevice

    def totp(self, drift: int = 0) -> str:
        """The current code (``drift`` steps of 30 s ahead: the device accepts one step)."""
        self.device.refresh_from_db()
        return format(totp(self.device.bin_key, drift=drift), "06d")


@pytest.fixture
def make_reviewer(django_user_model, install_key):
    def make(username: str, desks=(), key: str | None = None, **user_fields) -> Reviewer:
        user = django_user_model.objects.create_user(
            username=username, password=PASSWORD, **user_fields
        )
        cached = None
        if key:
            cached = install_key(key)
            ReviewerKey.objects.create(
                user=user, fingerprint=cached.fingerprint, public_key=cached.armored
            )
        for desk in desks:
            DeskMembership.objects.create(desk=desk, user=user)
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        return Reviewer(user=user, key=cached, device=device)

    return make


@pytest.fixture
def desk(db):
    """A desk shipped with a fresh install: message (required), files and optional questions."""
    return Desk.objects.get(slug="cyber")


@pytest.fixture
def tip_factory(desk):
    """Tips with placeholder ciphertext, for routing and triage tests that never decrypt."""
    from tipline.models import Tip

    def make(**fields):
        fields.setdefault("desk", desk)
        return Tip.objects.create(
            codename_hash=f"{Tip.objects.count():064x}", envelope=b"x", **fields
        )

    return make


@pytest.fixture
def other_desk(db):
    return Desk.objects.get(slug="sanctions")


INDICATOR_KEY_FOR_TESTS = b"indicator key for tests"


def switch_site(settings, site: str) -> None:
    """Serve the test client with one site's URLconf, middleware and secrets."""
    from tipline import settings as tipline_settings

    settings.SITE = site
    settings.PUBLIC = site == "public"
    # As in production: the back office always holds the indicator key, the public site never.
    settings.INDICATOR_KEY = None if site == "public" else INDICATOR_KEY_FOR_TESTS
    settings.ROOT_URLCONF = tipline_settings.SITE_URLCONF[site]
    settings.MIDDLEWARE = tipline_settings.SITE_MIDDLEWARE[site]
    settings.SESSION_ENGINE = tipline_settings.SITE_SESSION_ENGINE[site]
    settings.CSRF_FAILURE_VIEW = tipline_settings.SITE_CSRF_FAILURE_VIEW[site]
    templates = [dict(t, OPTIONS=dict(t["OPTIONS"])) for t in tipline_settings.TEMPLATES]
    templates[0]["OPTIONS"]["context_processors"] = [
        "django.template.context_processors.request",
        "django.template.context_processors.i18n",
        "django.template.context_processors.csrf",
        *tipline_settings.SITE_CONTEXT_PROCESSORS[site],
    ]
    settings.TEMPLATES = templates


@pytest.fixture
def public_site(settings, gpg_dirs, db):
    switch_site(settings, "public")
    settings.CODENAME_PEPPER = "pepper for tests"
    settings.INDICATOR_KEY = None
    return settings


@pytest.fixture
def backoffice(settings, gpg_dirs, db):
    switch_site(settings, "backoffice")
    settings.CODENAME_PEPPER = None
    settings.INDICATOR_KEY = INDICATOR_KEY_FOR_TESTS
    return settings


@pytest.fixture
def logged_in(client, backoffice):
    """Log a Reviewer in through the real login form (password + TOTP)."""

    def log_in(reviewer: Reviewer, unlock: bool = False, drift: int = 0):
        response = client.post(
            "/login/",
            {
                "username": reviewer.user.username,
                "password": PASSWORD,
                "otp_token": reviewer.totp(drift),
            },
        )
        assert response.status_code == 302, response.content
        if unlock:
            response = client.post("/key/unlock/", {"passphrase": reviewer.key.passphrase})
            assert response.status_code == 302, response.content
        return client

    return log_in
