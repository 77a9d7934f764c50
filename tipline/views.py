"""The public site: what a tipster sees. No view here needs JavaScript or stores identity."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from tipline.crypto import CryptoError
from tipline.models import Desk, Question
from tipline.questionnaires import QuestionnaireForm, active_questions, file_questions
from tipline.submissions import submit_tip
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
        return _submit_page(request, desk, QuestionnaireForm(questions, language))
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
        fields={q.key for q in file_questions(questions)},
        max_bytes=settings.MAX_ATTACHMENT_BYTES,
        max_files=settings.MAX_FILES,
    )
    request.upload_handlers = [handler]
    try:
        return _take_tip(request, desk, questions, language, keys, handler)
    finally:
        handler.discard()  # removes whatever was not committed with a tip


@csrf_protect
def _take_tip(request, desk, questions, language, keys, handler) -> HttpResponse:
    form = QuestionnaireForm(questions, language, request.POST)
    if handler.error == "too_large":
        return _error(
            request,
            413,
            _("Your file is too large. Files may be up to %(limit)s MB.")
            % {"limit": settings.MAX_ATTACHMENT_BYTES // (1024 * 1024)},
        )
    if handler.error == "too_many_files":
        return _error(
            request,
            413,
            _("Too many files. You can send up to %(count)s files at once.")
            % {"count": settings.MAX_FILES},
        )
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
        receipt = submit_tip(desk, form.answers(), uploads, language, keys)
    except CryptoError:
        return _error(
            request,
            503,
            _(
                "Your tip could not be stored safely, so it was not "
                "kept. Please try again in a few minutes."
            ),
        )
    return render(request, "tipline/receipt.html", {"desk": desk, "codename": receipt.codename})


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
        "max_attachment_mb": settings.MAX_ATTACHMENT_BYTES // (1024 * 1024),
        "max_files": settings.MAX_FILES,
    }
    return render(request, "tipline/submit.html", context, status=status)


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
