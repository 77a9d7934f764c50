"""A returning tipster's session: which tip, and its reply key sealed for this session only."""

from __future__ import annotations

from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from tipline.models import Tip
from tipline.sealing import SealedCookie

REPLY_KEY = SealedCookie(
    cookie_name="tipline_reply_key",
    session_key="tipline_reply_salt",
    purpose=b"tipline tipster reply key v1",
)
TIP_ID = "tipline_tip"


def start(request: HttpRequest, response: HttpResponse, tip: Tip, private_key: bytes) -> None:
    request.session.cycle_key()
    request.session[TIP_ID] = tip.pk
    REPLY_KEY.seal(request, response, private_key, bound_to=str(tip.pk).encode())


def end(request: HttpRequest, response: HttpResponse) -> None:
    REPLY_KEY.forget(request, response)
    request.session.flush()


def tipster_required(view):
    """The tipster checked in with a codename in this session; else back to the check-in."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        tip_id = request.session.get(TIP_ID)
        tip = Tip.objects.filter(pk=tip_id).select_related("desk").first() if tip_id else None
        key = REPLY_KEY.unseal(request, str(tip_id).encode()) if tip else None
        if tip is None or key is None:
            return redirect("checkin")
        request.tip, request.reply_key = tip, key
        return view(request, *args, **kwargs)

    return wrapper
