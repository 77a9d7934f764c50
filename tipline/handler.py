"""The WSGI application both sites run: Django's, reading every request as UTF-8.

Django decodes a request's query string and form fields with the charset its Content-Type
names. A charset that Python knows but cannot decode text with (``charset=rot13``, ``base64``,
``undefined``) made Django raise while building the request, before any middleware ran, so the
server answered with its own 500 page; a Content-Type parameter in RFC 2231 form with an unknown
charset did the same. Both sites serve UTF-8 pages only, and browsers send forms back in the
page's encoding, so a declared charset is ignored (as Django already ignores one it does not
know) and a Content-Type whose parameters cannot be read counts as having none. Form data that
still cannot be decoded, such as multipart part headers in such a charset, is refused as a
malformed upload: a 400 on the site's own error page.
"""

from __future__ import annotations

import django
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.http.multipartparser import MultiPartParserError
from django.utils.http import parse_header_parameters

UNDECODABLE = (ValueError, LookupError, UnicodeError)


class Utf8Request(WSGIRequest):
    def _set_content_type_params(self, meta) -> None:
        line = meta.get("CONTENT_TYPE", "")
        try:
            self.content_type, self.content_params = parse_header_parameters(line)
        except UNDECODABLE:
            self.content_type, self.content_params = line.split(";")[0].strip().lower(), {}

    def _load_post_and_files(self) -> None:
        try:
            super()._load_post_and_files()
        except UNDECODABLE as exc:
            self._mark_post_parse_error()
            raise MultiPartParserError("form data in an encoding that cannot be read") from exc


class Utf8WSGIHandler(WSGIHandler):
    request_class = Utf8Request


def get_wsgi_application() -> WSGIHandler:
    """Like ``django.core.wsgi.get_wsgi_application``, with every request read as UTF-8."""
    django.setup(set_prefix=False)
    return Utf8WSGIHandler()
