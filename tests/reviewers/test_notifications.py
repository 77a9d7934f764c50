"""The new-work e-mail: a reviewer is told that work waits in the back office, and nothing else."""

import json
import re
import subprocess
import sys
import threading
from datetime import timedelta
from email import message_from_bytes
from unittest import mock

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from reviewers import triage
from tests import canary
from tipline import notifications, routing, tasks
from tipline.models import AuditEvent, Question, ReviewerProfile, Tip

CANARY = "canary-notify-8c2e"
# An id that cannot turn up in a date, a port or a random header by chance.
DISTINCT_TIP_ID = 73_194_205
HEADERS = {
    "Content-Type",
    "MIME-Version",
    "Content-Transfer-Encoding",
    "Subject",
    "From",
    "To",
    "Date",
    "Message-ID",
}


@pytest.fixture(autouse=True)
def mailbox(db, settings):
    """Django's locmem outbox (set up with the database, which replaces it for each test)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.NOTIFY_INTERVAL_MINUTES = 30
    settings.BACKOFFICE_URL = ""
    return mail.outbox


@pytest.fixture
def clock():
    """Frozen time that a test moves forward by hand."""

    class Clock:
        now = timezone.now()

        def advance(self, minutes: float) -> None:
            self.now += timedelta(minutes=minutes)

    frozen = Clock()
    with mock.patch("django.utils.timezone.now", side_effect=lambda: frozen.now):
        yield frozen


@pytest.fixture
def worker(django_capture_on_commit_callbacks):
    """Run each new-work message as a worker would, after the commit; record what was sent.

    The arguments go through JSON, as through the broker, and the task gets only what survives.
    """
    sent = []

    def deliver(args, **options):
        sent.append((args, options))
        tasks.notify_new_work.run(*json.loads(json.dumps(args)))

    with mock.patch.object(tasks.notify_new_work, "apply_async", side_effect=deliver):
        yield sent


@pytest.fixture
def route(django_capture_on_commit_callbacks, worker):
    def route(tip) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            routing.route(tip.pk)
        tip.refresh_from_db()

    return route


@pytest.fixture
def alice(desk, make_reviewer):
    return make_reviewer("alice", desks=[desk], key="alice", email="alice@example.org").user


@pytest.fixture
def bob(desk, make_reviewer):
    return make_reviewer("bob", desks=[desk], key="bob", email="bob@example.org").user


def test_it_emails_the_reviewer_a_tip_is_routed_to_once(alice, tip_factory, route, worker, mailbox):
    tip = tip_factory()
    route(tip)
    assert tip.assignee == alice
    [message] = mailbox
    assert message.to == ["alice@example.org"]
    assert (message.subject, message.body) == (notifications.SUBJECT, notifications.BODY)
    route(tip)  # routing again changes nothing, so asks for no e-mail at all
    assert len(worker) == 1 and len(mailbox) == 1


def test_it_sends_nothing_more_within_the_interval_and_again_after_it(
    alice, tip_factory, route, mailbox, clock
):
    route(tip_factory())
    clock.advance(29)
    route(tip_factory())
    assert len(mailbox) == 1
    clock.advance(1.5)
    route(tip_factory())
    assert len(mailbox) == 2
    clock.advance(1)
    route(tip_factory())
    assert [m.to for m in mailbox] == [["alice@example.org"]] * 2


def test_the_interval_is_a_setting(alice, tip_factory, route, mailbox, clock, settings):
    settings.NOTIFY_INTERVAL_MINUTES = 5
    route(tip_factory())
    clock.advance(6)
    route(tip_factory())
    assert len(mailbox) == 2


def test_each_reviewer_has_their_own_interval(alice, bob, tip_factory, route, mailbox):
    route(tip_factory())
    route(tip_factory())  # the least loaded now is the other one
    assert sorted(m.to[0] for m in mailbox) == ["alice@example.org", "bob@example.org"]


def opt_out(user):
    ReviewerProfile.objects.update_or_create(user=user, defaults={"notify_by_email": False})


def mark_away(user):
    ReviewerProfile.objects.update_or_create(user=user, defaults={"is_away": True})


def disable(user):
    user.is_active = False
    user.save()


def remove_address(user):
    user.email = ""
    user.save()


def undo(user):
    ReviewerProfile.objects.filter(user=user).update(notify_by_email=True, is_away=False)
    user.is_active = True
    user.email = "alice@example.org"
    user.save()


@pytest.mark.parametrize("spoil", [opt_out, mark_away, disable, remove_address])
def test_it_emails_nobody_who_should_not_get_it(alice, spoil, mailbox):
    spoil(alice)
    assert tasks.notify_new_work.run(alice.pk) is False
    assert mailbox == []
    # Nothing was claimed either: once the reason is gone, the next new work is e-mailed.
    undo(alice)
    assert tasks.notify_new_work.run(alice.pk) is True
    assert len(mailbox) == 1


@pytest.mark.parametrize("spoil", [opt_out, remove_address])
def test_routing_to_a_reviewer_who_should_not_get_it_sends_nothing(
    alice, spoil, tip_factory, route, worker, mailbox
):
    spoil(alice)
    tip = tip_factory()
    route(tip)
    assert tip.assignee == alice
    assert mailbox == []
    assert worker == []  # not even enqueued


def test_a_tip_left_unassigned_emails_nobody(alice, tip_factory, route, mailbox):
    mark_away(alice)
    tip = tip_factory()
    route(tip)
    assert tip.assignee is None and tip.routed_at is not None
    assert mailbox == []


def test_it_ignores_an_unknown_reviewer(db, mailbox):
    assert tasks.notify_new_work.run(999_999) is False
    assert mailbox == []


def test_the_task_message_carries_the_reviewer_id_only(alice, tip_factory, route, worker):
    route(tip_factory(routing_answers={"how_known": "documents"}, has_files=True, language="ar"))
    assert worker == [([alice.pk], {"retry": True})]
    [(args, _options)] = worker
    assert all(type(arg) is int for arg in args)


def test_the_email_says_nothing_about_the_tip(
    client, public_site, desk, alice, bob, route, mailbox
):
    """A tip full of canaries, sent as a tipster sends one; the e-mail holds none of it."""
    Question.objects.filter(desk=desk, key="how_known").update(is_routing=True)
    client.cookies[public_site.LANGUAGE_COOKIE_NAME] = "ar"
    with mock.patch("tipline.tasks.route_tip.apply_async"):
        response = client.post(
            "/submit/cyber/",
            {
                "message": f"the ledger {CANARY}",
                "how_known": "documents",
                "reward_contact": f"contact-{CANARY}",
            },
        )
    assert response.status_code == 200, response.content
    codename = response.context["codename"]
    Tip.objects.update(id=DISTINCT_TIP_ID)
    tip = Tip.objects.get()
    assert (tip.language, tip.routing_answers) == ("ar", {"how_known": "documents"})
    route(tip)
    [message] = mailbox
    whole = message.message().as_bytes()
    forbidden = [
        CANARY,
        codename,
        str(DISTINCT_TIP_ID),
        desk.slug,
        desk.name,
        desk.translations["ar"]["name"],
        "documents",
        "Arabic",
        "العربية",
    ]
    assert canary.find(forbidden, {"e-mail": whole}) == []
    for text in forbidden:
        assert text.lower() not in whole.decode("utf-8", "replace").lower()
    parsed = message_from_bytes(whole)
    assert set(parsed.keys()) == HEADERS
    assert (parsed["Subject"], parsed.get_payload(decode=True).decode()) == (
        notifications.SUBJECT,
        notifications.BODY,
    )
    assert not re.search(r"\d", parsed.get_payload(decode=True).decode())


def test_the_message_id_names_the_sender_domain_not_the_worker(alice, worker, settings):
    settings.DEFAULT_FROM_EMAIL = "Tipline <tipline@mail.example.org>"
    tasks.notify_new_work.run(alice.pk)
    [message] = mail.outbox
    assert re.fullmatch(r"<[0-9a-f]{32}@mail\.example\.org>", message.extra_headers["Message-ID"])
    assert message.message()["Message-ID"] == message.extra_headers["Message-ID"]


def test_it_links_the_back_office_only_when_set(alice, bob, worker, mailbox, settings):
    tasks.notify_new_work.run(alice.pk)
    assert "http" not in mailbox[0].body
    settings.BACKOFFICE_URL = "https://review.example.org/"
    tasks.notify_new_work.run(bob.pk)
    assert mailbox[1].body == (
        notifications.BODY_WITH_LINK.format(url="https://review.example.org/")
    )


def test_a_failed_send_gives_the_claim_back(alice, worker, mailbox):
    with (
        mock.patch(
            "django.core.mail.backends.locmem.EmailBackend.send_messages", side_effect=OSError
        ),
        pytest.raises(OSError),
    ):
        tasks.notify_new_work.run(alice.pk)
    assert ReviewerProfile.objects.get(user=alice).notified_at is None
    assert tasks.notify_new_work.run(alice.pk) is True  # the retry sends it
    assert len(mailbox) == 1


def test_reassignment_in_triage_emails_the_new_assignee(
    alice, bob, tip_factory, worker, mailbox, django_capture_on_commit_callbacks
):
    tip = tip_factory(assignee=alice, routed_at=timezone.now())

    def assign(by, to):
        with django_capture_on_commit_callbacks(execute=True):
            triage.update_tip(
                by, tip, status=tip.status, resolution="", priority=1, tags=[], assignee=to
            )

    assign(alice, alice)  # nothing changed
    assign(alice, None)  # nobody to tell
    assign(alice, alice)  # a reviewer taking a tip knows already
    assert mailbox == []
    assign(alice, bob)
    [message] = mailbox
    assert message.to == ["bob@example.org"]
    assert worker == [([bob.pk], {"retry": True})]
    assign(bob, bob)  # unchanged: no second e-mail, whatever the interval
    assert len(mailbox) == 1


def test_a_refused_triage_change_emails_nobody(
    alice, bob, tip_factory, worker, mailbox, django_capture_on_commit_callbacks
):
    tip = tip_factory(assignee=alice, routed_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(triage.TriageError):
        triage.update_tip(
            alice, tip, status="closed", resolution="", priority=1, tags=[], assignee=bob
        )
    assert mailbox == []


def test_a_reviewer_turns_the_emails_off_and_on(backoffice, desk, make_reviewer, logged_in):
    reviewer = make_reviewer("carol", desks=[desk], key="carol", email="carol@example.org")
    client = logged_in(reviewer)
    assert b"New-work e-mails: on" in client.get("/").content
    assert client.get("/me/notifications/").status_code == 405
    response = client.post("/me/notifications/")
    assert response.status_code == 302
    assert not ReviewerProfile.objects.get(user=reviewer.user).notify_by_email
    assert b"New-work e-mails: off" in client.get("/").content
    client.post("/me/notifications/")
    assert ReviewerProfile.objects.get(user=reviewer.user).notify_by_email
    actions = AuditEvent.objects.filter(actor=reviewer.user, action__startswith="reviewer.n")
    assert list(actions.order_by("pk").values_list("action", flat=True)) == [
        "reviewer.notifications_off",
        "reviewer.notifications_on",
    ]


def test_only_a_logged_in_reviewer_toggles_the_emails(backoffice, desk, make_reviewer):
    reviewer = make_reviewer("carol", desks=[desk], key="carol")
    anonymous = Client()
    assert anonymous.post("/me/notifications/")["Location"].startswith("/login/")
    password_only = Client()
    password_only.force_login(reviewer.user)  # no TOTP verified
    assert password_only.post("/me/notifications/")["Location"].startswith("/login/")
    assert not ReviewerProfile.objects.filter(user=reviewer.user, notify_by_email=False).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_cannot_both_send(desk, make_reviewer, settings):
    from django.db import connection

    reviewer = make_reviewer("alice", desks=[desk], email="alice@example.org").user
    start = threading.Barrier(4)
    results, errors = [], []

    def work():
        try:
            start.wait()
            results.append(notifications.send_new_work_email(reviewer.pk))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [False, False, False, True]
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TIPLINE_NOTIFY_INTERVAL_MINUTES", "0"),
        ("TIPLINE_NOTIFY_INTERVAL_MINUTES", "half an hour"),
        ("TIPLINE_BACKOFFICE_URL", "review.example.org"),
    ],
)
def test_a_bad_setting_stops_start_up(variable, value, settings):
    result = subprocess.run(
        [sys.executable, "-c", "import tipline.settings"],
        env={"PATH": "/usr/bin:/bin", "TIPLINE_DATA_DIR": str(settings.DATA_DIR), variable: value},
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and variable in result.stderr
