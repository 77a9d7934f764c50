"""Upload handlers: a tipster's file goes from the socket into gpg and nowhere else.

Django's own handlers keep small files in memory and spill large ones to a temporary file in
plaintext. Tipline replaces them: by default every file part is skipped unread, and the views
that accept files install :class:`EncryptingUploadHandler`, which pipes each chunk into gpg as
it arrives and keeps only the ciphertext.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload

from tipline import storage
from tipline.crypto import PublicKey, StreamEncryptor


class SkipFilesUploadHandler(FileUploadHandler):
    """The site-wide default: forms that do not expect files never store one."""

    def new_file(self, *args, **kwargs) -> None:
        raise SkipFile()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        return None

    def file_complete(self, file_size: int) -> None:
        return None


@dataclass
class EncryptedUpload:
    """A file that arrived and is now ciphertext in the store's ``incoming/`` area."""

    storage_name: str
    field_name: str
    file_name: str
    content_type: str
    plaintext_bytes: int
    ciphertext_bytes: int

    def close(self) -> None:
        """Nothing to close (the ciphertext is written and closed already).

        Django closes every uploaded file when a request ends, and when parsing fails after a
        file arrived; without this, that failure became an AttributeError and a 500.
        """


class EncryptingUploadHandler(FileUploadHandler):
    """Encrypt each uploaded file to ``keys`` while it streams in.

    Only parts named in ``fields`` are accepted; others are skipped unread. After parsing,
    ``error`` is ``"too_large"`` if a file or the request exceeded the size limit, or
    ``"too_many_files"``; :meth:`discard` removes every ciphertext this handler wrote, for when
    the tip is not saved.
    """

    # Django reads a multipart body 64 KiB at a time by default; 1 MiB reads halve the web
    # worker's CPU per uploaded GiB (docs/benchmarks.md) for 1 MiB of memory per upload.
    chunk_size = 1024 * 1024

    def __init__(
        self, request, keys: list[PublicKey], fields: set[str], max_bytes: int, max_files: int
    ) -> None:
        super().__init__(request)
        self.keys = keys
        self.fields = fields
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.error: str | None = None
        self.written: list[str] = []
        self._encryptor: StreamEncryptor | None = None
        self._current: EncryptedUpload | None = None

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # Refuse an oversized request before encrypting any of it. The parser is left to read
        # the body so the tipster's browser receives the error page rather than a reset.
        if content_length > self.max_bytes * self.max_files + 1024 * 1024:
            self.error = "too_large"
        return None

    def new_file(
        self,
        field_name,
        file_name,
        content_type,
        content_length,
        charset=None,
        content_type_extra=None,
    ) -> None:
        if self.error:
            raise StopUpload(connection_reset=False)
        if field_name not in self.fields:
            raise SkipFile()
        if len(self.written) >= self.max_files:
            self.error = "too_many_files"
            raise StopUpload(connection_reset=False)
        name, path = storage.new_incoming()
        self.written.append(name)
        self._encryptor = StreamEncryptor(self.keys, path)
        self._current = EncryptedUpload(
            storage_name=name,
            field_name=field_name,
            file_name=file_name or "",
            content_type=content_type or "",
            plaintext_bytes=0,
            ciphertext_bytes=0,
        )

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self._encryptor is None:  # a part that was skipped
            return None
        if start + len(raw_data) > self.max_bytes:
            self.error = "too_large"
            self._abort_current()
            raise StopUpload(connection_reset=False)
        self._encryptor.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> EncryptedUpload | None:
        if self._encryptor is None or self._current is None:
            return None
        upload = self._current
        upload.plaintext_bytes = file_size
        upload.ciphertext_bytes = self._encryptor.finish()
        self._encryptor = None
        self._current = None
        return upload

    def upload_interrupted(self) -> None:
        self._abort_current()

    def _abort_current(self) -> None:
        if self._encryptor is not None:
            self._encryptor.abort()
            self._encryptor = None
            self._current = None

    def discard(self) -> None:
        """Remove every ciphertext written for this request (nothing half-stored)."""
        self._abort_current()
        for name in self.written:
            storage.discard_incoming(name)
