"""Back-office views for cases. Access follows the desk (reviewers/cases.py)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from reviewers import case_export as exports
from reviewers import cases
from reviewers.access import key_unlocked_required, readable_tips, reviewer_required
from reviewers.models import Case
from tipline import crypto


class CaseForm(forms.Form):
    desk = forms.ModelChoiceField(queryset=None)
    title = forms.CharField(
        max_length=cases.MAX_TITLE_CHARS,
        help_text="Encrypted to the desk's reviewers, like notes.",
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["desk"].queryset = cases.case_desks(user)


class CaseUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=Case.Status.choices)
    owner = forms.ModelChoiceField(queryset=None, required=False, empty_label="nobody")

    def __init__(self, case: Case, *args, **kwargs):
        kwargs.setdefault("initial", {"status": case.status, "owner": case.owner_id})
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            get_user_model()
            .objects.filter(desk_memberships__desk_id=case.desk_id, is_active=True)
            .order_by("username")
        )


class CaseNoteForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=20000,
        help_text="Plain text, encrypted to the desk's reviewers.",
    )


class ExportForm(forms.Form):
    recipient_key = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=crypto.MAX_ARMORED_KEY_CHARS,
        label="Recipient's public key",
        help_text="The ASCII-armoured OpenPGP public key of the person receiving the case. "
        "Only that key can open the export.",
    )
    include_contact = forms.BooleanField(
        required=False, label="Include the tipsters' contact details for the reward process"
    )

    def clean_recipient_key(self) -> crypto.PublicKey:
        try:
            return crypto.validate_public_key(self.cleaned_data["recipient_key"])
        except crypto.CryptoError as exc:
            raise forms.ValidationError(str(exc)) from None


@reviewer_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    queryset = cases.readable_cases(request.user).select_related("desk", "owner")
    status = request.GET.get("status", "")
    if status in Case.Status.values:
        queryset = queryset.filter(status=status)
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "reviewers/cases.html",
        {"page": page, "statuses": Case.Status.choices, "status": status},
    )


@key_unlocked_required
@require_http_methods(["GET", "POST"])
def case_create(request: HttpRequest) -> HttpResponse:
    form = CaseForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = cases.create_case(
                request.user, form.cleaned_data["desk"], form.cleaned_data["title"]
            )
        except cases.CaseError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("reviewers:case", pk=case.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "reviewers/case_new.html", {"form": form}, status=status)


def _case_page(request, case, status=200, **forms_) -> HttpResponse:
    try:
        opened = cases.open_case(request.user, case, request.key_passphrase)
    except crypto.BadPassphraseError:
        return redirect("reviewers:unlock")
    context = {
        "opened": opened,
        "case": case,
        "tips": [link.tip for link in case.members.select_related("tip", "tip__assignee")],
        "timeline": cases.timeline(case),
        "update_form": forms_.get("update_form") or CaseUpdateForm(case),
        "note_form": forms_.get("note_form") or CaseNoteForm(),
        "export_form": forms_.get("export_form") or ExportForm(),
    }
    return render(request, "reviewers/case.html", context, status=status)


def _get_case(request, pk: int) -> Case:
    return get_object_or_404(cases.readable_cases(request.user).select_related("desk"), pk=pk)


@key_unlocked_required
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _case_page(request, _get_case(request, pk))


@key_unlocked_required
@require_POST
def case_update(request: HttpRequest, pk: int) -> HttpResponse:
    case = _get_case(request, pk)
    form = CaseUpdateForm(case, request.POST)
    if form.is_valid():
        try:
            cases.update_case(
                request.user,
                case,
                status=form.cleaned_data["status"],
                owner=form.cleaned_data["owner"],
            )
        except cases.CaseError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("reviewers:case", pk=case.pk)
    return _case_page(request, case, status=400, update_form=form)


@key_unlocked_required
@require_POST
def case_note(request: HttpRequest, pk: int) -> HttpResponse:
    case = _get_case(request, pk)
    form = CaseNoteForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case, status=400, note_form=form)
    cases.add_case_note(request.user, case, form.cleaned_data["note"])
    return redirect("reviewers:case", pk=case.pk)


@key_unlocked_required
@require_POST
def case_export(request: HttpRequest, pk: int) -> HttpResponse:
    case = _get_case(request, pk)
    form = ExportForm(request.POST)
    if not form.is_valid():
        return _case_page(request, case, status=400, export_form=form)
    try:
        opened = cases.open_case(request.user, case, request.key_passphrase)
        if not opened.readable:
            form.add_error(None, "Your key cannot read this case.")
            return _case_page(request, case, status=403, export_form=form)
        plan = exports.plan_export(
            request.user, opened, request.key_passphrase, form.cleaned_data["include_contact"]
        )
    except crypto.BadPassphraseError:
        return redirect("reviewers:unlock")
    recipient = form.cleaned_data["recipient_key"]
    stream = exports.stream_export(request.user, plan, request.key_passphrase, recipient, case.pk)
    response = StreamingHttpResponse(stream, content_type="application/pgp-encrypted")
    response["Content-Disposition"] = (
        f'attachment; filename="case-{case.pk}-{recipient.fingerprint[-16:]}.zip.gpg"'
    )
    return response


@key_unlocked_required
@require_POST
def tip_case(request: HttpRequest, pk: int) -> HttpResponse:
    """Add the tip to a case of its desk, open a new case with it, or take it out of its case."""
    tip = get_object_or_404(readable_tips(request.user).select_related("desk"), pk=pk)
    action = request.POST.get("action")
    try:
        if action == "remove":
            link = getattr(tip, "case_link", None)
            if link is not None:
                cases.remove_tip(request.user, link.case, tip)
        elif action == "new":
            case = cases.create_case(request.user, tip.desk, request.POST.get("title", ""), tip)
            return redirect("reviewers:case", pk=case.pk)
        else:
            try:
                case_pk = int(request.POST.get("case", ""))
            except ValueError:
                raise cases.CaseError("Choose a case.") from None
            case = get_object_or_404(cases.readable_cases(request.user), pk=case_pk)
            cases.add_tip(request.user, case, tip)
    except cases.CaseError as exc:
        messages.error(request, str(exc))
    return redirect("reviewers:tip", pk=tip.pk)
