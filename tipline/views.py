"""The public site: what a tipster sees. No view here needs JavaScript or stores identity."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tipline import (
    __version__,
    codenames,
    crypto,
    health,
    proof_of_work,
    receipt_views,
    reply_keys,
    throttle,
    tipster_session,
)
from tipline.crypto import CryptoError
from tipline.forms import CheckinForm, FollowupForm
from tipline.models import Desk, Message, Question, ReceiptKey, Tip
from tipline.numerals import localize_digits
from tipline.questionnaires import (
    REWARD_CONTACT,
    QuestionnaireForm,
    active_questions,
    file_questions,
    routing_answers,
)
from tipline.submissions import reward_keys, submit_followup, submit_tip
from tipline.uploads import EncryptingUploadHandler


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    language = get_language() or settings.LANGUAGE_CODE
    desks = [
        {
            "slug": desk.slug,
            "name": desk.localized_name(language),
            "description": desk.localized_description(language),
        }
        for desk in Desk.objects.filter(is_active=True).order_by("pk")
    ]
    return render(request, "tipline/index.html", {"desks": desks})


# CSRF is checked by _take_tip below, once the upload handler is in place: Django's middleware
# would otherwise parse the upload with the default handlers before this view could swap them.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest, slug: str) -> HttpResponse:
    desk = get_object_or_404(Desk, slug=slug, is_active=True)
    questions = active_questions(desk)
    language = get_language() or settings.LANGUAGE_CODE
    if request.method != "POST":
        return _submit_page(
            request, desk, QuestionnaireForm(questions, language, reward=bool(reward_keys()))
        )
    if not _tip_within_limits(desk, worked=proof_of_work.spend(request)):
        return _too_busy(request)
    return _with_encrypted_uploads(
        request,
        desk,
        {q.key for q in file_questions(questions)},
        lambda keys, handler: _take_tip(request, desk, questions, language, keys, handler),
    )


def _tip_within_limits(desk: Desk, worked: bool) -> bool:
    """Count this tip against its lane's budgets, its desk's then the site's, before its body
    is read.

    Tips with proof of work (tipline/proof_of_work.py) and tips without have budgets apart, so
    a flood in one lane does not close the other. Within a lane, the desk comes first: a flood
    aimed at one desk is refused there without using up the budget the other desks share.
    """
    if worked:
        lane, site_limit = ":work", settings.POW_TIPS_PER_MINUTE
    else:
        lane, site_limit = "", settings.TIPS_PER_MINUTE
    return throttle.allow_all(
        [
            (f"tips:desk:{desk.pk}{lane}", settings.TIPS_PER_DESK_PER_MINUTE),
            (f"tips{lane}", site_limit),
        ]
    )


def _too_busy(request: HttpRequest) -> HttpResponse:
    response = _error(
        request,
        429,
        _(
            "The tip line is very busy right now, so nothing was sent. Please try "
            "again in a few minutes."
        ),
    )
    response["Retry-After"] = "60"
    return response


def _with_encrypted_uploads(
    request: HttpRequest, desk: Desk, file_fields: set[str], take
) -> HttpResponse:
    """Call ``take(keys, handler)`` with uploads encrypted to the desk's readers as they arrive.

    ``take`` checks CSRF itself (csrf_protect) once the handler is in place; whatever it does
    not commit is removed afterwards, so a refused request leaves nothing behind.
    """
    keys = desk.recipient_keys()
    if not keys:
        return _error(
            request,
            503,
            _(
                "This desk cannot take tips right now. Please try again "
                "later or choose another desk."
            ),
        )
    handler = EncryptingUploadHandler(
        request,
        keys,
        fields=file_fields,
        max_bytes=settings.MAX_ATTACHMENT_BYTES,
        max_files=settings.MAX_FILES,
    )
    request.upload_handlers = [handler]
    try:
        return take(keys, handler)
    finally:
        handler.discard()


@csrf_protect
def _take_tip(request, desk, questions, language, keys, handler) -> HttpResponse:
    form = QuestionnaireForm(questions, language, request.POST, reward=bool(reward_keys()))
    upload_error = _upload_error(request, handler)
    if upload_error:
        return upload_error
    uploads = []
    for question in file_questions(questions):
        files = request.FILES.getlist(question.key)
        if question.required and not files:
            form.add_error(
                None,
                _("Please attach a file for: %(question)s")
                % {"question": question.label(language)},
            )
        uploads += files
    if not form.is_valid():
        return _submit_page(request, desk, form, status=400)
    try:
        receipt = submit_tip(
            desk,
            form.answers(),
            uploads,
            language,
            keys,
            reward_contact=form.cleaned_data.get(REWARD_CONTACT, ""),
            routing_answers=routing_answers(form),
            # Kept all the same: a person's browser may have filled it in. Never lose a tip.
            suspected_spam=form.filled_by_a_bot,
        )
    except CryptoError:
        return _error(
            request,
            503,
            _(
                "Your tip could not be stored safely, so it was not "
                "kept. Please try again in a few minutes."
            ),
        )
    return receipt_views.receipt_page(request, desk, receipt)


def _submit_page(request: HttpRequest, desk: Desk, form: QuestionnaireForm, status: int = 200):
    language = form.language
    items = []
    for question in form.questions:
        if question.kind == Question.Kind.FILE:
            items.append(
                {
                    "question": question,
                    "label": question.label(language),
                    "help": question.help_text(language),
                }
            )
        else:
            items.append({"question": question, "field": form[question.key]})
    context = {
        "desk": desk,
        "desk_name": desk.localized_name(language),
        "desk_description": desk.localized_description(language),
        "form": form,
        "items": items,
        "reward_contact": form[REWARD_CONTACT] if REWARD_CONTACT in form.fields else None,
        "max_attachment_mb": settings.MAX_ATTACHMENT_BYTES // (1024 * 1024),
        "max_files": settings.MAX_FILES,
        "work_ticket": proof_of_work.new_ticket() if proof_of_work.enabled() else None,
        "work_bits": settings.POW_BITS,
    }
    response = render(request, "tipline/submit.html", context, status=status)
    if context["work_ticket"]:
        # The page's one script, from the site itself; every other public page allows none.
        response._csp_update = {"script-src": "'self'"}
    return response


@require_http_methods(["GET", "POST"])
def checkin(request: HttpRequest) -> HttpResponse:
    form = CheckinForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if not throttle.allow("checkin", settings.CHECKINS_PER_MINUTE):
            return _error(
                request,
                429,
                _("Too many people are checking in right now. Please wait a minute and try again."),
            )
        found = _tip_of(form.cleaned_data["codename"])
        if found is not None:
            response = redirect("tip_status")
            tipster_session.start(request, response, *found)
            return response
        form.add_error(
            "codename", _("We do not know this codename. Check each word and try again.")
        )
    status = 400 if request.method == "POST" else 200
    return render(request, "tipline/checkin.html", {"form": form}, status=status)


def _tip_of(codename: str) -> tuple[Tip, bytes] | None:
    """The tip a codename opens and its reply key's private half, or None.

    One Argon2id run for tips of the current scheme. Only while tips of the first scheme are
    left does a codename that matches none of the current scheme cost that scheme's two runs.
    """
    derived = codenames.derive(codename)
    tip = Tip.objects.filter(codename_hash=derived.lookup).first()
    if tip is not None:
        return tip, derived.reply_private_key
    first = Tip.objects.filter(codename_scheme=codenames.FIRST_SCHEME)
    if first.exists():
        tip = first.filter(codename_hash=codenames.first_scheme_hash(codename)).first()
        if tip is not None:
            return tip, reply_keys.first_scheme_private_key(codename)
    return None


@require_GET
@tipster_session.tipster_required
def tip_status(request: HttpRequest) -> HttpResponse:
    return _status_page(request, FollowupForm())


def _status_page(request: HttpRequest, form: FollowupForm, status: int = 200) -> HttpResponse:
    tip = request.tip
    # Showing a reply is reading it: from now on the tipster may delete it.
    tip.messages.filter(
        author=Message.Author.REVIEWER,
        read_by_tipster=False,
        body_for_tipster__isnull=False,
    ).update(read_by_tipster=True)
    thread = []
    for message in tip.messages.all():
        entry = {"message": message, "from_reviewer": message.author == Message.Author.REVIEWER}
        if entry["from_reviewer"] and message.body_for_tipster is not None:
            try:
                entry["text"] = reply_keys.open_sealed(
                    request.reply_key, message.body_for_tipster, tip.pk
                ).decode()
            except reply_keys.ReplyKeyError:
                entry["text"] = None
        thread.append(entry)
    context = {
        "tip": tip,
        "status": tip.tipster_status(),
        "thread": thread,
        "form": form,
        "desk_name": tip.desk.localized_name(get_language() or "en"),
        "max_attachment_mb": settings.MAX_ATTACHMENT_BYTES // (1024 * 1024),
        "max_files": settings.MAX_FILES,
    }
    return render(request, "tipline/tip_status.html", context, status=status)


@csrf_exempt  # checked in _take_followup, once the upload handler is in place (see submit)
@require_POST
@tipster_session.tipster_required
def followup(request: HttpRequest) -> HttpResponse:
    # A budget apart from new tips: a flood of either does not silence the other.
    if not throttle.allow("followups", settings.FOLLOWUPS_PER_MINUTE):
        return _too_busy(request)
    return _with_encrypted_uploads(
        request,
        request.tip.desk,
        {"attachment"},
        lambda keys, handler: _take_followup(request, keys, handler),
    )


@csrf_protect
def _take_followup(request, keys, handler) -> HttpResponse:
    form = FollowupForm(request.POST)
    upload_error = _upload_error(request, handler)
    if upload_error:
        return upload_error
    if not form.is_valid():
        return _status_page(request, form, status=400)
    try:
        submit_followup(
            request.tip,
            form.cleaned_data["message"],
            request.FILES.getlist("attachment"),
            get_language() or "en",
            keys,
        )
    except CryptoError:
        return _error(
            request,
            503,
            _(
                "Your message could not be stored safely, so it was not "
                "kept. Please try again in a few minutes."
            ),
        )
    messages.success(request, _("Your message was sent."))
    return redirect("tip_status")


@require_POST
@tipster_session.tipster_required
def delete_reply(request: HttpRequest, pk: int) -> HttpResponse:
    Message.objects.filter(
        pk=pk, tip=request.tip, author=Message.Author.REVIEWER, read_by_tipster=True
    ).update(body_for_tipster=None, deleted_by_tipster=True)
    return redirect("tip_status")


@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    response = redirect("index")
    tipster_session.end(request, response)
    return response


def _upload_error(request: HttpRequest, handler: EncryptingUploadHandler) -> HttpResponse | None:
    if handler.error == "too_large":
        return _error(
            request,
            413,
            _("Your file is too large. Files may be up to %(limit)s MB.")
            % {"limit": localize_digits(settings.MAX_ATTACHMENT_BYTES // (1024 * 1024))},
        )
    if handler.error == "too_many_files":
        return _error(
            request,
            413,
            _("Too many files. You can send up to %(count)s files at once.")
            % {"count": localize_digits(settings.MAX_FILES)},
        )
    return None


@require_GET
def metadata(request: HttpRequest) -> HttpResponse:
    """What a careful tipster (or a directory of tip lines) may want to verify about this site."""
    organization_key = _organization_key()
    document = {
        "service": "tipline",
        "version": __version__,
        "languages": [code for code, _name in settings.LANGUAGES],
        "onion_address": settings.ONION_ADDRESS or None,
        "organization_key": (
            {"fingerprint": organization_key["fingerprint"], "url": "/organization-key.asc"}
            if organization_key
            else None
        ),
        # Receipts are signed with this key's latest entry (tipline/receipts.py).
        "receipt_keys": [
            {"fingerprint": fingerprint, "url": "/receipt-key.asc"}
            for fingerprint in ReceiptKey.objects.order_by("-created_at").values_list(
                "fingerprint", flat=True
            )[:1]
        ],
        "desks": [
            {
                "slug": desk.slug,
                "name": desk.name,
                "recipient_fingerprints": [key.fingerprint for key in desk.recipient_keys()],
            }
            for desk in Desk.objects.filter(is_active=True).order_by("pk")
        ],
    }
    return JsonResponse(document, json_dumps_params={"indent": 2})


@require_GET
def organization_key(request: HttpRequest) -> HttpResponse:
    key = _organization_key()
    if key is None:
        raise Http404("no organization key")
    response = HttpResponse(key["armored"], content_type="application/pgp-keys")
    response["Content-Disposition"] = 'attachment; filename="organization-key.asc"'
    return response


def _organization_key() -> dict | None:
    if not settings.ORGANIZATION_KEY_FILE:
        return None
    return _read_organization_key(settings.ORGANIZATION_KEY_FILE)


@cache
def _read_organization_key(path: str) -> dict:
    """Read once per process; the start-up check has already refused a bad file."""
    armored = Path(path).read_text()
    return {"armored": armored, **crypto.describe_public_key(armored)}


@require_GET
def health_status(request: HttpRequest) -> HttpResponse:
    """For monitoring: 200 when a tip can be taken and routed, else 503 naming what is down."""
    results = health.cached_check()
    failing = sorted(name for name, result in results.items() if result != "ok")
    return JsonResponse(
        {"status": "unavailable" if failing else "ok", "failing": failing},
        status=503 if failing else 200,
    )


def _error(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return render(request, "tipline/error.html", {"message": message}, status=status)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _error(
        request,
        403,
        _(
            "This form expired or was sent from another page. Please go "
            "back, reload the page and send it again."
        ),
    )


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    return _error(
        request,
        400,
        _("Your request could not be read. Nothing was stored. Please go back and try again."),
    )


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return _error(request, 404, _("There is no such page here."))


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(
        request,
        500,
        _("Something went wrong on our side and nothing was stored. Please try again later."),
    )
