"""The pages an invitation link opens. No login: the token in the link is the credential.

A new reviewer takes two steps: first the authenticator (QR code, then a code from it), then
their password and key. Only the confirmed time step is kept between the two, in the session;
nothing else is saved until the second step succeeds, and then everything at once. A reviewer
whose two-factor was reset gives their password and a code on one page.
"""

from __future__ import annotations

from base64 import b32encode

import segno
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from reviewers import invitations
from reviewers.invitation_forms import EnrolmentCodeForm, NewAccountForm, ReenrolmentForm
from reviewers.models import Invitation
from reviewers.provisioning import ProvisioningError

SESSION_KEY = "invitation_confirmed_code"


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    found = invitations.find(token)
    if found is None:
        # Unknown, used, expired or revoked: the same answer for each.
        raise Http404("no such invitation")
    if found.purpose == Invitation.Purpose.TOTP_RESET:
        return _reenrol(request, found, token)
    confirmed = request.session.get(SESSION_KEY)
    if not confirmed or confirmed.get("invitation") != found.pk:
        return _enrol(request, found, token)
    return _new_account(request, found, token, confirmed["step"])


def _authenticator_context(device) -> dict:
    uri = device.config_url
    secret = b32encode(device.bin_key).decode()
    # segno draws the code as SVG paths only: no script, and no text taken from the URI.
    svg = segno.make(uri, error="m").svg_inline(scale=5, light="#fff", title="QR code")
    return {
        "otpauth_uri": uri,
        "qr_svg": mark_safe(svg),  # noqa: S308  # nosec B308, B703  # segno's paths, as above
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    }


def _enrol(request: HttpRequest, found: Invitation, token: str) -> HttpResponse:
    device = invitations.authenticator_for(found, token)
    form = EnrolmentCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        step = invitations.confirm_code(device, form.cleaned_data["code"])
        if step is not None:
            request.session[SESSION_KEY] = {"invitation": found.pk, "step": step}
            return redirect(request.path)
        form.add_error("code", invitations.CODE_MISMATCH)
    context = {"invitation": found, "form": form, **_authenticator_context(device)}
    status = 400 if request.method == "POST" else 200
    return render(request, "reviewers/invitation_authenticator.html", context, status=status)


def _new_account(request: HttpRequest, found: Invitation, token: str, step: int) -> HttpResponse:
    form = NewAccountForm(found.username, request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = invitations.authenticator_for(found, token, last_t=step)
        try:
            invitations.accept(found, device, form.cleaned_data["password"], **form.key_choice())
        except ProvisioningError as exc:
            form.add_error(None, str(exc))
        else:
            del request.session[SESSION_KEY]
            return render(request, "reviewers/invitation_done.html", {"invitation": found})
    context = {"invitation": found, "form": form}
    status = 400 if request.method == "POST" else 200
    return render(request, "reviewers/invitation_account.html", context, status=status)


def _reenrol(request: HttpRequest, found: Invitation, token: str) -> HttpResponse:
    device = invitations.authenticator_for(found, token)
    form = ReenrolmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitations.enrol_authenticator(found, device, data["password"], data["code"])
        except ProvisioningError as exc:
            form.add_error(None, str(exc))
        else:
            return render(request, "reviewers/invitation_done.html", {"invitation": found})
    context = {"invitation": found, "form": form, **_authenticator_context(device)}
    status = 400 if request.method == "POST" else 200
    return render(request, "reviewers/invitation_reenrol.html", context, status=status)
