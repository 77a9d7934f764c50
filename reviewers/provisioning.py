"""Creating desks and reviewers: called by the management commands and by the tests."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from reviewers.audit import log_action
from tipline import crypto
from tipline.models import Desk, DeskMembership, ReviewerKey
from tipline.questionnaires import add_basic_questions

MIN_PASSPHRASE_CHARS = 12


class ProvisioningError(Exception):
    """The request cannot be carried out; the message says why."""


@dataclass
class NewReviewer:
    user: object
    fingerprint: str
    otpauth_uri: str


def create_desk(slug: str, name: str, description: str = "") -> Desk:
    desk, created = Desk.objects.get_or_create(
        slug=slug, defaults={"name": name, "description": description}
    )
    if created:
        add_basic_questions(desk)
        log_action(None, "desk.create", desk=slug)
    return desk


def create_reviewer(
    username: str, password: str, passphrase: str, desk_slugs: list[str]
) -> NewReviewer:
    """Create a reviewer with a TOTP device and a passphrase-protected key pair."""
    if settings.PUBLIC:
        raise ProvisioningError(
            "reviewers are created in the back office (TIPLINE_SITE="
            "backoffice), where their secret keys live"
        )
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ProvisioningError(f"a user named {username!r} already exists")
    desks = list(Desk.objects.filter(slug__in=desk_slugs))
    missing = set(desk_slugs) - {desk.slug for desk in desks}
    if missing:
        raise ProvisioningError(f"no such desk: {', '.join(sorted(missing))}")
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise ProvisioningError(
            f"the key passphrase needs at least {MIN_PASSPHRASE_CHARS} characters"
        )
    if passphrase == password:
        raise ProvisioningError("the key passphrase must differ from the password")
    try:
        validate_password(password, User(username=username))
    except ValidationError as exc:
        raise ProvisioningError(" ".join(exc.messages)) from None

    key = crypto.generate_reviewer_key(passphrase)
    with transaction.atomic():
        user = User.objects.create_user(username=username, password=password)
        ReviewerKey.objects.create(user=user, fingerprint=key.fingerprint, public_key=key.armored)
        for desk in desks:
            DeskMembership.objects.create(desk=desk, user=user)
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        log_action(None, "reviewer.create", reviewer=user.pk, desks=sorted(desk_slugs))
    return NewReviewer(user=user, fingerprint=key.fingerprint, otpauth_uri=device.config_url)
