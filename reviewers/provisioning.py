"""Creating desks and reviewers: called by the management commands and by the tests."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from reviewers.models import Invitation
from tipline import crypto
from tipline.audit import log_action
from tipline.models import Desk, DeskMembership, ReviewerKey, ReviewerProfile
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
    passphrase: str | None,
    desk_slugs: list[str],
    admin: bool = False,
    email: str = "",
    *,
    public_key: crypto.PublicKey | None = None,
    totp_device: TOTPDevice | None = None,
    invitation: Invitation | None = None,
) -> NewReviewer:
    """Create a reviewer with a TOTP device, a key and a profile, in one transaction.

    The key is either a pair generated here, protected by ``passphrase``, or ``public_key``,
    already checked by crypto.validate_public_key, whose secret half never reaches this server
    (the reviewer decrypts offline). ``totp_device`` is an unsaved authenticator the reviewer
    has already confirmed (reviewers/invitations.py); without one a new one is made. With
    ``invitation``, it is used up in the same transaction, so it creates one account at most.
    On any error nothing is left behind, not even the generated key.
    """
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
    if (passphrase is None) == (public_key is None):
        raise ProvisioningError("give either a key passphrase or a public key")
    if public_key is not None:
        if ReviewerKey.objects.filter(fingerprint=public_key.fingerprint).exists():
            raise ProvisioningError("this public key is already registered for a reviewer")
    elif len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise ProvisioningError(
            f"the key passphrase needs at least {MIN_PASSPHRASE_CHARS} characters"
        )
    elif passphrase == password:
        raise ProvisioningError("the key passphrase must differ from the password")
    try:
        validate_password(password, User(username=username))
    except ValidationError as exc:
        raise ProvisioningError(" ".join(exc.messages)) from None

    key = public_key or crypto.generate_reviewer_key(passphrase)
    try:
        with transaction.atomic():
            # An admin edits desks and questionnaires; reading tips still needs desk membership.
            user = User.objects.create_user(
                username=username,
                password=password,
                email=email,
                is_staff=admin,
                is_superuser=admin,
            )
            if invitation is not None and not invitation.claim(user):
                raise ProvisioningError("this invitation is no longer valid")
            ReviewerKey.objects.create(
                user=user, fingerprint=key.fingerprint, public_key=key.armored
            )
            for desk in desks:
                DeskMembership.objects.create(desk=desk, user=user)
            device = totp_device or TOTPDevice(name="authenticator")
            device.user, device.confirmed = user, True
            device.save()
            ReviewerProfile.objects.create(user=user)
            log_action(
                None,
                "reviewer.create",
                reviewer=user.pk,
                desks=sorted(desk_slugs),
                admin=admin,
                offline_key=public_key is not None,
                invitation=invitation.pk if invitation else None,
            )
    except Exception as exc:
        if public_key is None:
            crypto.discard_reviewer_key(key.fingerprint)
        if isinstance(exc, IntegrityError):  # a request racing this one took the name or key
            raise ProvisioningError("a user with this name or this key already exists") from None
        raise
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


def set_reward_officer(username: str, officer: bool = True) -> bool:
    """Make a reviewer a reward officer (or no longer one); True if that changed anything.

    An officer reads the reward contacts encrypted to their key from now on; contacts given
    before stay encrypted to the officers of that time (reviewers/rewards.py). Audited.
    """
    user = _reviewer(username)
    if officer and not hasattr(user, "reviewer_key"):
        raise ProvisioningError("this user has no key to encrypt reward contacts to")
    profile, _ = ReviewerProfile.objects.get_or_create(user=user)
    if profile.is_reward_officer == officer:
        return False
    profile.is_reward_officer = officer
    profile.save(update_fields=["is_reward_officer"])
    log_action(None, "reward.officer_add" if officer else "reward.officer_remove", reviewer=user.pk)
    return True


def _reviewer(username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ProvisioningError(f"no such reviewer: {username}")
    return user


def end_sessions(user, keep: str | None = None) -> None:
    """Log ``user`` out everywhere, except in the session whose key is ``keep``."""
    from django.contrib.sessions.models import Session

    from reviewers.session_store import stored_key

    for session in Session.objects.exclude(session_key=stored_key(keep) if keep else ""):
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()


def set_active(username: str, active: bool, actor=None) -> None:
    """Disable a reviewer (no login, no new tips, sessions ended, links revoked) or enable them."""
    user = _reviewer(username)
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        if not active:
            end_sessions(user)
            Invitation.usable().filter(user=user).update(revoked_at=timezone.now())
        log_action(actor, "reviewer.enable" if active else "reviewer.disable", reviewer=user.pk)


def forget_authenticator(user) -> None:
    """Remove the reviewer's authenticators, passkeys included, and end their sessions (a lost
    or stolen phone or key).

    They cannot log in again until they enrol a new one. Call inside a transaction.
    """
    TOTPDevice.objects.filter(user=user).delete()
    WebAuthnCredential.objects.filter(user=user).delete()  # passkeys and security keys too
    end_sessions(user)
    Invitation.usable().filter(user=user, purpose=Invitation.Purpose.TOTP_RESET).update(
        revoked_at=timezone.now()
    )


def reset_totp(username: str) -> str:
    """Replace a reviewer's authenticator; return the new otpauth:// URI (shown once).

    For the operator at the server's console. The admin's reset (reviewers/invitations.py)
    hands the reviewer a link instead, so the new secret is only ever seen by them.
    """
    user = _reviewer(username)
    with transaction.atomic():
        forget_authenticator(user)
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        log_action(None, "reviewer.totp_reset", reviewer=user.pk)
    return device.config_url
