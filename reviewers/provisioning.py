"""Creating desks and reviewers: called by the management commands and by the tests."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from tipline import crypto
from tipline.audit import log_action
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
    username: str,
    password: str,
    passphrase: str,
    desk_slugs: list[str],
    admin: bool = False,
    email: str = "",
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
        # An admin edits desks and questionnaires; reading tips still needs desk membership.
        user = User.objects.create_user(
            username=username, password=password, email=email, is_staff=admin, is_superuser=admin
        )
        ReviewerKey.objects.create(user=user, fingerprint=key.fingerprint, public_key=key.armored)
        for desk in desks:
            DeskMembership.objects.create(desk=desk, user=user)
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        log_action(None, "reviewer.create", reviewer=user.pk, desks=sorted(desk_slugs), admin=admin)
    return NewReviewer(user=user, fingerprint=key.fingerprint, otpauth_uri=device.config_url)


def add_to_desk(username: str, desk_slug: str) -> None:
    """Make a reviewer a member of a desk: they will read the desk's tips from now on.

    Tips that arrived before were not encrypted to their key; another member must re-encrypt
    those for them.
    """
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    desk = Desk.objects.filter(slug=desk_slug).first()
    if user is None or desk is None:
        raise ProvisioningError(f"no such {'reviewer' if user is None else 'desk'}")
    if not hasattr(user, "reviewer_key"):
        raise ProvisioningError("this user has no key and could not read the desk's tips")
    _, created = DeskMembership.objects.get_or_create(desk=desk, user=user)
    if created:
        log_action(None, "desk.member_add", reviewer=user.pk, desk=desk.slug)


def _reviewer(username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ProvisioningError(f"no such reviewer: {username}")
    return user


def set_active(username: str, active: bool) -> None:
    """Disable a reviewer (no login, no new tips, sessions ended) or enable them again."""
    from django.contrib.sessions.models import Session

    user = _reviewer(username)
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        for session in Session.objects.all():
            if session.get_decoded().get("_auth_user_id") == str(user.pk):
                session.delete()
    log_action(None, "reviewer.enable" if active else "reviewer.disable", reviewer=user.pk)


def reset_totp(username: str) -> str:
    """Replace a reviewer's authenticator; return the new otpauth:// URI (shown once)."""
    user = _reviewer(username)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        log_action(None, "reviewer.totp_reset", reviewer=user.pk)
    return device.config_url
