"""Back-office views. Every view but login is behind reviewer_required (password + TOTP)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login

from reviewers import (
    correlation,
    lockout,
    passkeys,
    reading_copy,
    reencrypt,
    rewards,
    session_expiry,
    triage,
    unlock,
    watchlists,
)
from reviewers.access import (
    key_unlocked_required,
    permission_required,
    readable_tips,
    reviewer_required,
)
from reviewers.forms import (
    InboxFilterForm,
    LoginForm,
    NoteForm,
    ReplyForm,
    TriageForm,
    UnlockForm,
)
from reviewers.models import Case, CaseTip, RewardAccessRequest
from reviewers.tips import (
    add_note,
    open_attachment,
    open_notes,
    open_thread,
    open_tip,
    record_what_was_read,
    reviewer_fingerprint,
    send_reply,
)
from reviewers.triage import InboxFilter
from tipline import storage
from tipline.audit import log_action
from tipline.crypto import (
    BadPassphraseError,
    DecryptionError,
    holds_secret_key,
)
from tipline.models import Attachment, AuditEvent, Desk, ReviewerProfile


def _safe_next(request: HttpRequest, default: str = "reviewers:inbox") -> str:
    target = request.POST.get("next") or request.GET.get("next")
    return passkeys.safe_target(request, target, default)


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        auth_login(request, form.user)  # a new session key: no session fixation
        if form.passkey_next:
            return passkeys.start_login(request, _safe_next(request))
        otp_login(request, form.device)
        session_expiry.begin(request)
        log_action(form.user, "reviewer.login", factor="totp")
        return redirect(_safe_next(request))
    status = (429 if form.locked else 400) if request.method == "POST" else 200
    return render(
        request, "reviewers/login.html", {"form": form, "next": _safe_next(request)}, status=status
    )


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    response = redirect("reviewers:login")
    if request.user.is_authenticated:
        log_action(request.user, "reviewer.logout")
    unlock.forget_passphrase(request, response)
    auth_logout(request)
    return response


@reviewer_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    form = InboxFilterForm(request.user, request.GET or None)
    wanted = form.to_filter() if form.is_valid() else InboxFilter()
    cursors = {"after": request.GET.get("after", ""), "before": request.GET.get("before", "")}
    status = 200
    try:
        page = triage.inbox_page(request.user, wanted, **cursors)
    except triage.BadCursor:
        page, status = triage.inbox_page(request.user, wanted), 400  # a mangled link
    query = request.GET.copy()  # the filters, for the links to the pages either side
    query.pop("after", None)
    query.pop("before", None)
    context = {
        "page": page,
        "form": form,
        "query": query.urlencode(),
        "bad_cursor": status == 400,
        "spam_view": wanted.view == "spam",
    }
    return render(request, "reviewers/inbox.html", context, status=status)


@reviewer_required
@require_POST
def resolve_spam(request: HttpRequest) -> HttpResponse:
    """Closes the tips selected in the suspected-spam view as spam (reviewers/triage.py)."""
    wanted = []
    for value in request.POST.getlist("tip")[: triage.PAGE_SIZE]:
        if value.isdigit():
            wanted.append(int(value))
    closed = triage.resolve_as_spam(request.user, wanted)
    messages.success(
        request, f"Closed as spam: {len(closed)} tip{'s' if len(closed) != 1 else ''}."
    )
    return redirect(f"{reverse('reviewers:inbox')}?view=spam")


@reviewer_required
@require_http_methods(["GET", "POST"])
def unlock_key(request: HttpRequest) -> HttpResponse:
    form = UnlockForm(request.POST or None)
    key = getattr(request.user, "reviewer_key", None)
    if key is None or not holds_secret_key(key.fingerprint):
        context = {"form": None, "offline": key is not None}
        return render(request, "reviewers/unlock.html", context, status=403)
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            lockout.check_key_passphrase(
                request.user, key.fingerprint, form.cleaned_data["passphrase"]
            )
        except lockout.LockedOut as exc:
            form.add_error("passphrase", str(exc))
            status = 429
        except DecryptionError:
            log_action(request.user, "key.unlock_failed")
            form.add_error("passphrase", "This passphrase does not unlock your key.")
        else:
            response = redirect(_safe_next(request))
            unlock.remember_passphrase(request, response, form.cleaned_data["passphrase"])
            log_action(request.user, "key.unlock")
            return response
    return render(
        request, "reviewers/unlock.html", {"form": form, "next": _safe_next(request)}, status=status
    )


@reviewer_required
@require_POST
def lock_key(request: HttpRequest) -> HttpResponse:
    response = redirect("reviewers:inbox")
    unlock.forget_passphrase(request, response)
    log_action(request.user, "key.lock")
    return response


@key_unlocked_required
@require_GET
def tip_detail(request: HttpRequest, pk: int) -> HttpResponse:
    tip = get_object_or_404(readable_tips(request.user).select_related("desk"), pk=pk)
    return _tip_page(request, tip, ReplyForm())


def _tip_page(
    request: HttpRequest, tip, form: ReplyForm, status: int = 200, triage_form=None, note_form=None
) -> HttpResponse:
    try:
        # One decryption for all the parts read before (reviewers/reading_copy.py).
        reader = reading_copy.reader_for(request.user, tip, request.key_passphrase)
        opened = open_tip(request.user, tip, request.key_passphrase, reader)
        readable = opened.readable
        shown = readable or opened.offline
        thread = open_thread(request.user, tip, request.key_passphrase, reader) if shown else []
        notes = open_notes(request.user, tip, request.key_passphrase, reader) if shown else []
        if reader is not None:
            reader.keep()
    except BadPassphraseError:
        return redirect("reviewers:unlock")
    reward = {
        "exists": bool(tip.reward_envelope),
        "contact": None,
        "pending": RewardAccessRequest.objects.filter(
            tip=tip, requested_by=request.user, approved=None
        ).exists(),
    }
    if reward["exists"] and request.key_passphrase and rewards.can_read(request.user, tip):
        reward["contact"] = rewards.read_contact(request.user, tip, request.key_passphrase)
    found, shared = [], []
    if readable:
        found = record_what_was_read(
            request.user,
            tip,
            opened.answers,
            [e["text"] for e in thread if e["readable"] and e["message"].author == "tipster"],
        )
        shared = correlation.shared_with_others(request.user, tip, found)
    context = {
        "opened": opened,
        "tip": tip,
        "thread": thread,
        "notes": notes,
        "form": form,
        "triage_form": triage_form or TriageForm(tip),
        "note_form": note_form or NoteForm(),
        "missing_readers": reencrypt.reader_names(reencrypt.missing_readers(tip))
        if readable
        else [],
        "case_link": CaseTip.objects.filter(tip=tip).select_related("case").first(),
        "desk_cases": Case.objects.filter(desk_id=tip.desk_id).exclude(status="closed")[:100],
        "move_desks": Desk.objects.filter(is_active=True).exclude(pk=tip.desk_id),
        "offline_parts": _offline_parts(request.user, tip, thread, notes) if opened.offline else [],
        "reward": reward,
        "indicators": found,
        "watch_hits": watchlists.hits_for(tip) if readable else [],
        "shared": shared,
        "shared_tips": sorted({t.pk for s in shared for t in s.tips}),
        "linkable": correlation.linkable_tips(request.user, tip),
    }
    return render(request, "reviewers/tip.html", context, status=status)


def _offline_parts(user, tip, thread, notes) -> list[dict]:
    """What a reviewer with an offline key can download: each part encrypted to their key."""
    fingerprint = reviewer_fingerprint(user)

    def part(label: str, name: str, recipients) -> dict:
        if fingerprint not in recipients:
            return {"label": f"{label}: not encrypted to your key yet"}
        return {
            "label": f"{label} (.gpg)",
            "url": reverse("reviewers:part_encrypted", args=[tip.pk, name]),
        }

    parts = [part("The tip: answers, file names, contact", "envelope", tip.recipients)]
    for attachment in tip.attachments.select_related("message"):
        carrier = attachment.message or tip
        label = f"File {attachment.pk} ({attachment.ciphertext_bytes} bytes encrypted)"
        if fingerprint in carrier.recipients:
            url = reverse("reviewers:attachment_encrypted", args=[tip.pk, attachment.storage_name])
            parts.append({"label": label, "url": url})
        else:
            parts.append({"label": f"{label}: not encrypted to your key yet"})
    for entry in thread:
        message = entry["message"]
        who = "Reply by a reviewer" if message.author == "reviewer" else "Message from the tipster"
        label = f"{who}, {message.sent_at:%Y-%m-%d %H:%M}"
        parts.append(part(label, f"message-{message.pk}", message.recipients))
    for entry in notes:
        note = entry["note"]
        label = f"Note, {note.written_at:%Y-%m-%d %H:%M}"
        parts.append(part(label, f"note-{note.pk}", note.recipients))
    return parts


@key_unlocked_required
@require_POST
def note(request: HttpRequest, pk: int) -> HttpResponse:
    tip = get_object_or_404(readable_tips(request.user).select_related("desk"), pk=pk)
    form = NoteForm(request.POST)
    if reviewer_fingerprint(request.user) not in tip.recipients:
        form.add_error(None, "You cannot add notes to a tip you cannot read.")
    if not form.is_valid():
        return _tip_page(request, tip, ReplyForm(), status=400, note_form=form)
    add_note(request.user, tip, form.cleaned_data["note"])
    return redirect("reviewers:tip", pk=tip.pk)


@reviewer_required
@require_GET
def attachment_ciphertext(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """The file as stored (OpenPGP), for reviewers who decrypt on their own machine."""
    tip = get_object_or_404(readable_tips(request.user), pk=pk)
    attachment = get_object_or_404(Attachment, tip=tip, storage_name=name)
    log_action(
        request.user, "attachment.download_encrypted", tip_id=tip.pk, attachment=attachment.pk
    )
    return FileResponse(
        storage.path_of(name).open("rb"),
        as_attachment=True,
        filename=f"tip-{tip.pk}-{attachment.pk}.gpg",
        content_type="application/pgp-encrypted",
    )


@reviewer_required
@require_GET
def part_ciphertext(request: HttpRequest, pk: int, part: str) -> HttpResponse:
    """One encrypted part of a tip as stored (envelope, a message or a note), for reviewers
    who decrypt on their own machine."""
    tip = get_object_or_404(readable_tips(request.user), pk=pk)
    kind, _, number = part.partition("-")
    if kind == "envelope" and not number:
        data = tip.envelope
    elif kind == "message" and number.isdigit():
        data = get_object_or_404(tip.messages, pk=int(number)).body_for_desk
    elif kind == "note" and number.isdigit():
        data = get_object_or_404(tip.notes, pk=int(number)).body
    else:
        raise Http404("no such part")
    log_action(request.user, "tip.download_encrypted", tip_id=tip.pk, part=part)
    response = HttpResponse(bytes(data), content_type="application/pgp-encrypted")
    response["Content-Disposition"] = f'attachment; filename="tip-{tip.pk}-{part}.gpg"'
    return response


@key_unlocked_required
@require_POST
def triage_tip(request: HttpRequest, pk: int) -> HttpResponse:
    tip = get_object_or_404(readable_tips(request.user).select_related("desk"), pk=pk)
    form = TriageForm(tip, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            triage.update_tip(
                request.user,
                tip,
                status=data["status"],
                resolution=data["resolution"],
                priority=data["priority"],
                tags=triage.parse_tags(data["tags"]),
                assignee=data["assignee"],
            )
        except triage.TriageError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("reviewers:tip", pk=tip.pk)
    return _tip_page(request, tip, ReplyForm(), status=400, triage_form=form)


@key_unlocked_required
@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    tip = get_object_or_404(readable_tips(request.user).select_related("desk"), pk=pk)
    form = ReplyForm(request.POST)
    if reviewer_fingerprint(request.user) not in tip.recipients:
        form.add_error(None, "You cannot reply to a tip you cannot read.")
    elif not tip.reply_public_key:
        form.add_error(None, "This tip has no reply key, so the tipster could not read a reply.")
    if not form.is_valid():
        return _tip_page(request, tip, form, status=400)
    send_reply(request.user, tip, form.cleaned_data["message"])
    return redirect("reviewers:tip", pk=tip.pk)


@key_unlocked_required
@require_GET
def attachment_download(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    tip = get_object_or_404(readable_tips(request.user), pk=pk)
    attachment = get_object_or_404(Attachment, tip=tip, storage_name=name)
    if request.key_passphrase is None:  # a key held offline: the file as stored
        return redirect("reviewers:attachment_encrypted", pk=tip.pk, name=name)
    try:
        file_name, stream = open_attachment(request.user, tip, attachment, request.key_passphrase)
    except DecryptionError:
        raise Http404("not readable with your key") from None
    response = StreamingHttpResponse(stream, content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, file_name)
    return response


@reviewer_required
@require_POST
def toggle_away(request: HttpRequest) -> HttpResponse:
    """A reviewer marks themselves away (routing skips them) or back."""
    profile, _ = ReviewerProfile.objects.get_or_create(user=request.user)
    profile.is_away = not profile.is_away
    profile.save(update_fields=["is_away"])
    log_action(request.user, "reviewer.away" if profile.is_away else "reviewer.back")
    return redirect("reviewers:inbox")


@reviewer_required
@require_POST
def toggle_notifications(request: HttpRequest) -> HttpResponse:
    """A reviewer turns off (or back on) the e-mail that tells them there is new work."""
    profile, _ = ReviewerProfile.objects.get_or_create(user=request.user)
    profile.notify_by_email = not profile.notify_by_email
    profile.save(update_fields=["notify_by_email"])
    on = profile.notify_by_email
    log_action(request.user, "reviewer.notifications_on" if on else "reviewer.notifications_off")
    return redirect("reviewers:inbox")


@permission_required("tipline.view_auditevent")
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit trail, newest first, read-only: nothing in the application edits it."""
    events = AuditEvent.objects.select_related("actor").order_by("-pk")
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(request, "reviewers/audit.html", {"page": page})


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "reviewers/error.html", {"message": "Not found."}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "reviewers/error.html", {"message": "Server error."}, status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    message = "This form expired or was sent from another page. Reload the page and send it again."
    return render(request, "reviewers/error.html", {"message": message}, status=403)
