"""Passkeys and security keys (WebAuthn) as the reviewer's second factor, besides TOTP.

A TOTP code can be typed into a phishing page and relayed; a WebAuthn signature cannot: the
browser binds it to the origin it was made on, and the authenticator to the back office's
domain. django-otp-webauthn does the ceremonies and keeps the credentials as django-otp devices;
this module puts them under the back office's rules:

- never instead of the password (passwordless login is off): the login form checks the
  password, and a reviewer with a passkey who leaves the code empty goes on to ``login_step``;
- every passkey attempt spends one of the account's login attempts (reviewers/lockout.py), and
  a successful one is audited like any login;
- registering needs a session verified with a second factor already; adding or removing a
  passkey ends the reviewer's other sessions and is audited; removing one asks for the password;
- admins may require passkeys (``TIPLINE_REQUIRE_PASSKEY`` for everyone, or per reviewer in the
  admin): such a reviewer signs in with TOTP only until they have registered one, and can do
  nothing else meanwhile; after that, TOTP no longer signs them in.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp_webauthn import exceptions as webauthn_errors
from django_otp_webauthn import views as webauthn_views
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.models import WebAuthnCredential
from webauthn.helpers.structs import ResidentKeyRequirement

from reviewers import lockout, session_expiry
from reviewers.access import reviewer_required
from reviewers.provisioning import end_sessions
from tipline.audit import log_action
from tipline.models import ReviewerProfile

# Where a password-checked login goes once the passkey has signed: kept in the session.
NEXT = "tipline_passkey_next"


def _configured_url():
    return urlsplit(settings.BACKOFFICE_URL) if settings.BACKOFFICE_URL else None


def relying_party_id(request: HttpRequest) -> str:
    """The back office's domain: from TIPLINE_BACKOFFICE_URL, else the host it was reached at
    (one of ALLOWED_HOSTS, which Django has checked)."""
    url = _configured_url()
    if url is not None:
        return url.hostname
    return urlsplit(f"//{request.get_host()}").hostname


def allowed_origin(request: HttpRequest) -> str:
    url = _configured_url()
    if url is not None:
        return f"{url.scheme}://{url.netloc}"
    return f"{request.scheme}://{request.get_host()}"


class PasskeyHelper(WebAuthnHelper):
    """The library's helper with the back office's origin and no stored-on-key credentials."""

    def get_relying_party_domain(self) -> str:
        return relying_party_id(self.request)

    def get_allowed_origins(self) -> list[str]:
        return [allowed_origin(self.request)]

    def get_discoverable_credentials_preference(self) -> ResidentKeyRequirement:
        # Only a second factor: the server names the credentials, so a security key's few
        # resident slots are not spent, and the key holds no list of accounts.
        return ResidentKeyRequirement.DISCOURAGED


def passkeys(user):
    return WebAuthnCredential.objects.filter(user=user, confirmed=True)


def has_passkey(user) -> bool:
    return passkeys(user).exists()


def passkey_required(user) -> bool:
    if settings.REQUIRE_PASSKEY:
        return True
    # Through the user's cached relation: the page's navigation reads the same profile.
    try:
        profile = user.reviewer_profile
    except ReviewerProfile.DoesNotExist:
        return False
    return profile.require_passkey


def verified_with_passkey(request: HttpRequest) -> bool:
    return isinstance(getattr(request.user, "otp_device", None), WebAuthnCredential)


def _json_refusal(detail: str, code: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


def _script_config(request: HttpRequest) -> dict:
    """What the library's scripts read from the page (the ``otp_webauthn_config`` element)."""
    return {
        "autocompleteLoginFieldSelector": None,
        "nextFieldSelector": "input[name='next']",
        "csrfToken": get_token(request),
        "beginAuthenticationUrl": reverse("reviewers:passkey_login_begin"),
        "completeAuthenticationUrl": reverse("reviewers:passkey_login_complete"),
        "beginRegistrationUrl": reverse("reviewers:passkey_register_begin"),
        "completeRegistrationUrl": reverse("reviewers:passkey_register_complete"),
    }


def safe_target(request: HttpRequest, target: str | None, default: str = "reviewers:inbox") -> str:
    """``target`` if it stays on this site, else the URL of the route ``default``."""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


# --- Login: the second step, after the password ------------------------------------------------


def start_login(request: HttpRequest, next_url: str) -> HttpResponse:
    """The password was right and the code left empty: the session knows the reviewer (and
    opens nothing, as it is not verified) until a passkey signs."""
    request.session[NEXT] = next_url
    return redirect("reviewers:login_passkey")


@require_http_methods(["GET"])
def login_step(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:
        return redirect("reviewers:login")
    if user.is_verified():
        return redirect(safe_target(request, request.session.get(NEXT)))
    return render(
        request,
        "reviewers/login_passkey.html",
        {
            "next": safe_target(request, request.session.get(NEXT)),
            "passkey_config": _script_config(request),
        },
    )


class BeginLogin(webauthn_views.BeginCredentialAuthenticationView):
    def check_can_authenticate(self):
        user = self.get_user()
        if user is None or not user.is_active or user.is_verified():
            raise webauthn_errors.NotAuthenticated()


class CompleteLogin(webauthn_views.CompleteCredentialAuthenticationView):
    """The library's check of the signature, as the end of the attempt the password step
    claimed from the account's budget: a failure ends the session, so every new try starts
    again from the password and spends another attempt."""

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return _json_refusal("Log in with your password first.", "not_authenticated", 403)
        username = user.get_username()
        response = super().dispatch(request, *args, **kwargs)
        if response.status_code == 200 and request.user.is_verified():
            lockout.succeeded(lockout.LOGIN, username)
            session_expiry.begin(request)
            request.session.pop(NEXT, None)
            log_action(user, "reviewer.login", factor="passkey", device=request.user.otp_device.pk)
        else:
            lockout.failed(lockout.LOGIN, username)
            auth_logout(request)
        return response

    def get_redirect_url(self):
        return safe_target(self.request, self.request.session.get(NEXT))


# --- Registering and removing ------------------------------------------------------------------


class _VerifiedOnly:
    def check_can_register(self):
        user = self.get_user()
        if not (user and user.is_active and user.is_verified()):
            raise webauthn_errors.NotVerified()


class BeginRegistration(_VerifiedOnly, webauthn_views.BeginCredentialRegistrationView):
    pass


class CompleteRegistration(_VerifiedOnly, webauthn_views.CompleteCredentialRegistrationView):
    def dispatch(self, request, *args, **kwargs):
        response = super().dispatch(request, *args, **kwargs)
        if response.status_code == 200:
            credential = passkeys(request.user).order_by("-pk").first()
            end_sessions(request.user, keep=request.session.session_key)
            log_action(request.user, "reviewer.passkey_added", device=credential.pk)
        return response


@reviewer_required
@require_http_methods(["GET"])
def manage(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "reviewers/passkeys.html",
        {
            "passkeys": passkeys(user).order_by("created_at"),
            "required": passkey_required(user),
            "verified_with_passkey": verified_with_passkey(request),
            "passkey_config": _script_config(request),
        },
    )


@reviewer_required
@require_POST
def remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove one of the reviewer's own passkeys; the password confirms it."""
    user = request.user
    credential = get_object_or_404(passkeys(user), pk=pk)
    username = user.get_username()
    if not lockout.claim(lockout.LOGIN, username):
        messages.error(request, lockout.locked_message())
        return redirect("reviewers:passkeys")
    if not user.check_password(request.POST.get("password", "")):
        if lockout.failed(lockout.LOGIN, username, actor=user):
            auth_logout(request)
            return redirect("reviewers:login")
        messages.error(request, "Wrong password: the passkey was not removed.")
        return redirect("reviewers:passkeys")
    lockout.succeeded(lockout.LOGIN, username)
    signed_this_session = verified_with_passkey(request) and request.user.otp_device.pk == pk
    credential.delete()
    log_action(user, "reviewer.passkey_removed", device=pk)
    if signed_this_session:
        # Nothing verifies this session any more: it ends with the others.
        end_sessions(user)
        auth_logout(request)
        return redirect("reviewers:login")
    end_sessions(user, keep=request.session.session_key)
    messages.success(request, "The passkey was removed. Your other sessions have ended.")
    return redirect("reviewers:passkeys")


# --- The policy ---------------------------------------------------------------------------------

# What a reviewer who must register a passkey may still reach.
ENROLMENT_ROUTES = {
    "reviewers:passkeys",
    "reviewers:passkey_register_begin",
    "reviewers:passkey_register_complete",
    "reviewers:passkey_i18n",
    "reviewers:logout",
}


def enforce_passkey_policy(get_response: Callable[[HttpRequest], HttpResponse]):
    """A reviewer required to use a passkey, signed in with TOTP: if they have one, the session
    ends and they sign in again with it; if not, registering one is all they can do."""

    def middleware(request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and user.is_verified()
            and not verified_with_passkey(request)
            and passkey_required(user)
        ):
            if has_passkey(user):
                log_action(user, "reviewer.session_ended", reason="passkey required")
                auth_logout(request)
                messages.info(request, "Sign in with your passkey or security key.")
                return redirect("reviewers:login")
            if _route_name(request) not in ENROLMENT_ROUTES:
                messages.info(request, "Register a passkey or security key before going on.")
                return redirect("reviewers:passkeys")
        return get_response(request)

    return middleware


def _route_name(request: HttpRequest) -> str | None:
    try:
        return resolve(request.path_info).view_name
    except Resolver404:
        return None
