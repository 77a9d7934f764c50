"""Signed receipts: a tipster can later prove which tip they sent, and when, without saying who
they are; the key that signs them signs only, and lives apart from every key that decrypts."""

import io
import re
import subprocess
from html import unescape
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from tests.tipline.test_checkin import check_in
from tipline import crypto, receipts
from tipline.models import AuditEvent, ReceiptKey, Tip

RECEIPT = re.compile(r"-----BEGIN PGP SIGNED MESSAGE-----.*?-----END PGP SIGNATURE-----\n?", re.S)


@pytest.fixture
def sent(public_site, desk, make_reviewer):
    """A tip sent through the public site: the receipt page's signed receipt, and the tip."""
    make_reviewer("alice", desks=[desk], key="alice")
    response = Client().post("/submit/cyber/", {"message": "a tip worth a reward"})
    assert response.status_code == 200
    html = unescape(response.content.decode())
    signed = RECEIPT.search(html).group(0)
    return {"receipt": signed, "tip": Tip.objects.get(), "codename": response.context["codename"]}


def verify_in_backoffice(settings, text):
    from tests.conftest import switch_site

    switch_site(settings, "backoffice")
    return receipts.verify(text)


def test_the_receipt_names_the_tip_by_reference_time_and_hash(sent):
    tip = sent["tip"]
    assert re.fullmatch(r"TL(-[2-9A-HJKMNP-Z]{4}){3}", tip.reference)
    text = sent["receipt"]
    assert f"Reference: {tip.reference}\n" in text
    assert f"Received: {tip.received_at:%Y-%m-%dT%H:%M}Z\n" in text
    assert f"Submission SHA-256: {receipts.submission_digest(tip)}\n" in text
    # Nothing that opens or identifies: no codename, no desk, no row id.
    assert sent["codename"] not in text and "cyber" not in text.lower()
    assert f"#{tip.pk}" not in text


def test_a_receipt_verifies_and_a_changed_one_does_not(sent, settings):
    result = verify_in_backoffice(settings, sent["receipt"])
    assert result.valid, result.problem
    assert result.tip == sent["tip"]
    digest = receipts.submission_digest(sent["tip"])
    other = ("1" if digest[0] == "0" else "0") + digest[1:]
    forged = sent["receipt"].replace(digest, other)
    assert forged != sent["receipt"]
    assert not verify_in_backoffice(settings, forged).valid


def test_a_receipt_for_a_changed_submission_does_not_match(sent, settings):
    tip = sent["tip"]
    tip.envelope = bytes(tip.envelope) + b"\x00"
    tip.save()
    result = verify_in_backoffice(settings, sent["receipt"])
    assert not result.valid and "hash does not match" in result.problem


def test_a_receipt_signed_by_another_key_is_refused(sent, settings, tmp_path):
    home = crypto.prepare_home(tmp_path / "forger")
    gpg = ["gpg", "--batch", "--homedir", str(home), "--pinentry-mode", "loopback"]
    subprocess.run(
        [*gpg, "--passphrase", "", "--quick-gen-key", "Forger", "ed25519", "sign", "0"],
        check=True,
        capture_output=True,
    )
    text = receipts.receipt_text(sent["tip"])
    forged = subprocess.run(
        [*gpg, "--clearsign"], input=text.encode(), check=True, capture_output=True
    ).stdout.decode()
    crypto.stop_agent(home)
    result = verify_in_backoffice(settings, forged)
    assert not result.valid and "not by a receipt key" in result.problem


def test_the_receipt_key_signs_only_and_lives_apart_from_the_keys_that_decrypt(sent, settings):
    [key] = ReceiptKey.objects.all()
    listing = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--homedir", settings.RECEIPT_GNUPG_HOME, "-K"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    secret_keys = [line for line in listing if line.startswith(("sec:", "ssb:"))]
    assert len(secret_keys) == 1, secret_keys  # no encryption subkey
    capabilities = secret_keys[0].split(":")[11]
    assert "e" not in capabilities.lower() and "s" in capabilities
    assert key.fingerprint in "\n".join(listing)
    # The home tips are encrypted with still holds no secret key at all.
    assert crypto.secret_key_fingerprints(crypto.public_home()) == []
    assert "PRIVATE KEY" not in key.public_key


def test_a_returning_tipster_downloads_the_receipt(sent):
    client = Client()
    check_in(client, sent["codename"])
    page = client.get("/tip/")
    assert 'href="/tip/receipt/"' in page.content.decode()
    response = client.get("/tip/receipt/")
    assert response.status_code == 200
    assert (
        f'filename="tipline-receipt-{sent["tip"].reference}.asc"'
        in (response["Content-Disposition"])
    )
    assert receipts.receipt_text(sent["tip"]) in response.content.decode()
    assert Client().get("/tip/receipt/")["Location"] == "/checkin/"


def test_the_receipt_key_is_published(sent):
    [key] = ReceiptKey.objects.all()
    client = Client()
    assert client.get("/receipt-key.asc").content.decode() == key.public_key
    metadata = client.get("/metadata.json").json()
    assert metadata["receipt_keys"] == [{"fingerprint": key.fingerprint, "url": "/receipt-key.asc"}]


def test_verifyreceipt_checks_a_file_and_is_audited(sent, settings, tmp_path):
    path = tmp_path / "receipt.asc"
    path.write_text(sent["receipt"])
    from tests.conftest import switch_site

    switch_site(settings, "backoffice")
    out = io.StringIO()
    call_command("verifyreceipt", str(path), stdout=out)
    assert f"VALID: tip #{sent['tip'].pk}" in out.getvalue()
    path.write_text(sent["receipt"].replace("Reference: TL-", "Reference: TL-2"))
    with pytest.raises(SystemExit) as exit_status:
        call_command("verifyreceipt", str(path), stdout=io.StringIO())
    assert exit_status.value.code == 1
    events = list(AuditEvent.objects.filter(action="receipt.verify").order_by("pk"))
    assert [e.detail["valid"] for e in events] == [True, False]
    assert events[0].tip_id == sent["tip"].pk


def test_the_back_office_page_names_the_tip_only_to_its_desk(
    sent, make_reviewer, other_desk, logged_in, settings
):
    from tipline.models import Desk

    bob = make_reviewer("bob", desks=[other_desk], key="bob")
    client = logged_in(bob)
    html = unescape(client.post("/receipts/verify/", {"receipt": sent["receipt"]}).content.decode())
    assert "Valid." in html and "a tip on a desk you do not read" in html
    assert f"/tips/{sent['tip'].pk}/" not in html
    assert Desk.objects.get(slug="cyber").memberships.filter(user__username="alice").exists()


def test_a_tip_is_kept_and_acknowledged_even_when_signing_fails(
    public_site, desk, make_reviewer, settings
):
    make_reviewer("alice", desks=[desk], key="alice")
    settings.RECEIPT_GNUPG_HOME = "/proc/no-such-home"  # cannot be created
    response = Client().post("/submit/cyber/", {"message": "still a tip"})
    assert response.status_code == 200 and response.context["codename"]
    assert "BEGIN PGP SIGNED MESSAGE" not in response.content.decode()
    assert Tip.objects.count() == 1


def test_a_replaced_receipt_keyring_makes_a_new_key_on_the_next_tip(sent, settings):
    import shutil

    from tipline import crypto as gpg

    [old] = ReceiptKey.objects.all()
    gpg.stop_agent(Path(settings.RECEIPT_GNUPG_HOME))
    shutil.rmtree(settings.RECEIPT_GNUPG_HOME)  # what docs/operations.md says to do
    signed = receipts.sign(sent["tip"])
    assert "BEGIN PGP SIGNATURE" in signed
    assert ReceiptKey.objects.exclude(fingerprint=old.fingerprint).count() == 1
    switch_back = verify_in_backoffice(settings, signed)
    assert switch_back.valid and switch_back.signed_by != old.fingerprint
