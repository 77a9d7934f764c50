import io
import json
import subprocess
import zipfile

import pytest

from reviewers import cases
from reviewers.models import Case, CaseTip, Note
from tests.reviewers.test_reencrypt import submit_with_file
from tipline.models import AuditEvent

pytestmark = pytest.mark.django_db


def gpg(home, *args, data=None):
    return subprocess.run(
        ["gpg", "--batch", "--homedir", str(home), "--passphrase", "", *args],
        input=data,
        capture_output=True,
        check=True,
    ).stdout


@pytest.fixture
def investigator(tmp_path):
    """A recipient outside the tip line: their own key pair, in their own keyring."""
    home = tmp_path / "investigator"
    home.mkdir(mode=0o700)
    gpg(home, "--quick-gen-key", "Investigator <inv@example.org>", "ed25519", "cert,sign", "0")
    fpr = next(
        line.split(":")[9]
        for line in gpg(home, "--with-colons", "--list-keys").decode().splitlines()
        if line.startswith("fpr:")
    )
    gpg(home, "--quick-add-key", fpr, "cv25519", "encr", "0")
    subkey = next(
        line.split(":")[4]
        for line in gpg(home, "--with-colons", "--list-keys").decode().splitlines()
        if line.startswith("sub:")
    )
    yield home, fpr, subkey, gpg(home, "--armor", "--export", fpr).decode()
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)


def test_a_case_groups_tips_with_an_encrypted_title_and_notes(
    backoffice, desk, make_reviewer, logged_in, settings
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    tip = submit_with_file(settings)
    client = logged_in(alice, unlock=True)
    response = client.post(
        f"/tips/{tip.pk}/case/", {"action": "new", "title": "case-title-canary Lazarus"}
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert response["Location"] == f"/cases/{case.pk}/"
    assert b"case-title-canary" not in bytes(case.title)
    assert CaseTip.objects.get().tip == tip
    client.post(f"/cases/{case.pk}/notes/", {"note": "case-note-canary"})
    assert b"case-note-canary" not in bytes(Note.objects.get(case=case).body)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "case-title-canary Lazarus" in page and "case-note-canary" in page
    assert f"/tips/{tip.pk}/" in page
    listing = client.get("/cases/").content.decode()
    assert f"Case #{case.pk}" in listing and "case-title-canary" not in listing
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"case.create", "case.add_tip", "case.note", "case.read"} <= actions
    assert "canary" not in json.dumps(list(AuditEvent.objects.values_list("detail", flat=True)))
    timeline = [event.action for event in cases.timeline(case)]
    assert timeline.index("case.create") < timeline.index("case.add_tip")


def test_a_tip_joins_one_case_of_its_own_desk_only(
    backoffice, desk, other_desk, make_reviewer, settings
):
    alice = make_reviewer("alice", desks=[desk, other_desk], key="alice")
    tip = submit_with_file(settings)
    first = cases.create_case(alice.user, desk, "first", tip)
    second = cases.create_case(alice.user, desk, "second")
    elsewhere = cases.create_case(alice.user, other_desk, "elsewhere")
    with pytest.raises(cases.CaseError, match="already in a case"):
        cases.add_tip(alice.user, second, tip)
    with pytest.raises(cases.CaseError, match="its own desk"):
        cases.add_tip(alice.user, elsewhere, tip)
    assert CaseTip.objects.get().case == first


def test_status_and_owner_changes_are_audited_and_limited_to_the_desk(
    backoffice, desk, other_desk, make_reviewer, logged_in, settings
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    bob = make_reviewer("bob", desks=[desk], key="bob")
    outsider = make_reviewer("olga", desks=[other_desk], key="carol")
    case = cases.create_case(alice.user, desk, "t")
    client = logged_in(alice, unlock=True)
    response = client.post(
        f"/cases/{case.pk}/edit/", {"status": "handed_over", "owner": outsider.user.pk}
    )
    assert response.status_code == 400
    client.post(f"/cases/{case.pk}/edit/", {"status": "handed_over", "owner": bob.user.pk})
    case.refresh_from_db()
    assert case.status == "handed_over" and case.owner == bob.user
    event = AuditEvent.objects.get(action="case.status")
    assert event.detail == {"case": case.pk, "old": "open", "new": "handed_over"}
    assert AuditEvent.objects.filter(action="case.owner").exists()


def test_another_desk_cannot_see_or_touch_a_case(
    backoffice, desk, other_desk, make_reviewer, logged_in, settings
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    bob = make_reviewer("bob", desks=[other_desk], key="bob")
    tip = submit_with_file(settings)
    case = cases.create_case(alice.user, desk, "secret-title", tip)
    client = logged_in(bob, unlock=True)
    assert client.get(f"/cases/{case.pk}/").status_code == 404
    assert client.post(f"/cases/{case.pk}/notes/", {"note": "x"}).status_code == 404
    assert client.post(f"/cases/{case.pk}/edit/", {"status": "closed"}).status_code == 404
    assert f"/cases/{case.pk}/" not in client.get("/cases/").content.decode()
    assert client.post(f"/tips/{tip.pk}/case/", {"action": "remove"}).status_code == 404
    case.refresh_from_db()
    assert case.status == "open" and case.members.count() == 1


def test_an_export_opens_only_with_the_recipients_key_and_holds_the_whole_case(
    backoffice, desk, make_reviewer, logged_in, settings, investigator
):
    home, fpr, subkey, armored = investigator
    alice = make_reviewer("alice", desks=[desk], key="alice")
    tip = submit_with_file(settings, body=b"export-file-canary")
    case = cases.create_case(alice.user, desk, "export-title-canary", tip)
    cases.add_case_note(alice.user, case, "export-note-canary")
    client = logged_in(alice, unlock=True)
    response = client.post(f"/cases/{case.pk}/export/", {"recipient_key": armored})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.zip.gpg"')
    ciphertext = b"".join(response.streaming_content)
    assert b"canary" not in ciphertext
    # Not even the exporting reviewer's key opens it: it is for the recipient only.
    listed = gpg(home, "--list-packets", data=ciphertext).decode()
    assert [line.split("keyid ")[1] for line in listed.splitlines() if "keyid " in line] == [subkey]
    archive = zipfile.ZipFile(io.BytesIO(gpg(home, "--decrypt", data=ciphertext)))
    names = set(archive.namelist())
    prefix = f"case-{case.pk}"
    assert {
        f"{prefix}/README.txt",
        f"{prefix}/case.json",
        f"{prefix}/tips/{tip.pk}/tip.json",
    } <= names
    assert archive.read(f"{prefix}/tips/{tip.pk}/files/evidence.txt") == b"export-file-canary"
    summary = json.loads(archive.read(f"{prefix}/case.json"))
    assert summary["title"] == "export-title-canary"
    assert summary["notes"][0]["text"] == "export-note-canary"
    document = json.loads(archive.read(f"{prefix}/tips/{tip.pk}/tip.json"))
    assert document["answers"][0]["answer"] == "envelope-canary-re"
    assert "reward_contact" not in document  # only when asked for
    event = AuditEvent.objects.get(action="case.export")
    assert event.detail["recipient"] == fpr and event.detail["tips"] == [tip.pk]
    # Nothing but ciphertext and keys was written anywhere under the data directories.
    for root in (settings.ENCRYPTED_FILES_DIR, settings.REVIEWER_GNUPG_ROOT):
        for path in root.rglob("*"):
            if path.is_file() and not path.name.startswith("S."):
                assert b"canary" not in path.read_bytes(), path
    assert not list(settings.REVIEWER_GNUPG_ROOT.glob(".scratch*"))


def test_an_export_refuses_a_key_that_cannot_receive_it(
    backoffice, desk, make_reviewer, logged_in, settings
):
    alice = make_reviewer("alice", desks=[desk], key="alice")
    case = cases.create_case(alice.user, desk, "t")
    client = logged_in(alice, unlock=True)
    response = client.post(f"/cases/{case.pk}/export/", {"recipient_key": "not a key"})
    assert response.status_code == 400
    assert "public key" in response.content.decode()
    assert not AuditEvent.objects.filter(action="case.export").exists()
