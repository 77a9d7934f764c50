"""Hostile input against every public endpoint: no server error, nothing half-stored.

Property-based (Hypothesis). The public site's URLconf is walked, so a new route without a
strategy here fails. Each route gets requests assembled from hostile parts: random bytes, invalid
UTF-8 in the path, query and body, NUL, right-to-left overrides, 10 KB file names, path traversal,
oversized fields, malformed multipart, charsets Python cannot decode with, lying Content-Length,
header values carrying CR/LF, forged cookies. Requests go through the WSGI application gunicorn
runs (``tipline.handler``), with CSRF enforced as in production (most requests carry a valid
token so that they reach the views), so nothing between the socket and the view is skipped.

After every example:
- the status is below 500 (the one 503 allowed is the page of a desk that has no reader);
- the response is one of ours: a page from the site's templates (with an alert when it refuses),
  a redirect that stays on the site, JSON, the organization key, or Django's empty 405 or 204;
- a Tip, Message or Attachment row exists only after a receipt (or a sent follow-up), and then
  it is complete: every attachment's ciphertext is in the store;
- nothing is left in the store's ``incoming/``, no other file appeared under the data dirs or in
  the temporary directory, and no gpg process is left running.

Every example runs in a savepoint that is rolled back, and the files it stored are removed, so
each starts from the same state; that is why Hypothesis may run many examples in one test.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from io import BytesIO
from pathlib import Path
from urllib.parse import quote_from_bytes, urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections, transaction
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tipline import settings as tipline_settings
from tipline import storage
from tipline.handler import Utf8WSGIHandler
from tipline.models import Attachment, Desk, Message, Tip

# The public site's code paths are the same on either database: bin/test runs this once, in the
# PostgreSQL pass (the production database).
pytestmark = pytest.mark.once

# Examples per route: ten thousand in all, the whole file in a few minutes on two cores. The
# strategies keep successful submissions (gpg, two Argon2 hashes) to a small share.
EXAMPLES = {
    "index": 600,
    "submit": 2800,
    "checkin": 700,
    "tip_status": 600,
    "followup": 1400,
    "delete_reply": 600,
    "checkout": 500,
    "metadata": 400,
    "health": 300,
    "organization_key": 300,
    "download_receipt": 200,
    "receipt_key": 100,
    "set_language": 800,
    "unrouted": 800,  # paths the URLconf does not route
}
MINIMUM_TOTAL = 10_000
RAN: dict[str, int] = {}  # examples run, accepted (a receipt or a sent follow-up), files stored
ACCEPTED: dict[str, int] = {}
STORED: dict[str, int] = {}

# Small limits, so that oversized files and too many files are cheap to send.
MAX_ATTACHMENT_BYTES = 16 * 1024
MAX_FILES = 3
HOST = "testserver"

# --- Hostile parts -----------------------------------------------------------------------------
# fmt: off
HOSTILE_PIECES = [
    "\x00", "\r\n", "\n\n", "\r", "\t", "\x0b", "\x1b[2J", "\x7f", "\x85", "\u2028", "\u202e",
    "\u200f", "\ufeff", "\ufffd", "\uffff", "\ud800", "\udfff", "\U0010ffff", "\U0001f4a3",
    "\u0627", "é", "e\u0301", "%00", "%ff", "%", "%zz", "&", "=", ";", "+", "..", "../", "..\\",
    "/", "\\", "//", "'", '"', "`", "<", ">", "<script>alert(1)</script>", "{{ x }}",
    "{% csrf_token %}", "%(x)s", "%s", "${x}", "\\u0000", "NaN", "-1", "0", "9" * 30,
    "null", "[]", "--B--", "Content-Disposition: form-data", "Set-Cookie: x=1",
]
MARKUP = [
    "<script>alert(1)</script>", '"><script>alert(1)</script>', "</textarea><SCRIPT>x</SCRIPT>",
    "'><script src=//evil.example/x.js></script>", "<scr<script>ipt>",
]
HUGE_UNITS = ["x", "\u0627", "\u202e", "\x00", "%ff", "a\r\n", "<"]
CHARSETS = [
    "utf-8", "UTF8", "latin-1", "utf-16", "utf-32-be", "utf-7", "shift_jis", "rot13", "base64",
    "hex", "zlib", "bz2", "uu", "quopri", "undefined", "idna", "punycode", "unicode-escape",
    "no-such-charset", "", '"utf-8"', "utf-8\r\nX-Injected: 1",
]
RAW_CONTENT_TYPES = [
    "text/plain", "application/json", "application/octet-stream", "multipart/form-data",
    "multipart/mixed; boundary=B", "application/x-www-form-urlencoded; charset=rot13", "", ";;;",
    "multipart/form-data; boundary*=bogus''B", "multipart/form-data; boundary*=base64''QQ",
]
BOUNDARIES = [
    b"B", b"----WebKitFormBoundary7MA4YWxkTrZu0gW", b"x" * 200, b"x" * 201, b"", b"a b", b'"q"',
    b"\xff\xfe", b"--", b"B\r\nX: 1",
]
PART_HEADERS = [
    b"Content-Type: application/octet-stream", b"Content-Type: text/plain", b"Content-Type: ",
    b"Content-Type: text/plain; charset=base64", b"Content-Transfer-Encoding: base64",
    b"Content-Transfer-Encoding: base64", b"Content-Transfer-Encoding: quoted-printable",
    b"Content-Length: -1",
    b"Content-Disposition: attachment", b"X-Junk: \xff\x00",
]
DAMAGED_PARTS = [
    b'Content-Disposition: form-data; name="attachment"; filename="b.txt"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\n!!! not base64 !!!",
    b"Content-Disposition: form-data; name*=rot13''x\r\n\r\nx",
    b"Content-Disposition: form-data; name=\"attachment\"; filename*=bogus''b.txt\r\n\r\nx",
    b'Content-Disposition: form-data; name="message"\r\nContent-Type: text/plain\r\n',
]
PARAMETER_CHARSETS = ["utf-8", "UTF-8", "bogus", "rot13", "base64", "undefined", ""]
FILE_NAMES = [
    "../../etc/passwd", "..\\..\\boot.ini", "/etc/shadow", "C:\\Windows\\win.ini",
    "evil\u202egpj.exe", "nul\x00name.txt", "", ".", "..", "CON", " ", "\r\n",
    "name\r\nContent-Type: text/html", 'quote".txt', "semi;colon.txt", "%2e%2e%2fpasswd",
    "\u0645\u0644\u0641.txt", "\U0001f4a3.exe", "a" * 10_000, "a" * 255 + ".txt", "../" * 50 + "x",
]
HOSTILE_URLS = [
    "/", "/tip/", "ar", "//evil.example", "/\\evil.example", "\\\\evil.example",
    "http://evil.example", "https:evil.example", "javascript:alert(1)", "/\r\nSet-Cookie: x=1",
    "\x00/", "/%0d%0aX: 1", "/" + "a" * 5000, " /", "/\u202e", "data:text/html,<script>",
]
HEADERS = [
    "HTTP_HOST", "HTTP_ACCEPT_LANGUAGE", "HTTP_ACCEPT", "HTTP_ORIGIN", "HTTP_REFERER",
    "HTTP_COOKIE", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_FOR",
    "HTTP_USER_AGENT", "HTTP_IF_NONE_MATCH", "HTTP_RANGE", "HTTP_TRANSFER_ENCODING",
    "HTTP_X_HTTP_METHOD_OVERRIDE", "HTTP_X_CSRFTOKEN", "HTTP_CONTENT_ENCODING",
]
HEADER_VALUES = [
    "", "\r\nX-Injected: 1", "a\nb", "\x00", "x" * 10_000, "é", "%ff", "ar",
    "ar-SA;q=0.9, en;q=0.8", "*", "text/html", "evil.example", f"{HOST}:99999",
    f"{HOST}\r\nX: 1", "[::1", "http://evil.example", "null", "tipline_language=ar",
    "tipline_public_session=\xff\x00", "a=" + "b" * 8000,
]
QUERIES = [
    b"%ff%fe", b"a=%00", b"next=//evil.example", b"&&&==", b"a" * 20_000,
    # Proof-of-work tickets (tipline/proof_of_work.py): forged, garbled, huge, negative.
    b"ticket=x&work=1", b"ticket=a.18.1%3Aforged&work=0", b"ticket=%ff%fe&work=%ff",
    b"ticket=..%3A&work=-1", b"ticket=" + b"a" * 5000 + b"&work=0", b"work=" + b"9" * 5000,
    b"ticket=a.18.1:x&ticket=b&work=1&work=2", b"work=%EF%BC%91",
]
METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "get", "FOO", ""]
PATH_SEGMENTS = [
    b"..", b".", b"%2e%2e", b"\x00", b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x80\xae",
    b"a" * 5000, b"admin", b"static", b"login", b"", b"~root", b"submit", b"tip", b"replies",
    b"\r\nX: 1",
]
# Answers for the default desks' questionnaires (valid ones and near misses).
SUBMIT_FIELDS = {
    "message": ["what I know", "  ", ""],
    "when": ["2024-03-31", "2999-01-01", "31/03/2024", "0000-00-00", "9999-12-31"],
    "ongoing": ["yes", "no", "maybe"],
    "how_known": ["documents", "saw", "not-a-choice"],
    "chains": ["bitcoin", "monero", "none"],
    "group": ["APT"], "targets": ["banks"], "addresses": ["bc1q"], "countries": ["NO"],
    "sectors": ["energy", "x"], "reward_contact": ["me@example.org"], "csrfmiddlewaretoken": ["x"],
}
# fmt: on


def encode(text: str) -> bytes:
    """UTF-8, letting lone surrogates through as the invalid bytes a client could send."""
    return text.encode("utf-8", "surrogatepass")


def repeated(unit, count):
    return unit * count


pieces = st.lists(st.sampled_from(HOSTILE_PIECES), min_size=1, max_size=5).map("".join)
small_text = st.one_of(st.text(max_size=24), pieces, pieces)
huge_text = st.builds(repeated, st.sampled_from(HUGE_UNITS), st.integers(1_000, 150_000))
hostile_text = st.one_of(small_text, small_text, small_text, st.sampled_from(MARKUP), huge_text)
hostile_bytes = st.one_of(
    st.binary(max_size=24),
    pieces.map(encode),
    st.builds(repeated, st.binary(min_size=1, max_size=4), st.integers(1, 3000)),
)
header_values = st.one_of(
    st.sampled_from(HEADER_VALUES), hostile_bytes.map(lambda b: b.decode("latin-1"))
)


# --- Requests ------------------------------------------------------------------------------------


@dataclass
class Hostile:
    """One request as a WSGI server hands it to Django (bytes as they came off the wire)."""

    method: str
    path: bytes
    query: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"HTTP_HOST": HOST})
    body: bytes = b""
    content_type: str | None = None
    content_length: str | None = None  # None: the body's real length
    session: str = "none"  # none, tipster (checked in), forged (tampered cookies)
    csrf: str = "valid"  # valid, none, wrong, garbage


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    error: str | None = None  # a traceback, when the application raised

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def query_strings() -> st.SearchStrategy[bytes]:
    escaped = hostile_bytes.map(lambda b: quote_from_bytes(b).encode())
    pair = st.tuples(st.one_of(hostile_bytes, escaped), st.one_of(hostile_bytes, escaped))
    return st.one_of(
        st.just(b""),
        st.lists(pair.map(b"=".join), max_size=6).map(b"&".join),
        hostile_bytes,
        st.sampled_from(QUERIES),
    )


def content_types(main: str) -> st.SearchStrategy[str]:
    """``main``, usually as it is, sometimes with a charset, plain or in RFC 2231 form."""
    charset = st.sampled_from(CHARSETS).map(lambda c: f"; charset={c}")
    rfc2231 = st.sampled_from(CHARSETS).map(lambda c: f"; charset*={c}''x")
    suffix = st.one_of(st.just(""), charset, rfc2231)
    return suffix.map(lambda s: main + s)


def fields_for(names: list[str], valid: dict[str, list[str]]) -> st.SearchStrategy:
    """Form fields: known names with good or hostile values, and names nobody asked for."""
    name = st.one_of(st.sampled_from(names), st.sampled_from(names), small_text)
    good = st.sampled_from([v for values in valid.values() for v in values] or ["x"])
    return st.lists(st.tuples(name, st.one_of(good, hostile_text)), max_size=5)


def urlencoded(pairs: list[tuple[str, str]], escape: bool = True) -> bytes:
    quote = (lambda b: quote_from_bytes(b).encode()) if escape else (lambda b: b)
    return b"&".join(quote(encode(k)) + b"=" + quote(encode(v)) for k, v in pairs)


@st.composite
def disposition(draw, name: str, file_name: str | None) -> bytes:
    """A part's Content-Disposition, quoted, bare, in RFC 2231 form, or missing."""
    style = draw(st.sampled_from(["quoted", "quoted", "bare", "rfc2231", "none"]))
    if style == "none":
        return draw(st.sampled_from([b"Content-Disposition: form-data", b"X-Other: 1", b""]))
    kind = draw(st.sampled_from([b"form-data", b"form-data", b"attachment", b"FORM-DATA", b""]))

    def parameter(key: bytes, value: str) -> bytes:
        raw = encode(value)
        if style == "rfc2231":
            charset = encode(draw(st.sampled_from(PARAMETER_CHARSETS)))
            return b"; " + key + b"*=" + charset + b"''" + quote_from_bytes(raw).encode()
        return b"; " + key + (b"=" + raw if style == "bare" else b'="' + raw + b'"')

    header = b"Content-Disposition: " + kind + parameter(b"name", name)
    if file_name is not None:
        header += parameter(b"filename", file_name)
    return header


@st.composite
def multipart(draw, names: list[str], valid: dict[str, list[str]], file_fields: list[str]):
    """(content type, body) of an upload: well formed, or broken the way a parser must survive."""
    boundary = draw(st.one_of(st.sampled_from(BOUNDARIES), st.binary(min_size=1, max_size=12)))
    newline = draw(st.sampled_from([b"\r\n", b"\r\n", b"\r\n", b"\n"]))
    parts = [
        [draw(disposition(key, None)), encode(value)]
        for key, value in draw(fields_for(names, valid))
    ]
    file_names = st.one_of(st.sampled_from(FILE_NAMES), small_text)
    sizes = st.one_of(st.integers(0, 300), st.integers(0, 300), st.just(MAX_ATTACHMENT_BYTES + 1))
    contents = st.builds(lambda b, n: (b * n)[:n], st.binary(min_size=1, max_size=16), sizes)
    for _ in range(draw(st.integers(0, MAX_FILES + 2))):
        key = draw(st.one_of(st.sampled_from(file_fields or ["attachment"]), small_text))
        headers = [draw(disposition(key, draw(file_names)))]
        headers += draw(st.lists(st.sampled_from(PART_HEADERS), max_size=2))
        parts.append([newline.join(headers), draw(contents)])
    delimiter = b"--" + boundary + newline
    body = b"".join(
        delimiter + headers + newline * 2 + content + newline
        for headers, content in draw(st.permutations(parts))
    )
    body += b"--" + boundary + b"--" + newline
    mutation = draw(st.sampled_from(["none"] * 6 + ["truncate", "insert", "no-end", "prefix"]))
    if mutation == "truncate":
        body = body[: draw(st.integers(0, len(body)))]
    elif mutation == "insert":
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(hostile_bytes) + body[at:]
    elif mutation == "no-end":
        body = body.rsplit(b"--" + boundary + b"--", 1)[0]
    elif mutation == "prefix":
        body = draw(hostile_bytes) + body
    shown = boundary.decode("latin-1")
    shown = f'"{shown}"' if draw(st.booleans()) else shown
    return draw(content_types(f"multipart/form-data; boundary={shown}")), body


@st.composite
def bodies(draw, names: list[str], valid: dict[str, list[str]], file_fields: list[str]):
    """(content type, body): a form, an upload, or anything at all."""
    kind = draw(st.sampled_from(["form", "form", "multipart", "multipart", "multipart", "raw"]))
    if kind == "form":
        body = urlencoded(draw(fields_for(names, valid)), escape=draw(st.booleans()))
        return draw(content_types("application/x-www-form-urlencoded")), body
    if kind == "multipart":
        return draw(multipart(names, valid, file_fields))
    content_type = draw(st.one_of(st.sampled_from(RAW_CONTENT_TYPES), header_values))
    return content_type, draw(st.one_of(hostile_bytes, huge_text.map(encode)))


@st.composite
def requests_to(
    draw,
    paths: st.SearchStrategy[bytes],
    methods: list[str],
    names: tuple[str, ...] = ("x",),
    valid: dict[str, list[str]] | None = None,
    file_fields: tuple[str, ...] = (),
    sessions: tuple[str, ...] = ("none",),
):
    """A request to one route: mostly with its own methods, hostile in everything else."""
    own = st.sampled_from(methods)
    method = draw(st.one_of(own, own, st.sampled_from(METHODS)))
    content_type, body = None, b""
    if method == "POST" or draw(st.booleans()):  # a body (and its Content-Type) even on a GET
        content_type, body = draw(bodies(list(names), valid or {}, list(file_fields)))
    headers = {"HTTP_HOST": HOST}
    for _ in range(draw(st.integers(0, 3))):
        headers[draw(st.sampled_from(HEADERS))] = draw(header_values)
    lengths = st.one_of(
        st.none(),
        st.none(),
        st.none(),
        st.sampled_from(["", "abc", "-1", "0", "99999999999"]),
        st.integers(0, max(len(body) - 1, 0)).map(str),  # a body cut short
    )
    return Hostile(
        method=method,
        path=draw(paths),
        query=draw(query_strings()),
        headers=headers,
        body=body,
        content_type=content_type,
        content_length=draw(lengths),
        session=draw(st.sampled_from(sessions)),
        csrf=draw(st.sampled_from(["valid"] * 4 + ["none", "wrong", "garbage"])),
    )


def browser_escaped(name: str) -> bytes:
    """A file name as browsers put it in a part header."""
    return encode(name).replace(b'"', b"%22").replace(b"\r", b"%0D").replace(b"\n", b"%0A")


@st.composite
def plausible(draw, paths, fields: dict, sessions=("none",), files: bool = False):
    """What a browser sends: a well-formed form, hostile only in what was typed in it (and in
    the names of its files), with the last part sometimes damaged after the files arrived.

    Most hostile requests are refused early, by the parser or the CSRF check; these reach the
    view, and an upload mostly succeeds, so that a stored tip is checked for completeness too.
    """
    values = [(name, draw(value)) for name, value in fields.items()]
    session = draw(st.sampled_from(sessions))
    if not files and draw(st.booleans()):
        form = "application/x-www-form-urlencoded"
        return Hostile(
            "POST", draw(paths), body=urlencoded(values), content_type=form, session=session
        )
    parts = [
        b'Content-Disposition: form-data; name="' + encode(name) + b'"\r\n\r\n' + encode(value)
        for name, value in values
    ]
    names = st.one_of(st.sampled_from(FILE_NAMES), small_text)
    contents = st.one_of(st.binary(max_size=200), st.just(b"x" * (MAX_ATTACHMENT_BYTES + 1)))
    for _ in range(draw(st.sampled_from([1, 0, 1, 2, MAX_FILES, MAX_FILES + 1])) if files else 0):
        parts.append(
            b'Content-Disposition: form-data; name="attachment"; filename="'
            + browser_escaped(draw(names))
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
            + draw(contents)
        )
    if draw(st.sampled_from([False, False, True])):
        parts.append(draw(st.sampled_from(DAMAGED_PARTS)))
    boundary = b"----TiplineFuzzBoundary"
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    return Hostile(
        "POST",
        draw(paths),
        body=body + b"--" + boundary + b"--\r\n",
        content_type="multipart/form-data; boundary=" + boundary.decode(),
        session=session,
    )


@st.composite
def mostly(draw, hostile: st.SearchStrategy, plausible: st.SearchStrategy, one_in: int = 16):
    """``hostile``, and about one time in ``one_in`` ``plausible``."""
    return draw(plausible if draw(st.sampled_from([False] * (one_in - 1) + [True])) else hostile)


def bent(path: str) -> st.SearchStrategy[bytes]:
    """The route's own path, sometimes bent (no trailing slash, NUL, invalid UTF-8...)."""
    raw = path.encode()
    variants = [raw.rstrip(b"/"), raw + b"/", b"/" + raw, raw + b"\x00", raw + b"%ff",
                raw.upper(), raw + b"\xff\xfe", raw + b";x=1"]  # fmt: skip
    return st.one_of(st.just(raw), st.just(raw), st.just(raw), st.sampled_from(variants))


# --- The site under test -------------------------------------------------------------------------


@dataclass
class Site:
    """The public site as gunicorn serves it, and what a tipster has after sending a tip."""

    handler: Utf8WSGIHandler | None
    data_dirs: list[Path]
    files_dir: Path
    temp_dir: Path
    desk_slugs: list[str]
    organization_key: str = ""
    codename: str = ""
    reply_pk: int = 0
    csrf_cookie: str = ""
    csrf_token: str = ""
    tipster_cookies: dict[str, str] = field(default_factory=dict)
    exceptions: list[str] = field(default_factory=list)

    def environ(self, request: Hostile) -> dict:
        length = request.content_length
        environ = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": request.path.decode("latin-1"),
            "QUERY_STRING": request.query.decode("latin-1"),
            "SERVER_NAME": HOST,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_LENGTH": str(len(request.body)) if length is None else length,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": BytesIO(request.body),
            "wsgi.errors": BytesIO(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if request.content_type is not None:
            environ["CONTENT_TYPE"] = request.content_type
        cookies = {}
        if request.csrf != "none":
            cookies[django_settings.CSRF_COOKIE_NAME] = self.csrf_cookie
            tokens = {"valid": self.csrf_token, "wrong": self.csrf_token[::-1], "garbage": "\xff'"}
            environ["HTTP_X_CSRFTOKEN"] = tokens[request.csrf]
        if request.session == "tipster":
            cookies.update(self.tipster_cookies)
        elif request.session == "forged":
            cookies.update({k: v[:-4] + "AAAA" for k, v in self.tipster_cookies.items()})
        environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        environ.update(request.headers)
        return environ

    def send(self, request: Hostile) -> Answer:
        started: dict = {}

        def start_response(status, headers, exc_info=None):
            started["status"], started["headers"] = int(status.split()[0]), headers

        self.exceptions.clear()
        try:
            result = self.handler(self.environ(request), start_response)
            try:
                body = b"".join(result)
            finally:
                result.close()
        except Exception:  # gunicorn would answer this with a bare 500
            return Answer(500, [], b"", error=traceback.format_exc())
        return Answer(started["status"], started["headers"], body, "\n".join(self.exceptions))

    def files(self) -> set[str]:
        """Every file under the data dirs (the test databases of test runs aside)."""
        found = set()
        for root in self.data_dirs:
            for directory, _dirs, names in os.walk(root):
                found.update(
                    os.path.join(directory, n) for n in names if not n.startswith("test-tipline")
                )
        return found

    def stored(self, name: str) -> Path:
        return self.files_dir / "stored" / f"{name}.gpg"


def routes(patterns, prefix: str = "") -> dict[str, str]:
    found = {}
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found.update(routes(pattern.url_patterns, prefix + str(pattern.pattern)))
        elif isinstance(pattern, URLPattern):
            found[pattern.name or pattern.lookup_str] = prefix + str(pattern.pattern)
    return found


def public_routes() -> dict[str, str]:
    """Every route of the public site, by name, found by walking its URLconf."""
    return routes(get_resolver(tipline_settings.SITE_URLCONF["public"]).url_patterns)


def attacks(site: Site) -> dict[str, Callable[[], st.SearchStrategy[Hostile]]]:
    """How to attack each route of the public URLconf, by name; every route needs one."""
    anyone = ("none", "tipster", "forged")
    mostly_tipster = ("tipster", "tipster", "tipster", "none", "forged")
    desks = st.sampled_from(site.desk_slugs).map(lambda slug: f"/submit/{slug}/".encode())
    other_desks = [b"/submit/nope/", b"/submit/cyber", b"/submit/-/", b"/submit/" + b"a" * 300]
    submit_paths = st.one_of(st.just(b"/submit/cyber/"), desks, st.sampled_from(other_desks))
    reply = f"/tip/replies/{site.reply_pk}/delete/".encode()
    other_replies = [0, 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**30, 10**300]
    reply_paths = st.one_of(
        st.just(reply),
        st.sampled_from(other_replies).map(lambda pk: f"/tip/replies/{pk}/delete/".encode()),
        st.sampled_from([b"-1", b"%ff", b"1e3", b"\xd9\xa1"]).map(
            lambda pk: b"/tip/replies/" + pk + b"/delete/"
        ),
    )
    codenames = [site.codename, site.codename.upper(), f" {site.codename} ", site.codename + "\0"]
    language = {"language": ["ar", "en", "xx", "ar\x00"], "next": HOSTILE_URLS}
    tip_text = small_text.map(lambda text: "I know " + text)
    typed = st.one_of(st.sampled_from(codenames), hostile_text)
    return {
        "index": lambda: requests_to(bent("/"), ["GET"], sessions=anyone),
        "submit": lambda: mostly(
            requests_to(
                submit_paths, ["POST", "GET"], tuple(SUBMIT_FIELDS), SUBMIT_FIELDS, ("attachment",)
            ),
            plausible(desks, {"message": tip_text, "reward_contact": small_text}, files=True),
        ),
        "checkin": lambda: mostly(
            requests_to(
                bent("/checkin/"),
                ["POST", "GET"],
                ("codename",),
                {"codename": codenames},
                (),
                anyone,
            ),
            plausible(st.just(b"/checkin/"), {"codename": typed}, anyone),
            one_in=4,
        ),
        "tip_status": lambda: requests_to(bent("/tip/"), ["GET"], sessions=anyone),
        "followup": lambda: mostly(
            requests_to(
                bent("/tip/followup/"),
                ["POST"],
                ("message", "attachment"),
                {"message": ["more", ""]},
                ("attachment",),
                mostly_tipster,
            ),
            plausible(st.just(b"/tip/followup/"), {"message": tip_text}, mostly_tipster, True),
            one_in=6,
        ),
        "delete_reply": lambda: requests_to(reply_paths, ["POST"], sessions=mostly_tipster),
        "checkout": lambda: requests_to(bent("/tip/checkout/"), ["POST"], sessions=anyone),
        "metadata": lambda: requests_to(bent("/metadata.json"), ["GET"]),
        "health": lambda: requests_to(bent("/health/"), ["GET"]),
        "organization_key": lambda: requests_to(bent("/organization-key.asc"), ["GET"]),
        "download_receipt": lambda: requests_to(
            bent("/tip/receipt/"), ["GET"], sessions=mostly_tipster
        ),
        "receipt_key": lambda: requests_to(bent("/receipt-key.asc"), ["GET"]),
        "set_language": lambda: mostly(
            requests_to(
                bent("/i18n/setlang/"), ["POST", "GET"], tuple(language), language, (), anyone
            ),
            plausible(
                st.just(b"/i18n/setlang/"),
                {name: st.one_of(st.sampled_from(v), hostile_text) for name, v in language.items()},
                anyone,
            ),
            one_in=4,
        ),
    }


# --- Properties ----------------------------------------------------------------------------------


def check_answer(site: Site, route: str, answer: Answer) -> None:
    """The response is one of ours: a page, a redirect on this site, or a few other known kinds."""
    assert not answer.error, answer.error
    status, content_type = answer.status, answer.header("Content-Type") or ""
    no_reader = status == 503 and b"cannot take tips" in answer.body
    assert status < 500 or no_reader, (status, answer.body[:500])
    for key, value in answer.headers:
        assert "\r" not in value and "\n" not in value, (key, value)
    assert answer.header("X-Content-Type-Options") == "nosniff"
    assert answer.header("Cache-Control") == "no-store", answer.headers
    if 300 <= status < 400:
        # Whatever the request said: no scheme, no host, nothing a browser would read as one (it
        # drops spaces and control characters, and takes a backslash for a slash).
        location = answer.header("Location") or ""
        parts = urlsplit(location)
        assert location and not parts.scheme and not parts.netloc, location
        assert not location.startswith(("//", "/\\", "\\")), location
        assert not re.search(r"[\x00-\x20\x7f]", location), location
    elif status in (204, 405):  # set_language without text/html; a method a view refuses
        assert answer.body == b"", answer.body[:200]
        assert status == 204 or answer.header("Allow"), answer.headers
    elif content_type.startswith("text/html"):
        html = answer.body
        assert b'<a class="brand" href="/">' in html, html[:300]
        # The questionnaire's own proof-of-work script (tipline/proof_of_work.py) is the only one.
        own = html.replace(b'<script src="/static/js/work.js" defer></script>', b"", 1)
        assert b"<script" not in own.lower(), "markup from the request was echoed unescaped"
        policy = answer.header("Content-Security-Policy") or ""
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy, policy
        if status >= 400:
            assert b'role="alert"' in html, (status, html[:500])
    elif content_type == "application/json":
        assert route in ("metadata", "health") and status == 200, (route, status)
        json.loads(answer.body)
    elif content_type == "application/pgp-keys" and route == "receipt_key":
        body = answer.body.decode()
        assert "BEGIN PGP PUBLIC KEY BLOCK" in body and "PRIVATE" not in body
    elif content_type == "application/pgp-keys":
        assert answer.body.decode() == site.organization_key
    elif content_type == "text/plain; charset=utf-8":
        assert route == "download_receipt" and status == 200, (route, status)
        assert answer.body.startswith(b"-----BEGIN PGP SIGNED MESSAGE-----")
    else:
        raise AssertionError(f"unexpected response {status} {content_type}: {answer.body[:200]!r}")


def is_receipt(route: str, answer: Answer) -> bool:
    return route == "submit" and answer.status == 200 and b'class="codename"' in answer.body


def is_sent_followup(route: str, request: Hostile, answer: Answer) -> bool:
    sent = answer.status == 302 and answer.header("Location") == "/tip/"
    return route == "followup" and request.method == "POST" and sent


@dataclass
class Baseline:
    """The state every example starts from."""

    tips: set[int]
    messages: set[int]
    attachments: set[int]
    files: set[str]

    @classmethod
    def take(cls, site: Site) -> Baseline:
        return cls(
            set(Tip.objects.values_list("pk", flat=True)),
            set(Message.objects.values_list("pk", flat=True)),
            set(Attachment.objects.values_list("pk", flat=True)),
            site.files(),
        )


def check_storage(site: Site, baseline: Baseline, route: str, request: Hostile, answer: Answer):
    """Rows only with a receipt, and then complete; no file anywhere but in the store."""
    tips = list(Tip.objects.exclude(pk__in=baseline.tips))
    messages = list(Message.objects.exclude(pk__in=baseline.messages))
    attachments = list(Attachment.objects.exclude(pk__in=baseline.attachments))
    assert Tip.objects.filter(pk__in=baseline.tips).count() == len(baseline.tips)
    if is_receipt(route, answer):
        [tip] = tips
        assert not messages, "a receipt with a follow-up message"
        assert bytes(tip.envelope) and tip.recipients
        assert all(a.tip_id == tip.pk and a.message_id is None for a in attachments)
        assert tip.has_files == bool(attachments)
    elif is_sent_followup(route, request, answer):
        [message] = messages
        assert not tips and message.author == Message.Author.TIPSTER
        assert bytes(message.body_for_desk) and message.recipients
        assert all(a.message_id == message.pk for a in attachments)
    else:
        assert (tips, messages, attachments) == ([], [], []), (answer.status, answer.body[:300])
    if tips or messages:
        ACCEPTED[route] = ACCEPTED.get(route, 0) + 1
        STORED[route] = STORED.get(route, 0) + len(attachments)
    for attachment in attachments:
        assert site.stored(attachment.storage_name).stat().st_size == attachment.ciphertext_bytes
    assert not os.listdir(site.files_dir / "incoming"), "ciphertext left in incoming/"
    expected = baseline.files | {str(site.stored(a.storage_name)) for a in attachments}
    assert site.files() == expected, "new files: %s" % (site.files() ^ expected)
    assert not os.listdir(site.temp_dir), "a temporary file was written"
    assert not child_processes(), "a gpg process was left running"


def child_processes() -> list[str]:
    children = []
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that has just ended
            children += (task / "children").read_text().split()
    return children


def run_example(site: Site, baseline: Baseline, route: str, request: Hostile) -> None:
    RAN[route] += 1
    savepoint = transaction.savepoint()
    try:
        answer = site.send(request)
        check_answer(site, route, answer)
        check_storage(site, baseline, route, request, answer)
    finally:
        transaction.savepoint_rollback(savepoint)
        for path in site.files() - baseline.files:
            Path(path).unlink()


def fuzz(site: Site, route: str, strategy: st.SearchStrategy[Hostile]) -> None:
    """Run ``EXAMPLES[route]`` examples, the same ones on every run, and check they all ran."""
    RAN[route] = 0
    baseline = Baseline.take(site)

    # derandomize: the same examples in CI as here; the seed gives each route its own.
    @seed(zlib.crc32(route.encode()))
    @hypothesis_settings(
        max_examples=EXAMPLES[route],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(strategy)
    def example(request: Hostile) -> None:
        run_example(site, baseline, route, request)

    started, cpu = time.monotonic(), time.process_time()
    example()
    print(
        f"{route}: {RAN[route]} examples ({ACCEPTED.get(route, 0)} accepted, "
        f"{STORED.get(route, 0)} files stored) in "
        f"{time.monotonic() - started:.1f} s, {time.process_time() - cpu:.1f} s of CPU"
    )
    assert RAN[route] >= EXAMPLES[route]
    if route in ("submit", "followup"):  # so that what is stored was checked too
        assert STORED.get(route, 0) > 0, "no example stored a file"


# --- Fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def site(public_site, settings, gpg_dirs, key_cache, make_reviewer, monkeypatch):
    from reviewers.tips import send_reply
    from tipline import health

    settings.MAX_ATTACHMENT_BYTES = MAX_ATTACHMENT_BYTES
    settings.MAX_FILES = MAX_FILES
    settings.ONION_ADDRESS = "example.onion"
    organization_key = gpg_dirs / "organization.asc"
    organization_key.write_text(key_cache["carol"].armored)
    settings.ORGANIZATION_KEY_FILE = str(organization_key)
    # Three desks have a reader; "sanctions" has none and must refuse tips with its 503 page.
    make_reviewer(
        "alice", desks=Desk.objects.filter(slug__in=["cyber", "crypto", "other"]), key="alice"
    )
    monkeypatch.setattr(health, "check", lambda timeout: {"database": "ok", "gpg": "ok"})
    monkeypatch.setitem(health._cache, "results", None)
    storage.root()
    temp_dir = gpg_dirs / "tmp"
    temp_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_dir))
    monkeypatch.setenv("TMPDIR", str(temp_dir))
    # Refusals are logged as warnings and errors; a failure here is reported by the test itself.
    for name in ("django.request", "django.security"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.CRITICAL)
    site = Site(
        handler=Utf8WSGIHandler(),
        data_dirs=[gpg_dirs, Path(django_settings.DATA_DIR)],
        files_dir=Path(settings.ENCRYPTED_FILES_DIR),
        temp_dir=temp_dir,
        desk_slugs=list(Desk.objects.order_by("slug").values_list("slug", flat=True)),
        organization_key=organization_key.read_text(),
    )

    def record(sender, request=None, **kwargs):
        site.exceptions.append(traceback.format_exc())

    # A real server closes the database connection after each request; here that connection
    # holds the test's transaction (Django's test client disconnects these the same way).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    got_request_exception.connect(record)
    try:
        check_in(site, send_reply)
        yield site
    finally:
        got_request_exception.disconnect(record)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def cookies_of(answer: Answer) -> dict[str, str]:
    jar = SimpleCookie()
    for key, value in answer.headers:
        if key.lower() == "set-cookie":
            jar.load(value)
    return {name: morsel.value for name, morsel in jar.items() if morsel.value}


def check_in(site: Site, send_reply) -> None:
    """A CSRF token, a tip with a reviewer's reply, and a tipster checked in to read it."""
    page = site.send(Hostile("GET", b"/checkin/", csrf="none"))
    site.csrf_cookie = cookies_of(page)[django_settings.CSRF_COOKIE_NAME]
    site.csrf_token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)[
        1
    ].decode()
    form = "application/x-www-form-urlencoded"
    body = urlencoded([("message", "the first tip")])
    receipt = site.send(Hostile("POST", b"/submit/cyber/", body=body, content_type=form))
    assert is_receipt("submit", receipt), receipt
    site.codename = re.search(rb'class="codename"[^>]*>([^<]+)<', receipt.body)[1].decode()
    tip = Tip.objects.get()
    site.reply_pk = send_reply(tip.desk.members.get(), tip, "a reply").pk
    body = urlencoded([("codename", site.codename)])
    checked_in = site.send(Hostile("POST", b"/checkin/", body=body, content_type=form))
    assert checked_in.status == 302, checked_in
    site.tipster_cookies = {
        name: value
        for name, value in cookies_of(checked_in).items()
        if name != django_settings.CSRF_COOKIE_NAME
    }
    status = site.send(Hostile("GET", b"/tip/", session="tipster"))
    assert status.status == 200 and b"a reply" in status.body, status


# --- Tests ---------------------------------------------------------------------------------------


def test_every_route_of_the_public_urlconf_has_an_attack():
    stub = Site(handler=None, data_dirs=[], files_dir=Path(), temp_dir=Path(), desk_slugs=["x"])
    assert set(public_routes()) == set(attacks(stub)), "each public route needs an attack here"
    assert set(public_routes()) | {"unrouted"} == set(EXAMPLES)


@pytest.mark.parametrize("route", sorted(public_routes()))
def test_it_survives_hostile_requests(site, route):
    strategies = attacks(site)
    assert route in strategies and route in EXAMPLES, f"no attack on the route {route!r}"
    fuzz(site, route, strategies[route]())


def test_it_survives_hostile_paths_the_urlconf_does_not_route(site):
    segment = st.one_of(st.binary(max_size=20), st.sampled_from(PATH_SEGMENTS))
    paths = st.lists(segment, min_size=1, max_size=6).map(lambda s: b"/" + b"/".join(s))
    fuzz(site, "unrouted", requests_to(paths, ["GET", "POST"], sessions=("none", "tipster")))


def test_it_throws_at_least_ten_thousand_inputs(capsys):
    """Each fuzz test checks that it ran its share; the shares add up to the minimum."""
    assert sum(EXAMPLES.values()) >= MINIMUM_TOTAL
    assert all(RAN[route] >= EXAMPLES[route] for route in RAN)
    with capsys.disabled():
        print(f"\nhostile requests sent: {sum(RAN.values())}, accepted: {sum(ACCEPTED.values())}")


# --- What fuzzing found, pinned ------------------------------------------------------------------


def test_it_reads_a_request_whose_charset_cannot_decode_text(site):
    """Django raised while building such a request, before any middleware: a bare 500."""
    form = "application/x-www-form-urlencoded"
    for content_type in (f"{form}; charset=rot13", "text/plain; charset=undefined",
                         f"{form}; charset*=bogus''x"):  # fmt: skip
        answer = site.send(Hostile("GET", b"/", b"a=b", content_type=content_type))
        assert not answer.error and answer.status == 200, answer
    multipart = "multipart/form-data; boundary=B"
    body = b'--B\r\nContent-Disposition: form-data; name="codename"\r\n\r\n\xff\xfe\r\n--B--\r\n'
    answer = site.send(
        Hostile("POST", b"/checkin/", body=body, content_type=multipart + "; charset=base64")
    )
    assert not answer.error and answer.status == 400
    assert b"We do not know this codename" in answer.body
    for parameter in (b"name*=rot13''x", b"name*=bogus''x", b"name*=undefined''x"):
        body = b"--B\r\nContent-Disposition: form-data; " + parameter + b"\r\n\r\nx\r\n--B--\r\n"
        answer = site.send(Hostile("POST", b"/checkin/", body=body, content_type=multipart))
        assert not answer.error and answer.status == 400 and b'role="alert"' in answer.body


@pytest.mark.parametrize("module", ["tipline.wsgi_public", "reviewers.wsgi"])
def test_both_sites_serve_through_the_utf8_handler(module, tmp_path):
    probe = (
        "import io, sys, importlib\n"
        "application = importlib.import_module(sys.argv[1]).application\n"
        "environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/nowhere/', 'QUERY_STRING': 'a=b',\n"
        "    'SERVER_NAME': 'localhost', 'SERVER_PORT': '80', 'HTTP_HOST': 'localhost',\n"
        "    'CONTENT_TYPE': 'text/plain; charset=rot13', 'wsgi.input': io.BytesIO(),\n"
        "    'wsgi.url_scheme': 'http', 'wsgi.errors': sys.stderr}\n"
        "application(environ, lambda status, headers, exc_info=None: print(status))\n"
    )
    env = dict(
        os.environ,
        TIPLINE_DATA_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path}/db",
        TIPLINE_HTTPS="false",
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, module],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "404 Not Found", result.stderr[-2000:]


def test_it_sets_its_headers_on_the_refusal_of_a_bad_host(site):
    """With an onion address set, the header middleware raised on a bad Host and lost them."""
    answer = site.send(Hostile("GET", b"/", headers={"HTTP_HOST": "evil.example"}))
    assert answer.status == 400 and b'role="alert"' in answer.body
    assert answer.header("Cache-Control") == "no-store"
    assert answer.header("Permissions-Policy") and answer.header("Cross-Origin-Resource-Policy")


def test_a_check_in_without_a_codename_says_what_is_missing(site):
    form = "application/x-www-form-urlencoded"
    answer = site.send(Hostile("POST", b"/checkin/", content_type=form))
    assert answer.status == 400 and b"Please type your codename." in answer.body


def test_an_aborted_upload_leaves_no_file_in_the_gnupg_home(
    public_site, desk, make_reviewer, settings
):
    """gpg killed while it locked the keyring left a lock file for each upload refused early."""
    from tipline import crypto

    make_reviewer("alice", desks=[desk], key="alice")
    keys = desk.recipient_keys()
    crypto.ensure_public_keys(keys)
    home = Path(settings.PUBLIC_GNUPG_HOME)
    before = set(os.listdir(home))
    for attempt in range(30):
        _name, path = storage.new_incoming()
        encryptor = crypto.StreamEncryptor(keys, path)
        if attempt % 3:
            encryptor.write(b"x" * 1000 * attempt)
        encryptor.abort()
        assert not path.exists()
    assert set(os.listdir(home)) == before


def test_a_broken_part_after_a_file_is_refused_and_nothing_is_kept(site):
    """Django closes the files already received when parsing fails; ours could not be closed."""
    body = (
        b'--B\r\nContent-Disposition: form-data; name="attachment"; filename="a.txt"\r\n\r\n'
        b"first file\r\n"
        b'--B\r\nContent-Disposition: form-data; name="attachment"; filename="b.txt"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n!!! not base64 !!!\r\n--B--\r\n"
    )
    baseline = Baseline.take(site)
    answer = site.send(
        Hostile(
            "POST", b"/submit/cyber/", body=body, content_type="multipart/form-data; boundary=B"
        )
    )
    assert not answer.error and answer.status == 400 and b'role="alert"' in answer.body
    assert not Tip.objects.exclude(pk__in=baseline.tips).exists()
    assert site.files() == baseline.files and not child_processes()
