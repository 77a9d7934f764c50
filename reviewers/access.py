"""Who may see what in the back office. Views use these and never check access inline."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest
from django.shortcuts import redirect
from django.urls import reverse

from reviewers import unlock
from tipline import crypto
from tipline.models import Tip


def reviewer_required(view):
    """Password and a verified TOTP code in this session; anything less goes to the login."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_verified()):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def key_unlocked_required(view):
    """As reviewer_required, and the reviewer's key passphrase is unlocked for this session.

    The passphrase is handed to the view as ``request.key_passphrase``. A reviewer whose key is
    held offline has nothing to unlock here: the view gets ``None`` and shows ciphertext only.
    """

    @reviewer_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        key = getattr(request.user, "reviewer_key", None)
        if key is not None and not crypto.holds_secret_key(key.fingerprint):
            request.key_passphrase = None
            return view(request, *args, **kwargs)
        secret = unlock.passphrase(request)
        if secret is None:
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('reviewers:unlock')}?{query}")
        request.key_passphrase = secret
        return view(request, *args, **kwargs)

    return wrapper


def permission_required(permission: str):
    """As reviewer_required, and the reviewer is staff holding ``permission``. Others: 404."""

    def decorator(view):
        @reviewer_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if not (request.user.is_staff and request.user.has_perm(permission)):
                raise Http404("not permitted")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def readable_tips(user):
    """Tips of the desks ``user`` is a member of. Staff status grants nothing here."""
    return Tip.objects.filter(desk__memberships__user=user)
