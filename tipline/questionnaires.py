"""A desk's questionnaire as a Django form, and its answers as one document to encrypt."""

from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from tipline.forms import RefusesUnreadableText
from tipline.indicator_fields import Indicator, indicator_field
from tipline.models import Desk, Question

TEXT_MAX_CHARS = 1000
# A field every questionnaire ends with; not a Question, so admins cannot remove it by mistake.
REWARD_CONTACT = "reward_contact"
# A field no person sees or reaches (hidden by CSS, out of the tab order, hidden from assistive
# technology) but that bots filling in every input fill too. A tip with it filled in is kept,
# marked as suspected spam: a browser's autofill might fill it for a person. Its name matches
# nothing browsers autofill. Reserved in models.RESERVED_KEYS.
HONEYPOT = "leave_empty"
# The questions every new desk starts with (admins may change them afterwards).
BASIC_QUESTIONS = [
    {
        "key": "message",
        "kind": Question.Kind.LONG_TEXT,
        "required": True,
        "labels": {
            "en": "What do you know?",
            "ar": "ما الذي تعرفه؟",
            "es": "¿Qué sabe?",
            "fa": "چه می‌دانید؟",
            "fr": "Que savez-vous\u00a0?",
            "ko": "무엇을 알고 계십니까?",
            "ru": "Что Вам известно?",
            "zh-hans": "您了解哪些情况？",
        },
    },
    {
        "key": "attachment",
        "kind": Question.Kind.FILE,
        "required": False,
        "labels": {
            "en": "Files (optional)",
            "ar": "ملفات (اختياري)",
            "es": "Archivos (opcional)",
            "fa": "فایل‌ها (اختیاری)",
            "fr": "Fichiers (facultatif)",
            "ko": "파일(선택 사항)",
            "ru": "Файлы (необязательно)",
            "zh-hans": "文件（可选）",
        },
    },
]
REQUIRED_MESSAGE = _("Please answer this question: it is needed to understand your tip.")


def add_basic_questions(desk: Desk) -> None:
    for position, question in enumerate(BASIC_QUESTIONS):
        Question.objects.get_or_create(
            desk=desk,
            key=question["key"],
            defaults={
                "position": position,
                "kind": question["kind"],
                "required": question["required"],
                "labels": question["labels"],
            },
        )


def active_questions(desk: Desk) -> list[Question]:
    return list(desk.questions.filter(is_active=True).order_by("position", "pk"))


def file_questions(questions: list[Question]) -> list[Question]:
    return [q for q in questions if q.kind == Question.Kind.FILE]


def _field_for(question: Question, language: str) -> forms.Field:
    common = {
        "label": question.label(language),
        "help_text": question.help_text(language),
        "required": question.required,
        "error_messages": {"required": REQUIRED_MESSAGE},
    }
    kind = question.kind
    if question.is_indicator:
        return indicator_field(kind, **common)
    if kind == Question.Kind.TEXT:
        return forms.CharField(
            max_length=TEXT_MAX_CHARS, widget=forms.TextInput(attrs={"dir": "auto"}), **common
        )
    if kind == Question.Kind.LONG_TEXT:
        return forms.CharField(
            max_length=settings.MAX_MESSAGE_CHARS,
            widget=forms.Textarea(attrs={"rows": 10, "dir": "auto"}),
            **common,
        )
    if kind == Question.Kind.CHOICE:
        return forms.ChoiceField(
            choices=question.choice_pairs(language), widget=forms.RadioSelect, **common
        )
    if kind == Question.Kind.MULTIPLE_CHOICE:
        return forms.MultipleChoiceField(
            choices=question.choice_pairs(language), widget=forms.CheckboxSelectMultiple, **common
        )
    if kind == Question.Kind.DATE:
        return forms.DateField(
            input_formats=["%Y-%m-%d"],
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            **common,
        )
    if kind == Question.Kind.YES_NO:
        return forms.ChoiceField(
            choices=[("yes", _("Yes")), ("no", _("No"))], widget=forms.RadioSelect, **common
        )
    raise ValueError(f"no form field for {kind}")


class QuestionnaireForm(RefusesUnreadableText):
    """The non-file questions of a desk, labelled in the tipster's language."""

    def __init__(
        self, questions: list[Question], language: str, *args, reward: bool = True, **kwargs
    ) -> None:
        """``reward``: whether to ask for a contact for the reward process, which only makes
        sense when there is a reward officer to encrypt it to."""
        super().__init__(*args, **kwargs)
        self.questions = questions
        self.language = language
        if reward:
            self.fields[REWARD_CONTACT] = forms.CharField(
                label=_("How can we contact you about a reward? (optional)"),
                help_text=_(
                    "Only if you want to be considered for a reward. Use a contact made only "
                    "for this, such as a new e-mail address. It is encrypted like your tip, "
                    "and you can also give it later."
                ),
                required=False,
                max_length=TEXT_MAX_CHARS,
                widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
            )
        self.fields[HONEYPOT] = forms.CharField(
            label=_("Leave this field empty"),
            required=False,
            widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
        )
        for question in questions:
            if question.kind != Question.Kind.FILE:
                self.fields[question.key] = _field_for(question, language)
                if question.kind == Question.Kind.DATE:
                    self.fields[question.key].error_messages["invalid"] = _(
                        "Please give the date as year-month-day, for example 2024-03-31."
                    )

    def clean(self):
        data = super().clean()
        for name, value in list(data.items()):
            if isinstance(value, datetime.date) and value > datetime.date.today():
                self.add_error(name, _("This date is in the future."))
        return data

    @property
    def filled_by_a_bot(self) -> bool:
        """True when the honeypot has a value: only something filling in every input does that."""
        return bool(self.data.get(HONEYPOT))

    def answers(self) -> list[dict]:
        """The answers as they go into the envelope: English label for reviewers, raw value."""
        result = []
        for question in self.questions:
            if question.kind == Question.Kind.FILE:
                continue
            value = self.cleaned_data.get(question.key)
            if isinstance(value, datetime.date):
                value = value.isoformat()
            if value in (None, "", []):
                continue
            answer = {"key": question.key, "kind": question.kind, "label": question.label("en")}
            if isinstance(value, Indicator):
                # The canonical form is the answer; the network or service goes along with it.
                answer |= {"value": value.value, "display": value.display()}
                answer["indicator"] = value.as_answer()
            else:
                answer |= {"value": value, "display": _display(question, value)}
            result.append(answer)
        return result


def _display(question: Question, value) -> str:
    """The answer as reviewers read it (choices by their English labels)."""
    if question.kind in (Question.Kind.CHOICE, Question.Kind.MULTIPLE_CHOICE):
        labels = dict(question.choice_pairs("en"))
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(v, v) for v in values)
    if question.kind == Question.Kind.YES_NO:
        return {"yes": "Yes", "no": "No"}.get(value, value)
    return str(value)


def routing_answers(form: QuestionnaireForm) -> dict:
    """The answers the desk marked for routing (choice answers only), stored unencrypted."""
    answers = {}
    for question in form.questions:
        if question.is_routing and question.kind in (
            Question.Kind.CHOICE,
            Question.Kind.MULTIPLE_CHOICE,
            Question.Kind.YES_NO,
        ):
            value = form.cleaned_data.get(question.key)
            if value not in (None, "", []):
                answers[question.key] = value
    return answers
