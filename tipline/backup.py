"""Backups: the whole install as one OpenPGP message to the organization's key.

The archive is a tar stream, written straight into gpg's standard input; gpg's output is the
only thing that reaches the disk. Its plaintext holds secrets (TOTP seeds, password hashes, the
codename pepper, the site keys), so it never touches the disk here. Members, in this order:

``manifest.json``
    format version, date, and the migration state of every app (first, so that a restore can
    refuse a backup from newer code before it reads anything else).
``database/NNNNNN.jsonl``
    every row of every table but sessions, in Django's JSON Lines format with plain ids, taken
    from one consistent snapshot. The dump is cut into members of about ``DUMP_MEMBER_CHARS``
    because a tar header states its member's size: only one member is held in memory.
``files/...``, ``gnupg/public/...``, ``gnupg/reviewers/...``, ``secrets/...``
    the encrypted files, the public keyring, each reviewer's home (their secret key is protected
    by their passphrase), and the sites' ``SECRET_KEY`` files and the codename pepper.
``checksums.json``
    size and SHA-256 of every member before it, row and file counts. Last, because they are known
    only once everything is written; a restore commits nothing before it has checked them, so a
    truncated or altered stream restores nothing.

The restore side is ``tipline.restore``; docs/operations.md is the operator's guide.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import importlib.metadata
import io
import json
import os
import re
import secrets
import stat
import tarfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import django
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.serializers import jsonl
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from tipline import crypto
from tipline.audit import log_action

FORMAT = "tipline-backup"
VERSION = 1
MANIFEST = "manifest.json"
CHECKSUMS = "checksums.json"
DATABASE_MEMBER = re.compile(r"database/\d{6}\.jsonl")
DUMP_MEMBER_CHARS = 8 * 1024 * 1024
# Sessions are not kept: a restored install starts with everyone logged out.
EXCLUDED_MODELS = {"sessions.session"}
# One component of a member name. Restore refuses anything else, so backup refuses it too
# rather than write an archive that cannot be restored.
NAME_PART = re.compile(r"[A-Za-z0-9_.+~-]{1,128}")
MAX_DEPTH = 8
# gpg's transient files: its random seed (recreated) and lock files.
GNUPG_TRANSIENT = re.compile(r"random_seed|\.#lk.*|.*\.lock")
CHUNK = 1024 * 1024


class BackupError(Exception):
    """The backup could not be written; nothing usable was left behind."""


@dataclass(frozen=True)
class Area:
    """A directory tree that is backed up, under ``prefix/`` in the archive."""

    prefix: str
    root: Path


def reviewer_root() -> Path:
    """Where the back office keeps reviewer homes.

    The public site's settings leave it unset (that site must never use them); a backup or a
    restore run with them still finds the homes where the back office keeps them.
    """
    if settings.REVIEWER_GNUPG_ROOT is not None:
        return Path(settings.REVIEWER_GNUPG_ROOT)
    return Path(
        os.environ.get("TIPLINE_REVIEWER_GNUPG_ROOT") or Path(settings.GNUPG_DIR) / "reviewers"
    )


def areas() -> list[Area]:
    return [
        Area("files", Path(settings.ENCRYPTED_FILES_DIR)),
        Area("gnupg/public", Path(settings.PUBLIC_GNUPG_HOME)),
        Area("gnupg/reviewers", reviewer_root()),
        Area("secrets", Path(settings.DATA_DIR) / "secrets"),
    ]


def is_backed_up(prefix: str, relative: PurePosixPath) -> bool:
    """Whether a file of an area belongs in a backup (rather than to work in progress)."""
    if prefix == "files":
        # Uploads still being received, or left by requests that failed.
        return relative.parts[0] != "incoming"
    if prefix.startswith("gnupg/"):
        # Hidden top-level entries of the reviewer root are keys being generated and case
        # exports' scratch homes.
        if prefix == "gnupg/reviewers" and relative.parts[0].startswith("."):
            return False
        return not GNUPG_TRANSIENT.fullmatch(relative.name)
    # Secrets: the files themselves, not the temporary names they are created under.
    return len(relative.parts) == 1 and not relative.name.startswith(".")


def is_safe_name(name: str) -> bool:
    parts = name.split("/")
    return len(parts) <= MAX_DEPTH and all(
        part not in (".", "..") and NAME_PART.fullmatch(part) for part in parts
    )


def organization_key(recipient_file: str | None = None) -> crypto.PublicKey:
    """The key backups are encrypted to: ``recipient_file``, else the organization's key."""
    path = recipient_file or settings.ORGANIZATION_KEY_FILE
    if not path:
        raise BackupError(
            "no key to encrypt the backup to: set TIPLINE_ORGANIZATION_KEY_FILE to the "
            "organization's public key, or pass --recipient-file KEY.asc"
        )
    try:
        return crypto.validate_public_key(Path(path).read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupError(f"cannot read {path}: {exc}") from None
    except crypto.CryptoError as exc:
        raise BackupError(f"{path}: {exc}") from None


class ExactJSONEncoder(DjangoJSONEncoder):
    """Django's encoder keeps only milliseconds of a time; the audit trail's hashes cover
    microseconds, so a dump made with it would restore a broken chain."""

    def default(self, o):
        if isinstance(o, (datetime.datetime, datetime.time)):
            return o.isoformat()
        return super().default(o)


@dataclass
class BackupSummary:
    created_at: str
    encrypted_to: str
    rows: Counter = field(default_factory=Counter)
    files: Counter = field(default_factory=Counter)
    archive_bytes: int = 0
    archive_sha256: str = ""
    has_pepper: bool = False


class _TarWriter:
    """Members appended to a tar stream, each hashed as it goes."""

    def __init__(self, stream: BinaryIO) -> None:
        self.tar = tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        self.sums: dict[str, dict] = {}

    def _info(self, name: str, size: int, mtime: float) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, int(mtime), 0o600
        return info

    def add_bytes(self, name: str, data: bytes) -> None:
        self.tar.addfile(self._info(name, len(data), time.time()), io.BytesIO(data))
        self.sums[name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    def add_file(self, name: str, path: Path) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            status = os.fstat(handle.fileno())
            reader = _HashingReader(handle)
            self.tar.addfile(self._info(name, status.st_size, status.st_mtime), reader)
        self.sums[name] = {"size": status.st_size, "sha256": reader.sha256.hexdigest()}

    def close(self) -> None:
        self.tar.close()


class _HashingReader:
    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha256.update(data)
        return data


class _RowSerializer(jsonl.Serializer):
    """Django's JSON Lines, one write per row.

    Django dumps a many-to-many field with one query per object (20,000 tips: 20,000 queries);
    here the table behind it is dumped as rows of its own (``dumped_models``) instead.
    """

    def handle_m2m_field(self, obj, field) -> None:
        pass

    def end_object(self, obj) -> None:
        # One string, from the C encoder: json.dump would make thousands of small writes.
        self.stream.write(json.dumps(self.get_dump_object(obj), **self.json_kwargs) + "\n")
        self._current = None


class _DumpMembers(io.TextIOBase):
    """A text stream of whole rows that becomes ``database/NNNNNN.jsonl`` members, each cut
    once it holds ``DUMP_MEMBER_CHARS``."""

    def __init__(self, tar: _TarWriter) -> None:
        self.tar = tar
        self.parts: list[str] = []
        self.chars = 0
        self.members = 0

    def write(self, text: str) -> int:
        self.parts.append(text)
        self.chars += len(text)
        if self.chars >= DUMP_MEMBER_CHARS:
            self.flush_member()
        return len(text)

    def flush_member(self) -> None:
        if self.parts:
            self.members += 1
            # ASCII only (ensure_ascii): characters are bytes, and the member is valid UTF-8.
            self.tar.add_bytes(f"database/{self.members:06d}.jsonl", "".join(self.parts).encode())
            self.parts, self.chars = [], 0


@contextlib.contextmanager
def _read_snapshot() -> Iterator[None]:
    """One consistent view of the whole database, without holding up the sites' writes."""
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
    elif connection.vendor == "sqlite":
        # Django opens SQLite transactions with BEGIN IMMEDIATE (see settings), which would
        # hold the write lock for the whole dump; a deferred one reads one WAL snapshot and
        # lets tips keep arriving.
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("ROLLBACK")
    else:
        with transaction.atomic():
            yield


def dumped_models() -> list:
    """Every model whose rows are backed up, the tables behind many-to-many fields included."""
    app_list = [(config, None) for config in apps.get_app_configs() if config.models_module]
    models = [
        model
        for model in serializers.sort_dependencies(app_list, allow_cycles=True)
        if not model._meta.proxy
        and model._meta.managed
        and model._meta.label_lower not in EXCLUDED_MODELS
    ]
    links = [
        field.remote_field.through
        for model in models
        for field in model._meta.local_many_to_many
        if field.remote_field.through._meta.auto_created
    ]
    return models + links


def _rows(rows: Counter) -> Iterator:
    for model in dumped_models():
        for row in model._base_manager.order_by(model._meta.pk.name).iterator(chunk_size=500):
            rows[model._meta.label_lower] += 1
            yield row


def _manifest(recipient: crypto.PublicKey, created_at: str) -> dict:
    applied: dict[str, list[str]] = {}
    for app_label, name in sorted(MigrationRecorder(connection).applied_migrations()):
        applied.setdefault(app_label, []).append(name)
    try:
        version = importlib.metadata.version("tipline")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "format": FORMAT,
        "version": VERSION,
        "created_at": created_at,
        "tipline": version,
        "django": django.get_version(),
        "database": connection.vendor,
        "encrypted_to": recipient.fingerprint,
        "migrations": applied,
        "restore": "gpg --decrypt ARCHIVE | python manage.py restore --from -",
    }


def area_files(area: Area) -> Iterator[tuple[str, Path]]:
    """(member name, path) of every regular file of ``area`` that belongs in a backup."""
    if not area.root.is_dir():
        return
    for directory, subdirectories, names in os.walk(area.root):
        subdirectories.sort()
        for name in sorted(names):
            path = Path(directory, name)
            relative = PurePosixPath(path.relative_to(area.root).as_posix())
            if not stat.S_ISREG(path.lstat().st_mode) or not is_backed_up(area.prefix, relative):
                continue  # sockets, links, work in progress
            member = f"{area.prefix}/{relative}"
            if not is_safe_name(member):
                raise BackupError(f"{path}: unexpected file name; move it out of {area.root}")
            yield member, path


def _write_archive(stream: BinaryIO, recipient: crypto.PublicKey, summary: BackupSummary) -> None:
    tar = _TarWriter(stream)
    dump = _DumpMembers(tar)
    with _read_snapshot():
        tar.add_bytes(MANIFEST, _json(_manifest(recipient, summary.created_at)))
        _RowSerializer().serialize(
            _rows(summary.rows), stream=dump, cls=ExactJSONEncoder, ensure_ascii=True
        )
        dump.flush_member()
    # Files after the snapshot: every file a dumped row names was already stored (a file is
    # committed before its row), so a restore lacks only files purged in between.
    pepper = "secrets/codename-pepper"
    for area in areas():
        for member, path in area_files(area):
            if member == pepper and settings.CODENAME_PEPPER:
                continue  # the value the site uses is added below
            try:
                tar.add_file(member, path)
            except FileNotFoundError:
                continue  # deleted since the listing (a purge): the dump may still name it
            summary.files[area.prefix] += 1
    if settings.CODENAME_PEPPER:
        # The public site's own value, even when it comes from TIPLINE_CODENAME_PEPPER.
        tar.add_bytes(pepper, settings.CODENAME_PEPPER.encode())
        summary.files["secrets"] += 1
    summary.has_pepper = pepper in tar.sums
    tar.add_bytes(
        CHECKSUMS,
        _json({"members": tar.sums, "rows": summary.rows, "files": summary.files}),
    )
    tar.close()


def _json(data) -> bytes:
    return json.dumps(data, indent=1, sort_keys=True).encode()


def _encrypt_backup(output: BinaryIO, recipient: crypto.PublicKey) -> BackupSummary:
    summary = BackupSummary(
        created_at=timezone.now().isoformat(), encrypted_to=recipient.fingerprint
    )
    gpg = crypto.PipeEncryptor(recipient, Path(settings.DATA_DIR))
    digest = hashlib.sha256()
    failures: list[BaseException] = []

    def copy_ciphertext() -> None:
        try:
            while chunk := gpg.stdout.read(CHUNK):
                digest.update(chunk)
                output.write(chunk)
                summary.archive_bytes += len(chunk)
        except BaseException as exc:  # reported below; gpg stopped so the writer stops too
            failures.append(exc)
            gpg.kill()

    copier = threading.Thread(target=copy_ciphertext, daemon=True)
    copier.start()
    try:
        try:
            _write_archive(gpg.stdin, recipient, summary)
            gpg.stdin.close()
        except (BrokenPipeError, ValueError) as exc:
            raise BackupError("gpg stopped while encrypting the backup") from exc
        except OSError as exc:
            raise BackupError(
                f"cannot read {exc.filename or 'a file'}: {exc.strerror or exc}"
            ) from exc
        copier.join()
        if failures:
            raise BackupError(f"cannot write the archive: {failures[0]}") from failures[0]
        if gpg.wait() != 0:
            raise BackupError("gpg failed while encrypting the backup")
        output.flush()
    finally:
        gpg.kill()
        copier.join(timeout=5)
        gpg.close()
    summary.archive_sha256 = digest.hexdigest()
    return summary


def _record(summary: BackupSummary, destination: str) -> None:
    log_action(
        None,
        "backup.create",
        to=destination,
        encrypted_to=summary.encrypted_to,
        sha256=summary.archive_sha256,
        bytes=summary.archive_bytes,
        rows=sum(summary.rows.values()),
        files=dict(summary.files),
    )


def write_backup(output: BinaryIO, recipient: crypto.PublicKey) -> BackupSummary:
    """Write an encrypted backup of this install to ``output``; audited once it is complete."""
    summary = _encrypt_backup(output, recipient)
    _record(summary, "-")
    return summary


def write_backup_file(path: Path, recipient: crypto.PublicKey) -> BackupSummary:
    """Write the backup to a new file at ``path`` (mode 0600), never replacing one; audited."""
    if path.exists():
        raise BackupError(f"{path} exists: choose a new name")
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise BackupError(f"cannot create a file in {path.parent}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            summary = _encrypt_backup(handle, recipient)
            os.fsync(handle.fileno())
        os.link(partial, path)
    except FileExistsError:
        raise BackupError(f"{path} appeared while the backup was written") from None
    except OSError as exc:
        raise BackupError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
    _record(summary, str(path))
    return summary
