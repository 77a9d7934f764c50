"""One-time links into the back office: inviting a reviewer, and enrolling a new authenticator.

An admin makes a link (reviewers/invitation_admin.py) and hands it over in person or by e-mail;
the invitee opens it without logging in (reviewers/invitation_views.py). The properties below
are each tested in tests/reviewers/test_invitations.py:

* The token is 32 random bytes, shown once to the admin (and e-mailed if an address is given).
  Only its SHA-256 is stored: it is looked up by that digest, which is of no use to whoever
  reads it from the database, and compared again in constant time.
* A link works once, and only until ``settings.INVITATION_HOURS`` after it was made, unless
  revoked: it is claimed by one conditional UPDATE inside the transaction that creates the
  account or the authenticator, so two requests racing with it cannot both succeed.
* Unknown, used, expired and revoked tokens are told apart nowhere: ``find`` returns None for
  each, and the view answers all of them with the same 404 page.
* The authenticator's secret is derived from the token with an HMAC under the back office's
  SECRET_KEY: the invitee can reload the page and still see the QR code they scanned, yet
  nothing is stored before they confirm a code from it.
* The token, passwords and passphrases never reach the audit trail or the logs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from reviewers import lockout
from reviewers.models import Invitation
from reviewers.provisioning import (
    NewReviewer,
    ProvisioningError,
    create_reviewer,
    forget_authenticator,
)
from tipline import crypto
from tipline.audit import log_action
from tipline.models import Desk, DeskMembership
from tipline.notifications import anonymous_message_id

logger = logging.getLogger(__name__)

TOKEN_BYTES = 32
# Backends that write each message to the process's output or to disk: a link sent through them
# would sit in a log, so it is not sent, and the admin hands it over instead.
LOGGING_MAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}
TOTP_KEY_SALT = "tipline.invitations.totp-key"
CODE_MISMATCH = (
    "This code does not match. Check that your phone's clock is right and enter the code "
    "your authenticator app shows now."
)


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # shown once to the admin; only its hash is stored


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issue(actor, purpose: str, username: str, email: str, user=None) -> IssuedInvitation:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    invitation = Invitation.objects.create(
        purpose=purpose,
        token_hash=token_hash(token),
        username=username,
        email=email,
        user=user,
        created_by=actor,
        created_at=now,
        expires_at=now + timedelta(hours=settings.INVITATION_HOURS),
    )
    return IssuedInvitation(invitation=invitation, token=token)


def invite_reviewer(actor, username: str, email: str, desks: Iterable[Desk]) -> IssuedInvitation:
    """Invite a new reviewer onto ``desks``; return the invitation and its token.

    Whoever opens the link reads those desks' future tips, so the inviter must be a member of
    each of them (``actor`` None is a command run on the server itself).
    """
    if settings.PUBLIC:
        raise ProvisioningError("reviewers are invited from the back office")
    if get_user_model().objects.filter(username=username).exists():
        raise ProvisioningError(f"a user named {username!r} already exists")
    pending = Invitation.usable().filter(purpose=Invitation.Purpose.NEW_REVIEWER)
    if pending.filter(username=username).exists():
        raise ProvisioningError(f"{username!r} is already invited: revoke that invitation first")
    desks = list(desks)
    if actor is not None:
        # Inviting someone onto a desk lets them read its tips: only a member of the desk may
        # do that, or an admin on no desk could invite an account of their own.
        mine = set(DeskMembership.objects.filter(user=actor).values_list("desk_id", flat=True))
        foreign = sorted(desk.slug for desk in desks if desk.pk not in mine)
        if foreign:
            raise ProvisioningError(
                "You can only invite reviewers onto desks you are a member of "
                f"(not: {', '.join(foreign)})."
            )
    with transaction.atomic():
        issued = _issue(actor, Invitation.Purpose.NEW_REVIEWER, username, email)
        issued.invitation.desks.set(desks)
        log_action(
            actor,
            "invitation.create",
            invitation=issued.invitation.pk,
            desks=sorted(desk.slug for desk in desks),
            email=bool(email),
        )
    return issued


def reset_authenticator(actor, user) -> IssuedInvitation:
    """Forget a reviewer's authenticator now; return a link for them to enrol a new one.

    Their old codes stop working and their sessions end at once. The admin hands over the link
    but never sees the new secret: the reviewer opens it, gives their password, and scans the
    QR code themselves.
    """
    with transaction.atomic():
        forget_authenticator(user)
        issued = _issue(
            actor, Invitation.Purpose.TOTP_RESET, user.get_username(), user.email, user=user
        )
        log_action(actor, "reviewer.totp_reset", reviewer=user.pk, invitation=issued.invitation.pk)
    return issued


def revoke(actor, invitations: QuerySet) -> int:
    """Revoke those of ``invitations`` that still work; return how many."""
    revoked = 0
    for pk in Invitation.usable().filter(pk__in=invitations.values("pk")).values_list("pk"):
        if Invitation.usable().filter(pk=pk[0]).update(revoked_at=timezone.now()):
            log_action(actor, "invitation.revoke", invitation=pk[0])
            revoked += 1
    return revoked


def find(token: str) -> Invitation | None:
    """The invitation ``token`` opens, if it still works; None for any other token."""
    digest = token_hash(token)
    invitation = (
        Invitation.usable()
        .exclude(user__is_active=False)
        .select_related("user")
        .filter(token_hash=digest)
        .first()
    )
    if invitation is None or not hmac.compare_digest(invitation.token_hash, digest):
        return None
    return invitation


def authenticator_for(invitation: Invitation, token: str, last_t: int = -1) -> TOTPDevice:
    """The authenticator this link enrols, unsaved; its secret is derived from the token.

    ``last_t`` is the time step of a code already confirmed, which then cannot be used again.
    """
    key = salted_hmac(TOTP_KEY_SALT, token, algorithm="sha256").digest()[:20]
    user = invitation.user or get_user_model()(username=invitation.username)
    return TOTPDevice(user=user, name="authenticator", key=key.hex(), last_t=last_t)


def confirm_code(device: TOTPDevice, code: str) -> int | None:
    """The time step of ``code`` if it is current for ``device`` (unsaved), else None."""
    code = code.strip()
    if not code.isdigit():
        return None
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if not totp.verify(int(code), device.tolerance, device.last_t + 1):
        return None
    return totp.t()


def accept(
    invitation: Invitation,
    totp_device: TOTPDevice,
    password: str,
    *,
    passphrase: str | None = None,
    public_key: crypto.PublicKey | None = None,
) -> NewReviewer:
    """Create the invited reviewer in one transaction, using the invitation up.

    ``totp_device`` is the authenticator the invitee confirmed (``authenticator_for``); the key
    is generated under ``passphrase`` or is their own ``public_key`` (they decrypt offline).
    """
    if invitation.purpose != Invitation.Purpose.NEW_REVIEWER:
        raise ProvisioningError("this link is not an invitation to create an account")
    return create_reviewer(
        invitation.username,
        password,
        passphrase,
        list(invitation.desks.values_list("slug", flat=True)),
        email=invitation.email,
        public_key=public_key,
        totp_device=totp_device,
        invitation=invitation,
    )


def enrol_authenticator(
    invitation: Invitation, totp_device: TOTPDevice, password: str, code: str
) -> None:
    """Finish a two-factor reset: the reviewer's password and a code from the new authenticator."""
    user = invitation.user
    if invitation.purpose != Invitation.Purpose.TOTP_RESET or user is None:
        raise ProvisioningError("this link is not for enrolling an authenticator")
    # The same budget of password guesses as the login (reviewers/lockout.py).
    if not lockout.claim(lockout.LOGIN, user.get_username()):
        raise ProvisioningError(lockout.locked_message())
    if not user.check_password(password):
        lockout.failed(lockout.LOGIN, user.get_username())
        log_action(None, "reviewer.totp_enrol_failed", reviewer=user.pk, invitation=invitation.pk)
        raise ProvisioningError("This is not your password.")
    lockout.succeeded(lockout.LOGIN, user.get_username())
    step = confirm_code(totp_device, code)
    if step is None:
        raise ProvisioningError(CODE_MISMATCH)
    with transaction.atomic():
        if not invitation.claim(user):
            raise ProvisioningError("This link is no longer valid.")
        TOTPDevice.objects.filter(user=user).delete()
        totp_device.user, totp_device.last_t, totp_device.confirmed = user, step, True
        totp_device.save()
        log_action(user, "reviewer.totp_enrol", invitation=invitation.pk)


def send_link(issued: IssuedInvitation, link: str) -> bool:
    """E-mail the link to the invitation's address, if it has one. True if it was sent.

    The message holds the link and its expiry only: no desk, no name, nothing about tips. It
    is sent from the back office (the worker's tasks take ids, and the token is stored nowhere),
    and never through a backend that would write it to a log.
    """
    invitation = issued.invitation
    if not invitation.email or settings.EMAIL_BACKEND in LOGGING_MAIL_BACKENDS:
        return False
    context = {
        "link": link,
        "expires_at": invitation.expires_at,
        "reset": invitation.purpose == Invitation.Purpose.TOTP_RESET,
    }
    subject = render_to_string("emails/invitation-subject.txt", context).strip()
    body = render_to_string("emails/invitation-body.txt", context)
    try:
        EmailMessage(
            subject,
            body,
            to=[invitation.email],
            headers={"Message-ID": anonymous_message_id()},
        ).send()
    except OSError:  # smtplib's errors included
        logger.warning("the e-mail for invitation %s could not be sent", invitation.pk)
        return False
    return True
