"""Proof of work: a faster lane for browsers that run the questionnaire's script, and never a
closed door for those that do not.

Each questionnaire page carries a signed, single-use ticket in its form's address. A browser
with JavaScript finds a number that, hashed with the ticket, starts with enough zero bits, and
adds it to the address; such a tip is counted against its own budget, so a flood of tips
without work (a bot's cheapest way in) fills only the lane that tips without work share. A
browser without JavaScript sends the ticket alone and is counted in that lane, exactly as
before. Nothing about the client is read or kept.
"""

import hashlib
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from tipline import proof_of_work
from tipline.models import SpentTicket, ThrottleWindow, Tip

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def easy_work(settings):
    # The shipped difficulty costs a browser about a second; tests solve a smaller puzzle.
    settings.POW_BITS = 8


def form_action(html: str) -> str:
    match = re.search(r'<form method="post" enctype="multipart/form-data" action="([^"]+)"', html)
    assert match, "the questionnaire's form is missing"
    return unescape(match.group(1))


def ticket_of(action: str) -> str:
    return parse_qs(urlsplit(action).query)["ticket"][0]


def questionnaire(slug: str = "cyber", client: Client | None = None):
    response = (client or Client()).get(f"/submit/{slug}/")
    assert response.status_code == 200
    return response


def send(action: str, client: Client | None = None, **data):
    return (client or Client()).post(action, {"message": "a tip", **data})


def worked(action: str) -> str:
    ticket = ticket_of(action)
    return f"{action}&work={proof_of_work.solve(ticket)}"


def leading_zero_bits(digest: bytes) -> int:
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def test_the_questionnaire_carries_a_ticket_and_the_script_that_works_it(desks):
    response = questionnaire()
    html = response.content.decode()
    action = form_action(html)
    assert urlsplit(action).path == "/submit/cyber/"
    ticket = ticket_of(action)
    assert 'data-work-bits="8"' in html
    assert re.search(r'<script src="/static/js/work[^"]*\.js" defer></script>', html)
    # The script is allowed on this page only, and only from the site itself.
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp
    assert "script-src" not in Client().get("/")["Content-Security-Policy"]
    # Every page gets its own ticket.
    assert ticket_of(form_action(questionnaire().content.decode())) != ticket


def test_the_reference_solver_meets_the_difficulty(desks, settings):
    settings.POW_BITS = 12
    ticket = ticket_of(form_action(questionnaire().content.decode()))
    work = proof_of_work.solve(ticket)
    digest = hashlib.sha256(f"{ticket}:{work}".encode()).digest()
    assert leading_zero_bits(digest) >= 12


def test_worked_tips_pass_while_the_lane_without_work_is_full(desks, settings, clock):
    settings.TIPS_PER_MINUTE = 1
    settings.POW_TIPS_PER_MINUTE = 2
    plain = form_action(questionnaire().content.decode())
    assert send(plain).status_code == 200
    assert send(form_action(questionnaire().content.decode())).status_code == 429
    first = send(worked(form_action(questionnaire().content.decode())))
    second = send(worked(form_action(questionnaire().content.decode())))
    assert (first.status_code, second.status_code) == (200, 200)
    assert "codename" in first.context
    assert send(worked(form_action(questionnaire().content.decode()))).status_code == 429
    assert Tip.objects.count() == 3
    counts = dict(ThrottleWindow.objects.values_list("scope", "count"))
    assert counts["tips"] == 1 and counts["tips:work"] == 2


def test_a_tip_without_javascript_is_still_taken_in_the_other_lane(desks, settings, clock):
    settings.POW_TIPS_PER_MINUTE = 1
    assert send(worked(form_action(questionnaire().content.decode()))).status_code == 200
    # The lane with work is full; a browser that runs no script is not turned away for it.
    assert send(form_action(questionnaire().content.decode())).status_code == 200
    # Nor is a client that sends no ticket at all (an old page, a bookmark, a script).
    assert send("/submit/cyber/").status_code == 200
    assert Tip.objects.count() == 3


def test_a_ticket_counts_as_work_once(desks, settings, clock):
    settings.TIPS_PER_MINUTE = 1
    settings.POW_TIPS_PER_MINUTE = 10
    action = worked(form_action(questionnaire().content.decode()))
    assert send(action).status_code == 200
    # Replayed, the same solution is just a tip without work: the lane without work has room
    # for one, then refuses.
    assert send(action).status_code == 200
    assert send(action).status_code == 429
    counts = dict(ThrottleWindow.objects.values_list("scope", "count"))
    assert counts["tips:work"] == 1
    assert SpentTicket.objects.count() == 1


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda action: action + "1", id="wrong-number"),
        pytest.param(lambda action: action.replace("work=", "work=x"), id="not-a-number"),
        pytest.param(lambda action: action.replace("ticket=", "ticket=A"), id="forged-ticket"),
        pytest.param(
            lambda action: re.sub(r"\.8\.", ".0.", action),
            id="easier-difficulty",
        ),
        pytest.param(lambda action: action.split("&work=")[0] + "&work=" + "9" * 400, id="huge"),
    ],
)
def test_work_that_does_not_check_out_is_no_work(desks, settings, clock, spoil):
    settings.TIPS_PER_MINUTE = 1
    settings.POW_TIPS_PER_MINUTE = 10
    assert send("/submit/cyber/").status_code == 200
    action = worked(form_action(questionnaire().content.decode()))
    spoiled = spoil(action)
    assert spoiled != action
    response = send(spoiled)
    assert response.status_code == 429  # counted without work, in the full lane
    assert b"very busy" in response.content
    assert Tip.objects.count() == 1
    assert SpentTicket.objects.count() == 0


def test_an_old_ticket_is_no_work(desks, settings, clock):
    settings.TIPS_PER_MINUTE = 1
    settings.POW_TIPS_PER_MINUTE = 10
    action = worked(form_action(questionnaire().content.decode()))
    assert send("/submit/cyber/").status_code == 200
    clock.advance(seconds=proof_of_work.TICKET_MAX_AGE + 60)
    assert send("/submit/cyber/").status_code == 200  # a new minute, room for one again
    assert send(action).status_code == 429


def test_each_lane_has_its_own_desk_budget(desks, settings, clock):
    settings.TIPS_PER_DESK_PER_MINUTE = 1
    assert send("/submit/cyber/").status_code == 200
    assert send("/submit/cyber/").status_code == 429
    # A flood without work aimed at one desk leaves that desk's lane with work open.
    assert send(worked(form_action(questionnaire().content.decode()))).status_code == 200
    assert send(worked(form_action(questionnaire().content.decode()))).status_code == 429


def test_a_refused_worked_tip_stores_nothing(desks, settings, clock):
    settings.POW_TIPS_PER_MINUTE = 1
    assert send(worked(form_action(questionnaire().content.decode()))).status_code == 200
    response = send(worked(form_action(questionnaire().content.decode())))
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert Tip.objects.count() == 1


def test_with_work_switched_off_there_is_no_ticket_and_no_script(desks, settings, clock):
    settings.POW_BITS = 0
    response = questionnaire()
    html = response.content.decode()
    assert form_action(html) == "/submit/cyber/"
    assert "<script" not in html and "data-work-bits" not in html
    assert "script-src" not in response["Content-Security-Policy"]
    settings.TIPS_PER_MINUTE = 1
    assert send("/submit/cyber/").status_code == 200
    # A ticket from before the switch earns nothing now.
    settings.POW_BITS = 8
    action = worked(form_action(questionnaire().content.decode()))
    settings.POW_BITS = 0
    assert send(action).status_code == 429


def test_a_page_shown_again_with_errors_has_a_fresh_ticket(desks, clock):
    action = form_action(questionnaire().content.decode())
    response = send(action, message="")
    assert response.status_code == 400
    again = form_action(response.content.decode())
    assert ticket_of(again) != ticket_of(action)


def test_a_spent_ticket_keeps_nothing_about_the_client(desks, clock):
    client = Client(
        REMOTE_ADDR="203.0.113.91",
        HTTP_USER_AGENT="work-agent-canary/1.0",
        HTTP_X_FORWARDED_FOR="198.51.100.91",
    )
    action = worked(form_action(questionnaire(client=client).content.decode()))
    assert send(action, client=client).status_code == 200
    assert {f.name for f in SpentTicket._meta.get_fields()} == {"id", "digest", "spent_at"}
    spent = SpentTicket.objects.get()
    # Only a hash of the ticket is kept, so the row cannot be matched to the page's address.
    assert spent.digest != ticket_of(action).encode()
    assert len(bytes(spent.digest)) == 32


def test_spent_tickets_are_forgotten_once_they_could_no_longer_be_used(desks, clock):
    from tipline.tasks import forget_rate_limit_counts

    assert send(worked(form_action(questionnaire().content.decode()))).status_code == 200
    forget_rate_limit_counts()
    assert SpentTicket.objects.count() == 1
    clock.advance(seconds=proof_of_work.TICKET_MAX_AGE)
    forget_rate_limit_counts()
    assert SpentTicket.objects.count() == 1  # a ticket issued just before it could still come
    clock.advance(seconds=120)
    forget_rate_limit_counts()
    assert SpentTicket.objects.count() == 0


def test_the_script_is_served_from_the_site_with_the_policy_it_needs(desks):
    html = questionnaire().content.decode()
    src = re.search(r'<script src="([^"]+)" defer>', html).group(1)
    response = Client().get(src)
    assert response.status_code == 200
    assert "javascript" in response["Content-Type"]
    body = b"".join(response.streaming_content) if response.streaming else response.content
    # It works the ticket with the browser's own SHA-256 and touches nothing but the form.
    assert b"crypto.subtle.digest" in body
    for forbidden in (b"fetch(", b"XMLHttpRequest", b"localStorage", b"document.cookie", b"eval("):
        assert forbidden not in body
