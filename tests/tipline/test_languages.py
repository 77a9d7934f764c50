"""Every public page in every language of the site, and the default desks in each of them.

A tipster reads these pages in their own language, often frightened and over Tor: each page must
come out in that language, right-to-left where the script needs it, and a default questionnaire
must not fall back to English half-way through.
"""

import importlib
import re
from html import unescape

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation
from django.utils.html import strip_tags

from tipline.models import Desk, Question
from tipline.questionnaires import add_basic_questions

# Independent of the database the suite runs against: run once (bin/test: PostgreSQL pass).
pytestmark = pytest.mark.once

LANGUAGES = [code for code, _name in settings.LANGUAGES]
TRANSLATED = [code for code in LANGUAGES if code != "en"]
RIGHT_TO_LEFT = {"ar", "fa"}
DEFAULT_DESKS = ["cyber", "crypto", "sanctions", "other"]
CODENAME_ADVICE = (
    "Write this codename down on paper and keep it somewhere safe. It is the only way to read "
    "replies and send more information. We cannot recover it for you, and anyone who has it can "
    "read the replies."
)
# What the home page must tell every tipster before they choose a desk.
SAFETY_ADVICE = [
    "Use Tor Browser, set to its Safest level. This site works without JavaScript.",
    "Use a device and a network that are not your employer's, and that nobody else watches.",
    "Do not take screenshots or photos of this site, and do not tell anyone you used it.",
]
WHAT_IS_REWARDED = [
    "What the program pays for",
    "Who is behind state-sponsored hacking: the people and groups, and who directs or pays them.",
    "Where stolen cryptocurrency went: the addresses, the exchanges, and the people who moved "
    "or cashed it.",
    "Money laundering and sanctions evasion: the companies, ships, accounts and transactions "
    "involved.",
    "Rewards are for information that is new to the program and leads to action. The signed "
    "receipt you get with your tip proves when you reported.",
]
more_languages = importlib.import_module("tipline.migrations.0013_default_desks_more_languages")


def client_in(language: str) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def shown(language: str, message: str) -> str:
    """``message`` translated into ``language``."""
    with translation.override(language):
        return translation.gettext(message)


def page_in(response, language: str, status: int = 200) -> str:
    """The page's text (HTML entities decoded), once its language and direction are checked."""
    assert response.status_code == status
    html = unescape(response.content.decode())
    direction = "rtl" if language in RIGHT_TO_LEFT else "ltr"
    assert f'<html lang="{language}" dir="{direction}">' in html
    assert shown(language, "Check for replies") in html  # the header, on every page
    if language != "en":
        assert "Check for replies" not in html
    return html


@pytest.fixture
def alice(public_site, desk, make_reviewer):
    return make_reviewer("alice", desks=[desk], key="alice")


@pytest.fixture
def codename(alice):
    response = Client().post("/submit/cyber/", {"message": "a tip"})
    assert response.status_code == 200
    return response.context["codename"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_shows_the_home_page_and_the_default_desks_in_each_language(public_site, language):
    html = page_in(client_in(language).get("/"), language)
    assert shown(language, "Tell us what you know, safely") in html
    for desk in Desk.objects.filter(slug__in=DEFAULT_DESKS):
        assert desk.localized_name(language) in html
        assert desk.localized_description(language) in html
        if language != "en":
            assert desk.localized_name(language) != desk.name


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_home_page_gives_safety_advice_and_says_what_is_rewarded(public_site, language):
    html = page_in(client_in(language).get("/"), language)
    for message in SAFETY_ADVICE + WHAT_IS_REWARDED:
        assert shown(language, message) in html, message
        if language != "en":
            assert shown(language, message) != message, message
    rewarded = re.search(r'<section aria-labelledby="rewarded">(.*?)</section>', html, re.S)
    assert f'<h2 id="rewarded">{shown(language, WHAT_IS_REWARDED[0])}</h2>' in rewarded.group(1)
    assert rewarded.group(1).count("<li>") == len(WHAT_IS_REWARDED) - 1


def test_the_home_page_advice_says_what_matters_in_plain_words(public_site):
    html = page_in(client_in("en").get("/"), "en")
    # What a reader sees: the page's text, not its attributes (a random CSRF token may hold "USD").
    text = unescape(strip_tags(html))
    for words in ("Tor Browser", "Safest", "not your employer's", "screenshots", "new to the"):
        assert words in text, words
    for promise in ("$", "USD", "million", "guarantee"):
        assert promise not in text, promise  # no amounts, no promises


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("slug", DEFAULT_DESKS)
def test_it_shows_each_default_questionnaire_in_each_language(public_site, slug, language):
    desk = Desk.objects.get(slug=slug)
    html = page_in(client_in(language).get(f"/submit/{slug}/"), language)
    assert desk.localized_name(language) in html
    assert shown(language, "required") in html
    for question in desk.questions.all():
        assert question.label(language) in html
        assert question.help_text(language) in html
        for _value, label in question.choice_pairs(language):
            assert label in html
        if question.kind == Question.Kind.YES_NO:
            assert shown(language, "Yes") in html and shown(language, "No") in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_shows_the_check_in_and_tip_pages_in_each_language(codename, language):
    client = client_in(language)
    page_in(client.get("/checkin/"), language)
    assert client.post("/checkin/", {"codename": codename}).status_code == 302
    html = page_in(client.get("/tip/"), language)
    assert shown(language, "Your tip") in html
    assert Desk.objects.get(slug="cyber").localized_name(language) in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_refuses_a_wrong_codename_in_each_language(public_site, language):
    response = client_in(language).post("/checkin/", {"codename": "abacus " * 7})
    html = page_in(response, language, status=400)
    assert shown(language, "We do not know this codename. Check each word and try again.") in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_explains_a_missing_page_in_each_language(public_site, language):
    html = page_in(client_in(language).get("/submit/no-such-desk/"), language, status=404)
    assert shown(language, "There is no such page here.") in html


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_codename_advice_on_the_receipt_is_translated(alice, language):
    response = client_in(language).post("/submit/cyber/", {"message": "a tip"})
    html = page_in(response, language)
    assert response.context["codename"] in html
    advice = shown(language, CODENAME_ADVICE)
    assert advice != CODENAME_ADVICE
    assert advice in html
    assert CODENAME_ADVICE not in html


@pytest.mark.parametrize(
    ("accept_language", "language"),
    [("fa-IR,fa;q=0.9", "fa"), ("zh-CN,zh;q=0.9", "zh-hans"), ("es-MX", "es"), ("fr-CA", "fr")],
)
def test_it_follows_the_browsers_language(public_site, accept_language, language):
    page_in(Client().get("/", HTTP_ACCEPT_LANGUAGE=accept_language), language)


@pytest.mark.parametrize("language", ["de", "tr", "xx"])
def test_a_language_the_site_does_not_offer_falls_back_to_english(public_site, language):
    page_in(client_in(language).get("/"), "en")


@pytest.mark.parametrize("slug", DEFAULT_DESKS)
def test_every_default_desk_question_and_choice_has_every_language(db, slug):
    desk = Desk.objects.get(slug=slug)
    for language in TRANSLATED:
        assert desk.translations[language]["name"], language
        assert desk.translations[language]["description"], language
    for question in desk.questions.all():
        for language in LANGUAGES:
            assert question.labels.get(language), (question, language)
            if language != "en":
                assert question.labels[language] != question.labels["en"], (question, language)
            if question.help_texts:
                assert question.help_texts.get(language), (question, language)
            for choice in question.choices:
                assert choice["labels"].get(language), (question, choice["value"], language)


def test_the_migration_leaves_texts_an_admin_changed_alone(db):
    more_languages.remove_languages(apps, None)  # back to what 0003 shipped
    cyber = Desk.objects.get(slug="cyber")
    cyber.name = "Hacking"
    cyber.save()
    message = cyber.questions.get(key="message")
    message.labels["en"] = "What happened?"
    message.save()
    when = cyber.questions.get(key="when")
    when.labels["es"] = "Fecha (written by an admin)"
    when.save()

    more_languages.add_languages(apps, None)

    cyber.refresh_from_db()
    assert cyber.localized_name("fa") == "Hacking"
    assert cyber.localized_description("fa") != cyber.description
    message.refresh_from_db()
    assert set(message.labels) == {"en", "ar"}
    assert set(message.help_texts) == {"en", "ar", *TRANSLATED}
    when.refresh_from_db()
    assert when.labels["es"] == "Fecha (written by an admin)"
    assert set(when.labels) == {"en", "ar", *TRANSLATED}


def test_the_migration_reverse_removes_only_the_texts_it_added(db):
    when = Question.objects.get(desk__slug="cyber", key="when")
    when.labels["fr"] = "Date (edited by an admin)"
    when.save()

    more_languages.remove_languages(apps, None)

    for desk in Desk.objects.filter(slug__in=DEFAULT_DESKS):
        assert set(desk.translations) == {"ar"}
        for question in desk.questions.all():
            kept = {"en", "ar", "fr"} if question.pk == when.pk else {"en", "ar"}
            assert set(question.labels) == kept, question
            assert set(question.help_texts) <= {"en", "ar"}, question
            for choice in question.choices:
                assert set(choice["labels"]) == {"en", "ar"}, (question, choice)
    when.refresh_from_db()
    assert when.labels["fr"] == "Date (edited by an admin)"


def test_a_new_desks_basic_questions_have_every_language(db):
    desk = Desk.objects.create(slug="leaks", name="Leaked documents")
    add_basic_questions(desk)
    for question in desk.questions.all():
        for language in LANGUAGES:
            assert question.labels.get(language), (question, language)
            if language != "en":
                assert question.labels[language] != question.labels["en"], (question, language)


@pytest.mark.parametrize(
    ("language", "ten", "five_hundred"),
    [
        ("en", "10", "500"),
        ("fr", "10", "500"),
        ("zh-hans", "10", "500"),
        # 10 and 500 in Arabic-Indic digits, CLDR's default for Arabic.
        ("ar", "\u0661\u0660", "\u0665\u0660\u0660"),
        # 10 and 500 in extended Arabic-Indic digits, CLDR's default for Persian.
        ("fa", "\u06f1\u06f0", "\u06f5\u06f0\u06f0"),
    ],
)
def test_limits_are_written_in_the_languages_own_digits(
    alice, settings, language, ten, five_hundred
):
    assert (settings.MAX_FILES, settings.MAX_ATTACHMENT_BYTES) == (10, 500 * 1024 * 1024)
    html = page_in(client_in(language).get("/submit/cyber/"), language)
    limits = shown(language, "Up to %(count)s files, each up to %(limit)s MB.") % {
        "count": ten,
        "limit": five_hundred,
    }
    assert limits in html
    settings.MAX_ATTACHMENT_BYTES = 1024 * 1024
    too_large = SimpleUploadedFile("ledger.bin", b"x" * (1024 * 1024 + 1))
    response = client_in(language).post(
        "/submit/cyber/", {"message": "a tip", "attachment": too_large}
    )
    one = {"ar": "\u0661", "fa": "\u06f1"}.get(language, "1")
    refusal = shown(language, "Your file is too large. Files may be up to %(limit)s MB.")
    assert refusal % {"limit": one} in page_in(response, language, status=413)
