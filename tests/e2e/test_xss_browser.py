"""Hostile input from a tipster stays inert in a reviewer's real browser, JavaScript on.

A tipster (over plain HTTP, as a browser with JavaScript off would send it) fills every free-text
field of the demo and cyber questionnaires, the reward contact and a follow-up with payloads that
try to open a dialog, set a sentinel (``window.__pwned``) and load something from another origin,
and names their files after such payloads. A reviewer then reads it all in Debian's chromium with
JavaScript on, twice: with the back office's Content-Security-Policy as served, and with the
browser told to ignore it, so that escaping alone has to hold. On every page nothing may open a
dialog, set the sentinel, reach for another origin (not even an attempt the CSP blocks), violate
the CSP, navigate away, or add an element or event handler that the templates do not write; and
every payload must be shown, as text, once per field. Files are saved, never rendered.

The recorders are proven first: a page known to be hostile has to trip every one of them."""

from __future__ import annotations

import base64
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from django_otp.oath import totp

from tests.e2e import test_browser
from tests.e2e.stack import REVIEWER_PASSWORD, wait_for
from tipline.questionnaires import HONEYPOT

pytestmark = [pytest.mark.e2e, pytest.mark.once]
# The tipster's browser test's stack fixture, for a stack of this module's own; the browser is
# tests/e2e/conftest.py's.
stack = test_browser.stack
PASSPHRASE = "audra's key passphrase"
FILE_BODY = b'<!doctype html><script>alert("file");window.__pwned=1</script>'
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# A reviewer's text, not a tipster's, shown on the case page beside the tip.
CASE_TITLE = '<script>alert("case")</script><img src=x onerror=alert("case")>'
# Every element and attribute on the page that could run script or fetch from elsewhere, which no
# back-office template writes: the templates link one same-origin style sheet and nothing else.
INJECTED = """() => {
  const risky = new Set(["script", "iframe", "frame", "frameset", "object", "embed", "base",
    "img", "image", "style", "audio", "video", "source", "math", "portal"]);
  const urls = new Set(["href", "src", "action", "formaction", "data", "xlink:href", "poster",
    "background", "ping"]);
  const found = [];
  for (const element of document.querySelectorAll("*")) {
    const name = element.localName;
    const sheet = name === "link" && element.rel === "stylesheet"
      && new URL(element.href).origin === location.origin;
    if (risky.has(name) || (name === "link" && !sheet) || (name === "meta" && element.httpEquiv)) {
      found.push(element.outerHTML.slice(0, 160));
      continue;
    }
    for (const attribute of element.attributes) {
      const foreign = urls.has(attribute.name)
        && new URL(attribute.value, document.baseURI).origin !== location.origin;
      if (/^on/i.test(attribute.name) || attribute.name === "srcdoc" || foreign) {
        found.push(`${name} ${attribute.name}=${attribute.value.slice(0, 120)}`);
      }
    }
  }
  return found;
}"""
REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (event) =>
  window.__xssTestViolation(`${event.violatedDirective} ${event.blockedURI}`));"""


class OtherOrigin(ThreadingHTTPServer):
    """A server on 127.0.0.2 that records every connection made to it, whatever it carries."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.2", 0), _NotFound)
        self.hits: list[str] = []
        self.host = f"127.0.0.2:{self.server_address[1]}"
        self.origin = f"http://{self.host}"

    def verify_request(self, request, client_address) -> bool:
        self.hits.append(f"connection from {client_address[0]}:{client_address[1]}")
        return True


class _NotFound(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.hits.append(f"{self.command} {self.path}")
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture(scope="module")
def other_origin():
    server = OtherOrigin()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def text_payloads(origin: str, host: str) -> list[str]:
    """What a tipster may type: each line tries a dialog, the sentinel or a load from ``origin``."""
    return [
        '<script>alert("script");window.__pwned=1</script>',
        f"<script src={origin}/script.js></script>",
        f"<script src=//{host}/relative.js></script>",
        f'"><img src={origin}/img.png onerror="confirm(1);window.__pwned=1">',
        "'><svg onload=prompt(1)>",
        "<svg><script>window.__pwned=1</script></svg>",
        f"<link rel=stylesheet href={origin}/style.css>",
        '<iframe src="javascript:parent.__pwned=1;alert(2)"></iframe>',
        '<iframe srcdoc="<script>parent.__pwned=1</script>"></iframe>',
        '</textarea><script>alert("textarea")</script>',
        '</title><script>alert("title")</script>',
        '<a href="javascript:alert(3)">open</a> javascript:alert(4)',
        f'<meta http-equiv=refresh content="0;url={origin}/refresh">',
        f"<base href={origin}/>",
        f"<style>@import url({origin}/import.css)</style>",
        f"<object data={origin}/object></object>",
        "<details open ontoggle=alert(5)>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(6)>",
        "\u202etxt.exe",
    ]


def file_names(host: str) -> list[str]:
    """File names. Django's multipart parser keeps only what follows the last "/" or "\\" of
    one, decodes HTML entities first and drops unprintable characters (U+202E among them)."""
    return [
        '"><img src=x onerror=alert(7)>.txt',
        "<svg onload=window.__pwned=1>.svg",
        "'><iframe src=javascript:alert(8)>.html",
        f"<link rel=stylesheet href=https:{host}>.css",
        "javascript:alert(9)",
        "\u202egnp.exe",  # "exe.png" on screen, if the override survived
    ]


# --- the tipster ------------------------------------------------------------------------------


def csrf_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def form_fields(html: str) -> dict[str, list[str]]:
    """The names of the form's free-text fields ("text") and file fields ("file")."""
    fields = {"text": [], "file": []}
    for tag, attributes in re.findall(r"<(input|textarea)\b([^>]*)>", html):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', attributes))
        kind = "text" if tag == "textarea" else attrs.get("type")
        if kind in fields:
            fields[kind].append(attrs["name"])
    return fields


def multipart(fields: dict[str, str], files: list[tuple[str, str]]) -> tuple[bytes, str]:
    """A form body built by hand, so that file names reach the server exactly as written
    (browsers and urllib3 percent-encode a '"' in them)."""
    boundary = secrets.token_hex(16)
    body = b""
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        body += head.encode() + value.encode() + b"\r\n"
    for field, file_name in files:
        quoted = file_name.replace("\\", "\\\\").replace('"', '\\"')
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{quoted}"\r\nContent-Type: text/html\r\n\r\n'
        )
        body += head.encode() + FILE_BODY + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def send_tip(stack, desk: str, text: str, names: list[str]) -> tuple[str, list[str]]:
    """Answer every free-text question of ``desk`` with ``text``; return codename and fields."""
    tipster = requests.Session()
    url = stack.public_url(f"/submit/{desk}/")
    form = tipster.get(url, timeout=10)
    fields = form_fields(form.text)
    # Every field a person can see: not the honeypot, which would mark the tip as spam.
    fields["text"] = [name for name in fields["text"] if name != HONEYPOT]
    answers = dict.fromkeys(fields["text"], text)
    body, content_type = multipart(
        {"csrfmiddlewaretoken": csrf_token(form.text), **answers},
        [(fields["file"][0], name) for name in names],
    )
    receipt = tipster.post(url, data=body, headers={"Content-Type": content_type}, timeout=30)
    assert receipt.status_code == 200, receipt.text
    codename = re.search(r'<p class="codename"[^>]*>([^<]+)</p>', receipt.text).group(1)
    return codename, fields["text"]


def send_followup(stack, codename: str, text: str, names: list[str]) -> None:
    tipster = requests.Session()
    checkin = tipster.get(stack.public_url("/checkin/"), timeout=10)
    status = tipster.post(
        stack.public_url("/checkin/"),
        data={"csrfmiddlewaretoken": csrf_token(checkin.text), "codename": codename},
        timeout=30,
    )
    assert status.url == stack.public_url("/tip/"), status.text
    body, content_type = multipart(
        {"csrfmiddlewaretoken": csrf_token(status.text), "message": text},
        [("attachment", name) for name in names],
    )
    sent = tipster.post(
        stack.public_url("/tip/followup/"),
        data=body,
        headers={"Content-Type": content_type},
        timeout=30,
    )
    assert sent.status_code == 200 and sent.url == stack.public_url("/tip/"), sent.text


def send_hostile_tips(stack, texts: list[str], names: list[str]) -> dict[int, int]:
    """A tip to the demo desk and one to the cyber desk, each with a follow-up; returns how many
    fields of each tip carry the payloads, by tip id."""
    text = "\n".join(texts)
    assert len(text) <= 1000  # what a short-text answer may hold
    tips = {}
    for desk, expected in (
        ("demo", {"message", "reward_contact"}),
        ("cyber", {"message", "group", "targets", "reward_contact"}),
    ):
        codename, fields = send_tip(stack, desk, text, names)
        assert expected <= set(fields), fields
        [(tip_id,)] = stack.sql("SELECT max(id) FROM tipline_tip")
        send_followup(stack, codename, text, names)
        tips[tip_id] = len(fields) + 1  # and the follow-up
    wait_for(
        lambda: stack.sql("SELECT count(*) FROM tipline_tip WHERE routed_at IS NOT NULL") == [(2,)],
        30,
        "routing",
    )
    return tips


# --- the reviewer's browser -------------------------------------------------------------------


class Watch:
    """Records what pages of a browser context do that they should not."""

    def __init__(self, context, stack, other_origin: OtherOrigin) -> None:
        self.stack = stack
        self.other = other_origin
        self.dialogs: list[str] = []
        self.foreign: list[str] = []
        self.violations: list[str] = []
        context.expose_function("__xssTestViolation", self._violation)
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("request", self._request)
        context.on("page", lambda page: page.on("dialog", self._dialog))

    def _request(self, request) -> None:
        if not request.url.startswith(self.stack.backoffice_url("/")):
            self.foreign.append(request.url)

    def _violation(self, report: str) -> None:
        self.violations.append(report)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def clear(self) -> None:
        for record in (self.dialogs, self.foreign, self.violations, self.other.hits):
            record.clear()

    def assert_inert(self, page, url: str) -> None:
        problems = {
            "dialogs": self.dialogs,
            "requests to other origins": self.foreign,
            "connections to the other origin": self.other.hits,
            "CSP violations": self.violations,
            # The payloads in frames set it on their parent; and no template writes a frame (an
            # evaluation inside one could wait forever for a script the CSP blocked).
            "sentinel set": page.evaluate("typeof window.__pwned") != "undefined",
            "frames": [frame.url for frame in page.frames if frame != page.main_frame],
            "injected elements": page.evaluate(INJECTED),
            "navigated away": [] if page.url == url else [page.url],
        }
        assert not any(problems.values()), f"{url}: {problems}"

    def visit(self, page, path: str) -> str:
        """Open ``path``, let it settle, check it did nothing hostile; return the main text."""
        url = self.stack.backoffice_url(path)
        response = page.goto(url)
        assert response.status == 200, f"{url}: {response.status}"
        page.wait_for_load_state("networkidle")
        self.assert_inert(page, url)
        return page.inner_text("main")


def settle(page, predicate, what: str) -> None:
    """Wait for ``predicate`` while Playwright delivers events (it does not during a sleep)."""
    for _ in range(100):
        if predicate():
            return
        page.wait_for_timeout(100)
    raise TimeoutError(f"timed out waiting for {what}")


def prove_the_watch_works(page, watch: Watch, csp: bool) -> None:
    """A recorder that sees nothing must not let the test pass: a hostile page trips them all.
    Then, on a back-office page, markup injected by hand is stopped by the CSP (``csp``) or,
    with the CSP ignored, really runs: so the two passes test what they claim to."""
    origin = watch.other.origin
    page.set_content(f"<script>alert('probe');window.__pwned=1</script><img src={origin}/p.png>")
    settle(page, lambda: watch.other.hits, "the probe's request")
    assert watch.dialogs == ["alert: probe"]
    assert page.evaluate("window.__pwned") == 1
    assert watch.foreign == [f"{origin}/p.png"]
    assert len(page.evaluate(INJECTED)) == 2
    watch.clear()

    page.goto(watch.stack.backoffice_url("/"))
    page.evaluate(
        "html => document.body.insertAdjacentHTML('beforeend', html)",
        f"<img src={origin}/csp.png onerror=\"alert('csp')\">",
    )
    if csp:
        settle(page, lambda: len(watch.violations) == 2, "the CSP's reports")
        assert watch.foreign == [f"{origin}/csp.png"]  # attempted, blocked by img-src
        assert watch.dialogs == [] and watch.other.hits == []
    else:
        settle(page, lambda: watch.dialogs and watch.other.hits, "the probe's dialog")
        assert watch.dialogs == ["alert: csp"] and watch.other.hits and watch.violations == []
    watch.clear()


def sign_in(page, stack, username: str, secret: str) -> None:
    page.goto(stack.backoffice_url("/login/"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", REVIEWER_PASSWORD)
    page.fill("input[name=otp_token]", format(totp(base64.b32decode(secret)), "06d"))
    page.click("button[type=submit]")
    assert page.url == stack.backoffice_url("/"), page.content()
    page.goto(stack.backoffice_url("/key/unlock/"))
    page.fill("input[name=passphrase]", PASSPHRASE)
    page.click("main button[type=submit]")
    assert "Lock key" in page.inner_text("header")


def read_tip(page, watch: Watch, tip_id: int, texts: list[str], fields: int, names: list[str]):
    """The tip page, decrypted, with its follow-up: each payload is shown as text once per
    field, and each file name in its own <bdi>, with no bidirectional override left in it."""
    main = watch.visit(page, f"/tips/{tip_id}/")
    for payload in texts:
        assert main.count(payload) == fields, (payload, main)
    files = "a[href*='/files/']:not([href$='/encrypted/'])"
    shown = page.eval_on_selector_all(f"{files} > bdi", "names => names.map(n => n.textContent)")
    assert page.locator(files).count() == len(shown) == 2 * len(names)  # tip and follow-up
    for name in names:
        assert name.replace("\u202e", "") in shown, (name, shown)
    assert not any(BIDI_CONTROLS & set(name) for name in shown), shown


def assert_served_as_attachment(headers: dict[str, str], what: str) -> None:
    assert headers["content-disposition"].startswith("attachment;"), (what, headers)
    assert headers["content-type"] in ("application/octet-stream", "application/pgp-encrypted")
    assert headers["x-content-type-options"] == "nosniff", (what, headers)


def check_downloads(page, context, watch: Watch) -> None:
    """Every file of the tip page is served as an attachment of a type no browser renders:
    clicked, the decrypted file (hostile HTML) is saved as it came, and nothing on the page
    runs. The encrypted originals are fetched with the reviewer's cookies."""
    url = page.url
    for href in page.eval_on_selector_all(
        "a[href$='/encrypted/']", "links => links.map(a => a.getAttribute('href'))"
    ):
        response = context.request.get(watch.stack.backoffice_url(href))
        assert response.status == 200, href
        assert_served_as_attachment(response.headers, href)
    saved = []

    def save(download) -> None:
        saved.append(download)

    page.on("download", save)
    for link in page.locator("a[href*='/files/']:not([href$='/encrypted/'])").all():
        href = link.get_attribute("href")
        saved.clear()
        with page.expect_response(watch.stack.backoffice_url(href)) as served:
            link.click()
        assert served.value.status == 200, href
        assert_served_as_attachment(served.value.all_headers(), href)
        settle(page, lambda: saved, f"the download of {href}")
        assert Path(saved[0].path()).read_bytes() == FILE_BODY
    page.remove_listener("download", save)
    page.wait_for_load_state("networkidle")
    watch.assert_inert(page, url)


def test_it_keeps_everything_a_tipster_controls_inert_in_a_reviewers_browser(
    stack, browser, other_origin
):
    out = stack.manage(
        "createreviewer",
        "audra",
        "--admin",  # to see the audit trail as well
        "--desk",
        "demo",
        "--desk",
        "cyber",
        env={"TIPLINE_PASSWORD": REVIEWER_PASSWORD, "TIPLINE_KEY_PASSPHRASE": PASSPHRASE},
    )
    secret = re.search(r"secret=([A-Z2-7]+)", out).group(1)
    # A reward officer too: the reward contact is encrypted to officers only, and shown to them.
    stack.manage("rewardofficer", "audra")
    texts = text_payloads(other_origin.origin, other_origin.host)
    names = file_names(other_origin.host)
    tips = send_hostile_tips(stack, texts, names)

    reviewer = browser.new_context()  # JavaScript on, the CSP as served
    reviewer.set_default_timeout(15_000)
    watch = Watch(reviewer, stack, other_origin)
    page = reviewer.new_page()
    prove_the_watch_works(page, watch, csp=True)
    sign_in(page, stack, "audra", secret)
    for tip_id, fields in tips.items():
        read_tip(page, watch, tip_id, texts, fields, names)
    check_downloads(page, reviewer, watch)  # of the last tip: the same names as the first's
    page.fill("input[name=title]", CASE_TITLE)
    page.click("form[action$='/case/'] button:has-text('Open case')")
    case_path = page.url.removeprefix(stack.backoffice_url(""))
    assert re.fullmatch(r"/cases/\d+/", case_path), page.url
    pages = ["/", "/cases/", "/reencrypt/", "/audit/", "/stats/"]
    assert CASE_TITLE in watch.visit(page, case_path)
    for path in pages:
        watch.visit(page, path)

    # The same pages with the CSP ignored: the escaping alone keeps them inert.
    bare = browser.new_context(storage_state=reviewer.storage_state(), bypass_csp=True)
    bare.set_default_timeout(15_000)
    bare_watch = Watch(bare, stack, other_origin)
    bare_page = bare.new_page()
    prove_the_watch_works(bare_page, bare_watch, csp=False)
    for tip_id, fields in tips.items():
        read_tip(bare_page, bare_watch, tip_id, texts, fields, names)
    assert CASE_TITLE in bare_watch.visit(bare_page, case_path)
    for path in pages:
        bare_watch.visit(bare_page, path)
    bare.close()
    reviewer.close()
