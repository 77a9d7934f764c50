"""The back office's authorization matrix: every URL, five kinds of visitor.

Routes are read from the back office's URL resolver, admin site included, so a route added
later is either described in ROUTES (who it is for, how to build its URL, which methods it
takes) or listed in PUBLIC_ROUTES with the reason, or the first test fails. Every described
route is then requested by each visitor:

- anonymous, and a password-only session (the desk's own reviewer, TOTP not verified), are
  sent to a login page (or get 403/404);
- a reviewer of another desk and a staff superuser on no desk, both with TOTP and an unlocked
  key, get 403/404 on the desk's objects, and see nothing of the desk on pages they may open;
- the desk's own reviewer gets what the route is for.

The tip, its file, its note and its case are encrypted to all three keys, as if the outsiders
had once been on the desk: only the access check stands between them and the plaintext. A
request that is refused, or made by an outsider, must change nothing.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_otp_webauthn.models import WebAuthnCredential

from reviewers import invitations
from reviewers.admin import admin_site
from reviewers.models import Case, CaseTip, Invitation, Note
from tests.conftest import PASSWORD, Reviewer
from tipline import crypto, storage
from tipline import settings as tipline_settings
from tipline.models import (
    Attachment,
    Desk,
    DeskMembership,
    Message,
    ReviewerKey,
    ReviewerProfile,
    RoutingDecision,
    RoutingRule,
    Tip,
)

BACKOFFICE_URLCONF = tipline_settings.SITE_URLCONF["backoffice"]

TIP_CANARY = "authz-canary-tip-text"
FILE_CANARY = b"authz-canary-file-bytes"
NOTE_CANARY = "authz-canary-note-text"
CASE_CANARY = "authz-canary-case-title"

# Whom a route is for.
DESK = "desk"  # an object of one desk (tip, file, note, case): that desk's reviewers only
REVIEWER = "reviewer"  # any reviewer with TOTP: own settings, and lists of their own desks
AUDITOR = "auditor"  # staff holding a permission (the audit trail): shows no tip content
ADMIN = "admin"  # the admin site: staff with TOTP; desks and questionnaires, never tips
# Reward officers only (reviewers/rewards.py). No visitor here is one, not even the superuser:
# staff status grants nothing (tests/reviewers/test_rewards.py covers the officer's side).
OFFICER = "officer"

VISITORS = ("anonymous", "password_only", "other_desk", "off_desk_admin", "desk_reviewer")

# What each visitor must get. "ok": what the route is for (Route.ok); "login": a redirect to a
# login page, or 403/404; "refused": 403/404 (Route.refused), never the page.
MATRIX = {
    DESK: ("login", "login", "refused", "refused", "ok"),
    REVIEWER: ("login", "login", "ok", "ok", "ok"),
    AUDITOR: ("login", "login", "refused", "ok", "refused"),
    ADMIN: ("login", "login", "login", "ok", "login"),
    OFFICER: ("login", "login", "refused", "refused", "refused"),
}
LOGIN_PAGES = ("/login/", "/admin/login/")


@dataclass
class World:
    desk: Desk
    other_desk: Desk
    alice: Reviewer  # the desk's reviewer
    bob: Reviewer  # a reviewer of the other desk
    root: Reviewer  # a staff superuser on no desk
    tip: Tip
    note: Note
    case: Case
    invitation: Invitation  # onto the desk, issued by the admin
    invitation_token: str
    passkey_pk: int = 0  # one of alice's passkeys

    def attachment_name(self) -> str:
        """The file's storage name now: re-encryption gives files new names."""
        return Attachment.objects.get(tip=self.tip).storage_name

    def markers(self, with_desk_name: bool) -> list[str]:
        """Strings that only someone who may see the desk's work should ever be shown."""
        found = [
            TIP_CANARY,
            FILE_CANARY.decode(),
            NOTE_CANARY,
            CASE_CANARY,
            f"/tips/{self.tip.pk}/",
            f"/cases/{self.case.pk}/",
            self.tip.codename_hash,
        ]
        return [*found, self.desk.name] if with_desk_name else found


def nothing(world: World, me: Reviewer | None) -> dict:
    return {}


def tip_pk(world: World) -> dict:
    return {"pk": world.tip.pk}


def case_pk(world: World) -> dict:
    return {"pk": world.case.pk}


def tip_file(world: World) -> dict:
    return {"pk": world.tip.pk, "name": world.attachment_name()}


def no_kwargs(world: World) -> dict:
    return {}


@dataclass(frozen=True)
class Route:
    """How to request one route, and what its rightful visitor gets for each method tried."""

    access: str
    ok: dict[str, tuple[int, ...]]
    kwargs: Callable[[World], dict] = no_kwargs
    data: Callable[[World, Reviewer | None], dict] = nothing
    query: Callable[[World], dict] = no_kwargs
    # When a POST is for fewer visitors than a GET (e.g. it names a desk to act on).
    post_access: str | None = None
    # What an outsider gets instead of the page; a form naming a foreign desk may say 400.
    refused: tuple[int, ...] = (403, 404)
    # What the desk's reviewer must be shown: proof that the page would show a leak.
    shows: Callable[[World], str] | None = None
    # The desk's reviewer's POST changes the desk's data: proof that a refusal is visible.
    changes: bool = False
    # Requested after the routes of a lower rank: for what locks the key or moves the tip away.
    rank: int = 0

    def access_for(self, method: str) -> str:
        return self.post_access if method == "POST" and self.post_access else self.access


def admin_routes(model: str, pk: Callable[[World], int], **ok: int) -> dict[str, Route]:
    """The six routes the admin gives a registered model ("app.model"), GET only: the admin
    site guards every method with the same check. ``ok`` overrides what staff get from a view,
    e.g. ``delete=403`` where the model admin allows no deleting."""
    app, model_name = model.split(".")
    name = f"tipline_admin:{app}_{model_name}"

    def obj(world: World) -> dict:
        return {"object_id": pk(world)}

    status = {"changelist": 200, "add": 200, "history": 200, "delete": 200, "change": 200, **ok}
    routes = {
        f"{name}_{view}": Route(ADMIN, {"GET": (status[view],)}) for view in ("changelist", "add")
    }
    for view in ("history", "delete", "change"):
        routes[f"{name}_{view}"] = Route(ADMIN, {"GET": (status[view],)}, obj)
    # The pre-1.9 change URL, kept by Django as a redirect to the change page.
    routes[f"admin/{app}/{model_name}/<path:object_id>/"] = Route(ADMIN, {"GET": (302,)}, obj)
    return routes


ROUTES: dict[str, Route] = {
    "reviewers:inbox": Route(
        REVIEWER,
        {"GET": (200,)},
        query=lambda w: {"desk": w.desk.slug},  # asking for the desk widens nothing
        shows=lambda w: f'href="/tips/{w.tip.pk}/"',
    ),
    "reviewers:unlock": Route(
        REVIEWER,
        {"GET": (200,), "POST": (302,)},
        data=lambda w, me: {"passphrase": (me or w.alice).key.passphrase},
    ),
    "reviewers:lock": Route(REVIEWER, {"POST": (302,)}, rank=3),
    "reviewers:tip": Route(DESK, {"GET": (200,)}, tip_pk, shows=lambda w: TIP_CANARY),
    "reviewers:reply": Route(
        DESK,
        {"POST": (302,)},
        tip_pk,
        data=lambda w, me: {"message": "authz reply"},
        changes=True,
    ),
    "reviewers:triage": Route(
        DESK,
        {"POST": (302,)},
        tip_pk,
        data=lambda w, me: {
            "status": "triaged",
            "resolution": "",
            "priority": 3,
            "tags": "authz",
            "assignee": "",
        },
        changes=True,
    ),
    "reviewers:note": Route(
        DESK, {"POST": (302,)}, tip_pk, data=lambda w, me: {"note": "authz"}, changes=True
    ),
    "reviewers:attachment_encrypted": Route(DESK, {"GET": (200,)}, tip_file),
    "reviewers:part_encrypted": Route(
        DESK, {"GET": (200,)}, lambda w: {"pk": w.tip.pk, "part": f"note-{w.note.pk}"}
    ),
    "reviewers:attachment": Route(
        DESK, {"GET": (200,)}, tip_file, shows=lambda w: FILE_CANARY.decode()
    ),
    # After the backlog, which must still find the tip to re-encrypt.
    "reviewers:reencrypt": Route(DESK, {"POST": (302,)}, tip_pk, changes=True, rank=1),
    "reviewers:move": Route(
        DESK,
        {"POST": (302,)},
        tip_pk,
        # An outsider would move the tip to their own desk; the admin to any.
        data=lambda w, me: {"desk": w.other_desk.pk},
        changes=True,
        rank=2,
    ),
    "reviewers:backlog": Route(
        REVIEWER, {"GET": (200,), "POST": (302,)}, shows=lambda w: f'href="/tips/{w.tip.pk}/"'
    ),
    "reviewers:cases": Route(
        REVIEWER, {"GET": (200,)}, shows=lambda w: f'href="/cases/{w.case.pk}/"'
    ),
    "reviewers:case_create": Route(
        REVIEWER,
        {"GET": (200,), "POST": (302,)},
        data=lambda w, me: {"desk": w.desk.pk, "title": "authz case"},
        post_access=DESK,  # a case on the desk: its form offers outsiders only their desks
        refused=(400, 403, 404),
        changes=True,
    ),
    "reviewers:case": Route(DESK, {"GET": (200,)}, case_pk, shows=lambda w: CASE_CANARY),
    "reviewers:case_update": Route(
        DESK,
        {"POST": (302,)},
        case_pk,
        data=lambda w, me: {"status": "handed_over", "owner": ""},
        changes=True,
    ),
    "reviewers:case_note": Route(
        DESK, {"POST": (302,)}, case_pk, data=lambda w, me: {"note": "authz"}, changes=True
    ),
    "reviewers:case_export": Route(
        DESK,
        {"POST": (200,)},
        case_pk,
        # An outsider would export the case to their own key.
        data=lambda w, me: {"recipient_key": (me or w.alice).key.armored},
    ),
    "reviewers:tip_case": Route(
        DESK, {"POST": (302,)}, tip_pk, data=lambda w, me: {"action": "remove"}, changes=True
    ),
    "reviewers:audit": Route(AUDITOR, {"GET": (200,)}),
    # Names only tips of the visitor's own desks (tests/reviewers/test_correlation.py).
    "reviewers:indicators": Route(
        REVIEWER,
        {"GET": (200,), "POST": (200,)},
        data=lambda w, me: {"kind": "email", "value": "a@example.org"},
    ),
    "reviewers:link_shared": Route(DESK, {"POST": (302,)}, tip_pk),
    "reviewers:reward_request": Route(DESK, {"POST": (302,)}, tip_pk),
    # Only suspected-spam tips of the visitor's own desks (tests/reviewers/test_triage.py).
    "reviewers:resolve_spam": Route(
        REVIEWER, {"POST": (302,)}, data=lambda w, me: {"tip": [w.tip.pk]}
    ),
    # Groups of the visitor's own desks' open tips only; sorting decrypts only those, closing
    # closes only a group the visitor was shown. The tip here is in no group (it has no twin):
    # tests/reviewers/test_spam_clusters.py tries outsiders on a real group.
    "reviewers:spam_groups": Route(REVIEWER, {"GET": (200,)}),
    "reviewers:spam_sort": Route(REVIEWER, {"POST": (302,)}),
    "reviewers:spam_close": Route(
        REVIEWER, {"POST": (302,)}, data=lambda w, me: {"tip": w.tip.pk, "group": "0" * 32}
    ),
    # Staff with the permission to add watch lists (tests/reviewers/test_watchlists.py).
    "reviewers:watchlists": Route(
        AUDITOR,
        {"GET": (200,), "POST": (200,)},
        data=lambda w, me: {"name": "authz list", "csv": "kind,value\n"},
    ),
    "reviewers:rewards": Route(OFFICER, {"GET": (200,)}),
    "reviewers:reward_decide": Route(
        OFFICER, {"POST": (302,)}, lambda w: {"pk": 1}, data=lambda w, me: {"decision": "refuse"}
    ),
    # Names a matched tip only to its desk (tests/tipline/test_receipts.py).
    "reviewers:receipt_verify": Route(
        REVIEWER, {"GET": (200,), "POST": (200,)}, data=lambda w, me: {"receipt": "not one"}
    ),
    "reviewers:stats": Route(REVIEWER, {"GET": (200,)}, shows=lambda w: w.desk.name),
    "reviewers:away": Route(REVIEWER, {"POST": (302,)}),
    "reviewers:notifications": Route(REVIEWER, {"POST": (302,)}),
    # The visitor's own key only; a POST without an action changes nothing.
    "reviewers:my_key": Route(REVIEWER, {"GET": (200,), "POST": (200,)}),
    "reviewers:passkeys": Route(REVIEWER, {"GET": (200,)}),
    # JSON ceremonies: options for any reviewer; completing one without a credential is refused.
    "reviewers:passkey_register_begin": Route(REVIEWER, {"POST": (200,)}),
    "reviewers:passkey_register_complete": Route(REVIEWER, {"POST": (400, 422)}),
    # One reviewer's own passkey: like a desk's object, only its owner (the desk's reviewer).
    "reviewers:passkey_remove": Route(
        DESK,
        {"POST": (302,)},
        lambda w: {"pk": w.passkey_pk},
        data=lambda w, me: {"password": PASSWORD},
        rank=1,
    ),
    "tipline_admin:index": Route(ADMIN, {"GET": (200,)}),
    "tipline_admin:password_change": Route(ADMIN, {"GET": (200,)}),
    "tipline_admin:password_change_done": Route(ADMIN, {"GET": (200,)}),
    # No registered model has search fields: there is nothing to complete, for anyone.
    "tipline_admin:autocomplete": Route(
        ADMIN,
        {"GET": (403, 404)},
        query=lambda w: {
            "app_label": "tipline",
            "model_name": "routingrule",
            "field_name": "desk",
            "term": "a",
        },
    ),
    "tipline_admin:jsi18n": Route(ADMIN, {"GET": (200,)}),
    # Redirects to an object's get_absolute_url(); a tip has none, so not even its address.
    "tipline_admin:view_on_site": Route(
        ADMIN,
        {"GET": (404,)},
        lambda w: {
            "content_type_id": ContentType.objects.get_for_model(Tip).pk,
            "object_id": w.tip.pk,
        },
    ),
    "tipline_admin:app_list": Route(ADMIN, {"GET": (200,)}, lambda w: {"app_label": "tipline"}),
    # Tips are not registered: the admin's catch-all answers 404 to its staff as well.
    "admin/(?P<url>.*)$": Route(ADMIN, {"GET": (404,)}, lambda w: {"url": "tipline/tip/"}),
    **admin_routes("tipline.desk", lambda w: w.desk.pk),
    **admin_routes("tipline.routingrule", lambda w: RoutingRule.objects.get(desk=w.desk).pk),
    **admin_routes("tipline.reviewerprofile", lambda w: w.alice.user.reviewer_profile.pk),
    # Made once and never edited or deleted: the change page shows it read-only.
    **admin_routes("reviewers.invitation", lambda w: w.invitation.pk, delete=403),
    # Read-only, with disable and reset actions; accounts come only from invitations.
    **admin_routes("reviewers.revieweraccount", lambda w: w.alice.user.pk, add=403, delete=403),
}


def probe_login(client: Client, world: World) -> list:
    page = client.get("/login/")
    assert page.status_code == 200
    wrong = {"username": world.alice.user.username, "password": "wrong", "otp_token": "000000"}
    refused = client.post("/login/", {**wrong, "csrfmiddlewaretoken": csrf_token(client)})
    assert refused.status_code == 400
    return [page, refused]


def probe_logout(client: Client, world: World) -> list:
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/", {"csrfmiddlewaretoken": csrf_token(client)})
    assert response.status_code == 302 and response["Location"] == "/login/"
    return [response]


def probe_health(client: Client, world: World) -> list:
    response = client.get("/health/")
    assert set(json.loads(response.content)) == {"status", "failing"}
    return [response]


def probe_admin_login(client: Client, world: World) -> list:
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    return [response]


def probe_admin_logout(client: Client, world: World) -> list:
    response = client.post("/admin/logout/", {"csrfmiddlewaretoken": csrf_token(client)})
    assert response.status_code == 302
    assert response["Location"].split("?")[0] in ("/admin/", *LOGIN_PAGES)
    return [response]


def probe_passkey_login(client: Client, world: World) -> list:
    """For a session whose password was right; anyone else is refused."""
    page = client.get("/login/passkey/")
    assert page.status_code == 302 and page["Location"] == "/login/"
    responses = [page]
    for step in ("begin", "complete"):
        response = client.post(
            f"/login/passkey/{step}/", "{}", "application/json", HTTP_X_CSRFTOKEN=csrf_token(client)
        )
        assert response.status_code == 403, step
        responses.append(response)
    return responses


def probe_passkey_catalog(client: Client, world: World) -> list:
    response = client.get("/passkeys/i18n.js")
    assert response.status_code == 200 and "javascript" in response["Content-Type"]
    return [response]


def probe_invitation(client: Client, world: World) -> list:
    responses = []
    for token in (secrets.token_urlsafe(32), world.invitation_token[:-2], "x"):
        for method in ("get", "post"):
            data = {"csrfmiddlewaretoken": csrf_token(client)} if method == "post" else {}
            responses.append(getattr(client, method)(f"/invite/{token}/", data))
            assert responses[-1].status_code == 404, (method, token)
    valid = client.get(f"/invite/{world.invitation_token}/")
    assert valid.status_code == 200  # the invitee's first step: their authenticator
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    invitations.revoke(world.root.user, Invitation.objects.filter(pk=world.invitation.pk))
    revoked = client.get(f"/invite/{world.invitation_token}/")
    assert revoked.status_code == 404
    return [*responses, valid, revoked]


@dataclass(frozen=True)
class Public:
    reason: str
    # Requests the route as an anonymous visitor, asserts what it must answer, and returns the
    # responses, which must show nothing of the desk's work.
    probe: Callable[[Client, World], list]


# Deliberately reachable without a reviewer's session, each with the reason and its probe
# (test_a_public_route_exposes_nothing).
PUBLIC_ROUTES: dict[str, Public] = {
    "reviewers:login": Public("the login form itself", probe_login),
    "reviewers:logout": Public("ends the caller's own session, if any; POST only", probe_logout),
    "reviewers:login_passkey": Public(
        "the login's passkey step, for a session whose password was right", probe_passkey_login
    ),
    "reviewers:passkey_login_begin": Public(
        "the passkey step's options; probed with reviewers:login_passkey", probe_passkey_login
    ),
    "reviewers:passkey_login_complete": Public(
        "the passkey step's signature; probed with reviewers:login_passkey", probe_passkey_login
    ),
    "reviewers:passkey_i18n": Public(
        "the passkey scripts' messages, the same for everyone", probe_passkey_catalog
    ),
    "reviewers:invitation": Public(
        "the token in the link is the credential; any other token gets 404", probe_invitation
    ),
    "health": Public("monitoring: says which dependency is down, nothing else", probe_health),
    "tipline_admin:login": Public("forwards to the back office's own login", probe_admin_login),
    "tipline_admin:logout": Public("ends the caller's own session, if any", probe_admin_logout),
}


def walk(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from walk(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
            yield name or route, route


def backoffice_routes() -> list[tuple[str, str]]:
    """(key, route) of every back-office URL; the key is the route's name, or its pattern."""
    return list(walk(get_resolver(BACKOFFICE_URLCONF).url_patterns))


def build_path(route: str, kwargs: dict) -> str:
    def value(match: re.Match) -> str:
        return str(kwargs[match.group("name")])

    path = re.sub(r"\(\?P<(?P<name>\w+)>[^)]*\)", value, route)
    path = re.sub(r"<(?:\w+:)?(?P<name>\w+)>", value, path)
    return "/" + path.replace("^", "").replace("$", "")


def test_every_back_office_route_is_in_the_matrix():
    keys = [key for key, _ in backoffice_routes()]
    missing = [key for key in keys if key not in ROUTES and key not in PUBLIC_ROUTES]
    assert not missing, (
        f"Back-office routes missing from the authorization matrix: {missing}. Add each to "
        "ROUTES in tests/security/test_backoffice_authz.py (whom it is for, how to build its "
        "URL, which methods it takes), or, only if it is deliberately public, to PUBLIC_ROUTES "
        "with the reason."
    )
    stale = sorted((set(ROUTES) | set(PUBLIC_ROUTES)) - set(keys))
    assert not stale, f"Routes in the matrix that no longer exist: {stale}"
    assert not set(ROUTES) & set(PUBLIC_ROUTES)


def encrypt_json(document: dict, keys: list[crypto.PublicKey]) -> bytes:
    return crypto.encrypt_bytes(json.dumps(document).encode(), keys)


@pytest.fixture
def world(backoffice, desk, other_desk, make_reviewer) -> World:
    alice = make_reviewer("alice", desks=[desk], key="alice")
    bob = make_reviewer("bob", desks=[other_desk], key="bob")
    root = make_reviewer("root", key="carol", is_staff=True, is_superuser=True)
    keys = [crypto.PublicKey(r.key.fingerprint, r.key.armored) for r in (alice, bob, root)]
    fingerprints = [key.fingerprint for key in keys]
    name, path = storage.new_incoming()
    path.write_bytes(crypto.encrypt_bytes(FILE_CANARY, keys))
    storage.commit(name)
    answer = {"key": "message", "kind": "long_text", "label": "What do you know?"}
    document = {
        "version": 2,
        "answers": [{**answer, "value": TIP_CANARY, "display": TIP_CANARY}],
        "attachments": [{"storage_name": name, "file_name": "evidence.txt"}],
        "language": "en",
    }
    tip = Tip.objects.create(
        desk=desk,
        codename_hash=secrets.token_hex(32),
        envelope=encrypt_json(document, keys),
        recipients=fingerprints,
        reply_public_key=b"\x09" * 32,
        has_files=True,
    )
    Attachment.objects.create(
        tip=tip, storage_name=name, ciphertext_bytes=storage.path_of(name).stat().st_size
    )
    note = Note.objects.create(
        tip=tip,
        author=alice.user,
        body=encrypt_json({"version": 1, "note": NOTE_CANARY}, keys),
        recipients=fingerprints,
    )
    case = Case.objects.create(
        desk=desk,
        title=encrypt_json({"version": 1, "title": CASE_CANARY}, keys),
        recipients=fingerprints,
        owner=alice.user,
        created_by=alice.user,
    )
    CaseTip.objects.create(case=case, tip=tip, added_by=alice.user)
    RoutingRule.objects.create(name="authz rule", desk=desk)
    ReviewerProfile.objects.create(user=alice.user)
    issued = invitations.invite_reviewer(alice.user, "dave", "", [desk])  # a member invites
    passkey = WebAuthnCredential.objects.create(
        user=alice.user, name="alice's key", credential_id=secrets.token_bytes(32), public_key=b"-"
    )
    return World(
        desk,
        other_desk,
        alice,
        bob,
        root,
        tip,
        note,
        case,
        issued.invitation,
        issued.token,
        passkey.pk,
    )


def snapshot(world: World) -> dict:
    """The desk's data an outsider must not be able to change."""
    tip = Tip.objects.get(pk=world.tip.pk)
    fields = ("desk_id", "status", "resolution", "priority", "assignee_id", "recipients")
    return {
        "tip": [getattr(tip, name) for name in fields] + [bytes(tip.envelope)],
        "tags": sorted(tip.tags.values_list("name", flat=True)),
        "messages": list(Message.objects.filter(tip=tip).values_list("pk", flat=True)),
        "notes": list(Note.objects.values_list("pk", "tip_id", "case_id")),
        "files": list(Attachment.objects.filter(tip=tip).values_list("storage_name", flat=True)),
        "cases": [
            (c.pk, c.status, c.owner_id, bytes(c.title), c.recipients)
            for c in Case.objects.filter(desk=world.desk)
        ],
        "case_tips": list(CaseTip.objects.values_list("case_id", "tip_id")),
        "desks": list(Desk.objects.values_list("pk", "slug", "is_active")),
    }


def csrf_token(client: Client) -> str:
    """The session's CSRF token, as a form on one of its pages would carry it."""
    if settings.CSRF_COOKIE_NAME not in client.cookies:
        client.get("/login/")
    return client.cookies[settings.CSRF_COOKIE_NAME].value


def log_in(client: Client, reviewer: Reviewer) -> None:
    """Password, TOTP code and key passphrase, through the forms, with CSRF checks on."""
    form = {"username": reviewer.user.username, "password": PASSWORD, "otp_token": reviewer.totp()}
    response = client.post("/login/", {**form, "csrfmiddlewaretoken": csrf_token(client)})
    assert response.status_code == 302, response.content
    unlock = {"passphrase": reviewer.key.passphrase, "csrfmiddlewaretoken": csrf_token(client)}
    response = client.post("/key/unlock/", unlock)
    assert response.status_code == 302, response.content


def visit_as(kind: str, world: World) -> tuple[Client, Reviewer | None]:
    client = Client(enforce_csrf_checks=True)
    if kind == "anonymous":
        return client, None
    if kind == "password_only":
        client.force_login(world.alice.user)  # the desk's own reviewer, without the TOTP code
        return client, world.alice
    reviewer = {"other_desk": world.bob, "off_desk_admin": world.root, "desk_reviewer": world.alice}
    log_in(client, reviewer[kind])
    return client, reviewer[kind]


def body_of(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


@dataclass
class Request:
    """One method of one route; its URL and form are built when sent, from the data as it is
    then (re-encryption renames files)."""

    key: str
    route: Route
    method: str
    pattern: str
    path: str = ""

    def send(self, client: Client, world: World, me: Reviewer | None, data=None):
        self.path = build_path(self.pattern, self.route.kwargs(world))
        if self.method == "GET":
            return client.get(self.path, self.route.query(world) if data is None else data)
        form = self.route.data(world, me) if data is None else data
        return client.post(self.path, {**form, "csrfmiddlewaretoken": csrf_token(client)})

    def __str__(self) -> str:
        return f"{self.method} {self.path or self.pattern} ({self.key})"


def described_requests() -> list[Request]:
    """Every described route of the resolver, each method once, by rank."""
    found = []
    for key, pattern in backoffice_routes():
        route = ROUTES.get(key)
        if route is None:
            continue  # public, or missing: test_every_back_office_route_is_in_the_matrix
        found += [Request(key, route, method, pattern) for method in route.ok]
    return sorted(found, key=lambda request: request.route.rank)  # stable: resolver order


def judge(request: Request, response, expected: str) -> str | None:
    """Why ``response`` is not what ``expected`` allows, or None."""
    status, location = response.status_code, response.get("Location", "")
    sent_to = location.split("?")[0]
    if expected == "ok":
        if status not in request.route.ok[request.method]:
            return f"expected {request.route.ok[request.method]}, got {status} {location}"
        if status in (301, 302) and sent_to in (*LOGIN_PAGES, "/key/unlock/"):
            return f"sent to {location} instead of being served"
    elif expected == "login":
        if not (status == 302 and sent_to in LOGIN_PAGES) and status not in (403, 404):
            return f"expected a login redirect or 403/404, got {status} {location}"
    elif status not in request.route.refused:
        return f"expected {request.route.refused}, got {status} {location}"
    return None


@pytest.mark.parametrize("kind", VISITORS)
def test_each_visitor_gets_exactly_what_the_matrix_allows(kind, world):
    client, me = visit_as(kind, world)
    problems = []
    for request in described_requests():
        expected = MATRIX[request.route.access_for(request.method)][VISITORS.index(kind)]
        before = snapshot(world)
        response = request.send(client, world, me)
        body = body_of(response)
        problem = judge(request, response, expected)
        if problem:
            problems.append(f"{request}: {problem}")
        if request.method == "POST" and not response.wsgi_request.csrf_processing_done:
            problems.append(f"{request}: refused by the CSRF check, not by access control")
        changed = snapshot(world) != before
        if kind != "desk_reviewer":
            leaked = [m for m in world.markers(request.route.access != ADMIN) if m in body]
            if leaked:
                problems.append(f"{request}: shows {leaked}")
            if changed:
                problems.append(f"{request}: changed the desk's data")
        elif expected == "ok" and not problem:
            wanted = request.route.shows(world) if request.route.shows else None
            if request.method == "GET" and wanted and wanted not in body:
                problems.append(f"{request}: does not show {wanted!r}")
            if request.method == "POST" and request.route.changes and not changed:
                problems.append(f"{request}: changed nothing (so a refusal would go unseen)")
    assert not problems, "\n".join(problems)


def test_the_table_lists_every_method_a_route_accepts(world):
    """A method a view accepts but the table does not try would go untested: the desk's
    reviewer must get 405 for every other method."""
    client, me = visit_as("desk_reviewer", world)
    problems = []
    for request in described_requests():
        others = {"GET", "POST"} - set(request.route.ok)
        allowed = MATRIX[request.route.access][VISITORS.index("desk_reviewer")] == "ok"
        if request.route.rank or not allowed or not others:
            continue
        for method in others:
            other = Request(request.key, request.route, method, request.pattern)
            response = other.send(client, world, me, data={})
            body_of(response)
            if response.status_code != 405:
                problems.append(f"{other}: {response.status_code}, not 405: add it to ROUTES")
    assert not problems, "\n".join(problems)


def test_a_public_route_exposes_nothing(world):
    """Desk names are public (the tip form offers them); nothing else of a desk may show."""
    public = [key for key, _ in backoffice_routes() if key in PUBLIC_ROUTES]
    for key in public:
        for response in PUBLIC_ROUTES[key].probe(Client(enforce_csrf_checks=True), world):
            body = body_of(response)
            assert not [m for m in world.markers(with_desk_name=False) if m in body], key


@pytest.mark.parametrize("path", ["/logout/", "/admin/logout/"])
def test_logging_out_ends_the_session(world, path):
    client, _ = visit_as("off_desk_admin", world)
    assert client.get("/admin/").status_code == 200
    assert client.post(path, {"csrfmiddlewaretoken": csrf_token(client)}).status_code in (200, 302)
    for page in ("/", "/admin/"):
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"].split("?")[0] in LOGIN_PAGES


TIP_CONTENT_MODELS = (Tip, Message, Attachment, Note, Case, CaseTip, RoutingDecision)


def test_the_admin_holds_no_tip_content_keys_or_memberships():
    shown = set()
    for model, model_admin in admin_site._registry.items():
        shown |= {model, *(inline.model for inline in model_admin.inlines)}
    assert not shown & {*TIP_CONTENT_MODELS, ReviewerKey, DeskMembership}
    for model in shown:
        forward = [f for f in model._meta.get_fields() if f.is_relation and not f.auto_created]
        related = {f.related_model for f in forward}
        assert not related & set(TIP_CONTENT_MODELS), f"{model.__name__} leads to tip content"
