import pytest
from django.core.exceptions import ValidationError

from tipline.models import AuditEvent, Question

DESK_URL = "/admin/tipline/desk/{}/change/"


@pytest.fixture
def admin_reviewer(make_reviewer):
    return make_reviewer("root", key="bob", is_staff=True, is_superuser=True)


def test_anonymous_visitors_are_sent_to_the_admin_login(client, backoffice, desk):
    response = client.get(DESK_URL.format(desk.pk))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_password_only_session_is_refused(client, backoffice, desk, admin_reviewer):
    client.force_login(admin_reviewer.user)
    response = client.get(DESK_URL.format(desk.pk))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_reviewer_who_is_not_staff_is_refused(backoffice, desk, make_reviewer, logged_in):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    response = logged_in(alice).get(DESK_URL.format(desk.pk))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_an_admin_edits_a_questionnaire_and_it_is_audited(
    backoffice, desk, admin_reviewer, logged_in
):
    client = logged_in(admin_reviewer)
    page = client.get(DESK_URL.format(desk.pk))
    assert page.status_code == 200
    formset = page.context["inline_admin_formsets"][0].formset
    data = {
        "slug": desk.slug,
        "name": "Cyber",
        "description": "",
        "translations": "{}",
        "is_active": "on",
        "triage_deadline_hours": "12",
        "lead": "",
        **{f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()},
    }
    for form in formset.forms[: formset.initial_form_count()]:
        for name in form.fields:
            value = form[name].value()
            if value is True:
                data[form.add_prefix(name)] = "on"
            elif value is not None and value is not False:
                data[form.add_prefix(name)] = value
    blank = formset.forms[formset.initial_form_count()]  # the one extra form, as without JS
    data.update(
        {
            blank.add_prefix("position"): "9",
            blank.add_prefix("key"): "wallet",
            blank.add_prefix("kind"): "text",
            blank.add_prefix("labels"): '{"en": "Wallet", "ar": "المحفظة"}',
            blank.add_prefix("help_texts"): "{}",
            blank.add_prefix("choices"): "[]",
            blank.add_prefix("is_active"): "on",
        }
    )
    response = client.post(DESK_URL.format(desk.pk), data)
    assert response.status_code == 302, (
        response.context["adminform"].form.errors,
        [f.errors for f in response.context["inline_admin_formsets"][0].formset.forms],
    )
    assert Question.objects.get(desk=desk, key="wallet").label("ar") == "المحفظة"
    actions = set(
        AuditEvent.objects.filter(actor=admin_reviewer.user).values_list("action", flat=True)
    )
    assert {"admin.desk.change", "admin.question.save"} <= actions


def test_the_admin_offers_no_tips_keys_or_memberships(backoffice, admin_reviewer, logged_in):
    client = logged_in(admin_reviewer)
    html = client.get("/admin/").content.decode()
    assert "/admin/tipline/desk/" in html
    for hidden in (
        "/admin/tipline/tip/",
        "/admin/tipline/reviewerkey/",
        "/admin/tipline/deskmembership/",
        "/admin/auth/user/",
    ):
        assert hidden not in html
        assert client.get(hidden).status_code == 404


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"key": "csrfmiddlewaretoken"}, "key"),
        ({"labels": {"ar": "فقط"}}, "labels"),
        ({"kind": "choice", "choices": []}, "choices"),
        (
            {
                "kind": "choice",
                "choices": [
                    {"value": "a", "labels": {"en": "A"}},
                    {"value": "a", "labels": {"en": "B"}},
                ],
            },
            "choices",
        ),
    ],
)
def test_a_malformed_question_is_refused(desk, fields, error_field):
    question = Question(desk=desk, key="x", kind="text", labels={"en": "X"})
    for name, value in fields.items():
        setattr(question, name, value)
    with pytest.raises(ValidationError) as error:
        question.full_clean()
    assert error_field in error.value.message_dict


def test_the_admin_uses_the_back_offices_own_audited_login(client, backoffice):
    response = client.get("/admin/login/?next=/admin/tipline/desk/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
