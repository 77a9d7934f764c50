"""Back-office views that change who can read a tip: re-encryption, moves, key rotation.

Each runs in the reviewer's own session with their unlocked key (see reviewers/reencrypt.py).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from reviewers import lockout, reencrypt, rotation, unlock
from reviewers.access import key_unlocked_required, readable_tips, reviewer_required
from reviewers.provisioning import MIN_PASSPHRASE_CHARS
from reviewers.tips import reviewer_fingerprint
from tipline import crypto
from tipline.crypto import BadPassphraseError
from tipline.models import Desk


def _refused(request: HttpRequest, message: str, status: int = 403) -> HttpResponse:
    return render(request, "reviewers/error.html", {"message": message}, status=status)


@key_unlocked_required
@require_POST
def tip_reencrypt(request: HttpRequest, pk: int) -> HttpResponse:
    tip = get_object_or_404(readable_tips(request.user).select_related("desk"), pk=pk)
    try:
        result = reencrypt.reencrypt_tip(request.user, tip, request.key_passphrase)
    except BadPassphraseError:
        return redirect("reviewers:unlock")
    except reencrypt.ReencryptionError as exc:
        return _refused(request, str(exc))
    messages.success(
        request, f"Re-encrypted {result.parts} part(s) for the desk's current readers."
    )
    return redirect("reviewers:tip", pk=tip.pk)


@key_unlocked_required
@require_POST
def tip_move(request: HttpRequest, pk: int) -> HttpResponse:
    tip = get_object_or_404(readable_tips(request.user).select_related("desk"), pk=pk)
    try:
        desk = Desk.objects.get(pk=int(request.POST.get("desk", "")), is_active=True)
    except (ValueError, Desk.DoesNotExist):
        return _refused(request, "Choose a desk to move the tip to.", status=400)
    if desk.pk == tip.desk_id:
        return redirect("reviewers:tip", pk=tip.pk)
    try:
        reencrypt.reencrypt_tip(request.user, tip, request.key_passphrase, to_desk=desk)
    except BadPassphraseError:
        return redirect("reviewers:unlock")
    except reencrypt.ReencryptionError as exc:
        return _refused(request, str(exc))
    messages.success(request, f"Tip #{tip.pk} moved to {desk.name} and encrypted to its readers.")
    if readable_tips(request.user).filter(pk=tip.pk).exists():
        return redirect("reviewers:tip", pk=tip.pk)
    return redirect("reviewers:inbox")


@key_unlocked_required
@require_http_methods(["GET", "POST"])
def backlog(request: HttpRequest) -> HttpResponse:
    """Tips of the reviewer's desks whose readers are out of date, and a button to fix them."""
    if request.method == "POST":
        try:
            done, waiting = reencrypt.reencrypt_backlog(request.user, request.key_passphrase)
        except BadPassphraseError:
            return redirect("reviewers:unlock")
        except reencrypt.ReencryptionError as exc:
            return _refused(request, str(exc))
        messages.success(request, f"Re-encrypted {done} tip(s); {waiting} still waiting.")
        return redirect("reviewers:backlog")
    stale = reencrypt.stale_tips(request.user, reviewer_fingerprint(request.user))
    return render(
        request,
        "reviewers/reencrypt.html",
        {"stale": stale[:200], "count": len(stale), "batch": reencrypt.BATCH_PARTS},
    )


class StartRotationForm(forms.Form):
    old_passphrase = forms.CharField(widget=forms.PasswordInput, label="Current passphrase")
    new_passphrase = forms.CharField(
        widget=forms.PasswordInput,
        min_length=MIN_PASSPHRASE_CHARS,
        label="New passphrase",
        help_text=f"At least {MIN_PASSPHRASE_CHARS} characters; a few random words are best.",
    )
    confirm = forms.CharField(widget=forms.PasswordInput, label="New passphrase again")

    def clean(self):
        data = super().clean()
        if data.get("new_passphrase") != data.get("confirm"):
            raise forms.ValidationError("The two new passphrases differ.")
        return data


class ContinueRotationForm(forms.Form):
    old_passphrase = forms.CharField(
        widget=forms.PasswordInput, label="Passphrase of the key being replaced"
    )


class ReplaceKeyForm(forms.Form):
    public_key = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=crypto.MAX_ARMORED_KEY_CHARS,
        label="Your new public key",
    )


@reviewer_required
@require_http_methods(["GET", "POST"])
def my_key(request: HttpRequest) -> HttpResponse:
    """The reviewer's own key: where it is held, and rotating or replacing it."""
    key = getattr(request.user, "reviewer_key", None)
    if key is None:
        return _refused(request, "You have no key yet: ask an administrator.", status=404)
    action = request.POST.get("action") if request.method == "POST" else None
    start = StartRotationForm(request.POST if action == "start" else None)
    more = ContinueRotationForm(request.POST if action == "continue" else None)
    replace = ReplaceKeyForm(request.POST if action == "replace" else None)
    status = 400 if action else 200
    try:
        if action == "start" and start.is_valid():
            rotation.start_rotation(
                request.user,
                start.cleaned_data["old_passphrase"],
                start.cleaned_data["new_passphrase"],
            )
            response = redirect("reviewers:my_key")
            unlock.remember_passphrase(request, response, start.cleaned_data["new_passphrase"])
            messages.success(request, "Your new key is in use. Now re-encrypt your tips for it.")
            return response
        if action == "continue" and more.is_valid():
            remaining = rotation.continue_rotation(
                request.user, more.cleaned_data["old_passphrase"]
            )
            if remaining:
                messages.success(request, f"{remaining} tip(s) or case(s) still to re-encrypt.")
            else:
                messages.success(request, "Rotation finished: your old key was destroyed.")
            return redirect("reviewers:my_key")
        if action == "replace" and replace.is_valid():
            rotation.replace_public_key(request.user, replace.cleaned_data["public_key"])
            messages.success(
                request, "New public key registered. Ask a reviewer of your desk to re-encrypt."
            )
            return redirect("reviewers:my_key")
    except lockout.LockedOut as exc:
        (start if action == "start" else more).add_error("old_passphrase", str(exc))
        status = 429
    except BadPassphraseError:
        form = start if action == "start" else more
        form.add_error("old_passphrase", "This passphrase does not unlock that key.")
    except (rotation.RotationError, crypto.CryptoError, reencrypt.ReencryptionError) as exc:
        {"start": start, "continue": more, "replace": replace}[action].add_error(None, str(exc))
    key.refresh_from_db()
    remaining = None
    if key.previous_fingerprint:
        tips, cases_ = rotation.pending(request.user, key.previous_fingerprint)
        remaining = len(tips) + len(cases_)
    context = {
        "key": key,
        "server_held": crypto.holds_secret_key(key.fingerprint),
        "remaining": remaining,
        "start_form": start,
        "continue_form": more,
        "replace_form": replace,
    }
    return render(request, "reviewers/my_key.html", context, status=status)
