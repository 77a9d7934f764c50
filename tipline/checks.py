"""Start-up checks: refuse to run when a security precondition is missing."""

import os
import shutil
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Tags, register

from tipline import crypto


@register(Tags.security, deploy=False)
def check_gnupg(app_configs=None, **kwargs):
    errors = []
    if shutil.which(settings.GPG_BINARY) is None:
        return [
            Error(
                f"GnuPG binary {settings.GPG_BINARY!r} not found.",
                hint="Install gnupg (apt-get install gnupg) or set TIPLINE_GPG_BINARY.",
                id="tipline.E001",
            )
        ]
    home = Path(settings.PUBLIC_GNUPG_HOME)
    if settings.PUBLIC and crypto.secret_key_fingerprints(home):
        errors.append(
            Error(
                f"The public site's GnuPG home {home} contains a secret key.",
                hint="The public site must hold public keys only. Move the secret key to the back "
                "office and delete it from this keyring.",
                id="tipline.E002",
            )
        )
    if settings.ORGANIZATION_KEY_FILE:
        errors += check_organization_key(Path(settings.ORGANIZATION_KEY_FILE))
    if settings.PUBLIC and settings.REVIEWER_GNUPG_ROOT is not None:
        errors.append(
            Error("The public site must not know where reviewer keys live.", id="tipline.E003")
        )
    if settings.PUBLIC and (settings.INDICATOR_KEY or _indicator_key_in_environment()):
        errors.append(
            Error(
                "The public site must not hold the indicator key.",
                hint="Set TIPLINE_INDICATOR_KEY for the back office only.",
                id="tipline.E006",
            )
        )
    return errors


def check_organization_key(path: Path) -> list[Error]:
    try:
        key = crypto.describe_public_key(path.read_text())
    except (OSError, crypto.CryptoError) as exc:
        return [
            Error(
                f"TIPLINE_ORGANIZATION_KEY_FILE {path}: {exc}",
                hint="Point it at one armored OpenPGP public key.",
                id="tipline.E004",
            )
        ]
    if key["type"] != "pub":
        return [
            Error(
                f"TIPLINE_ORGANIZATION_KEY_FILE {path} holds a secret key.",
                hint="Export only the public half (gpg --armor --export).",
                id="tipline.E005",
            )
        ]
    return []


def _indicator_key_in_environment() -> bool:
    return any(
        os.environ.get(name) for name in ("TIPLINE_INDICATOR_KEY", "TIPLINE_INDICATOR_KEY_FILE")
    )
