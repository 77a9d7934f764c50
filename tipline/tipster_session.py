"""A returning tipster's session: which tip, and its reply key sealed for this session only."""

from __future__ import annotations

import hmac
import time
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from tipline import reply_keys
from tipline.models import Tip
from tipline.sealing import SealedCookie

REPLY_KEY = SealedCookie(
    cookie_name="tipline_reply_key",
    session_key="tipline_reply_salt",
    purpose=b"tipline tipster reply key v1",
)
TIP_ID = "tipline_tip"
STARTED = "tipline_started"


def start(request: HttpRequest, response: HttpResponse, tip: Tip, private_key: bytes) -> None:
    request.session.cycle_key()
    request.session[TIP_ID] = tip.pk
    # Kept in the browser's signed session cookie only: the server stores no time of visits.
    request.session[STARTED] = int(time.time())
    REPLY_KEY.seal(request, response, private_key, bound_to=str(tip.pk).encode())


def end(request: HttpRequest, response: HttpResponse) -> None:
    REPLY_KEY.forget(request, response)
    request.session.flush()


def tipster_required(view):
    """The tipster checked in with a codename in this session; else back to the check-in.

    The session must be younger than the absolute limit (the idle limit alone could be renewed
    forever by a copied cookie), and the reply key it carries must be the tip's own: a session
    forged with the site's secret key but without the codename opens nothing.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        tip_id = request.session.get(TIP_ID)
        started = request.session.get(STARTED, 0)
        fresh = time.time() - started < settings.TIPSTER_SESSION_MAX_SECONDS
        tip = Tip.objects.filter(pk=tip_id).select_related("desk").first() if tip_id else None
        key = REPLY_KEY.unseal(request, str(tip_id).encode()) if tip and fresh else None
        if (
            key is None
            or not tip.reply_public_key
            or not hmac.compare_digest(reply_keys.public_key(key), bytes(tip.reply_public_key))
        ):
            return redirect("checkin")
        request.tip, request.reply_key = tip, key
        return view(request, *args, **kwargs)

    return wrapper
