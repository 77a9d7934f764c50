"""Restoring a backup (``tipline.backup``) onto a fresh install, all or nothing.

The stream read here is the archive already decrypted by the operator, on the machine where the
organization's secret key is: ``gpg --decrypt ARCHIVE | manage.py restore --from -``. The
archive is not signed (anyone can encrypt to a public key), so every member is treated as
hostile: only regular files, under the names a backup writes, confined to their directories.

Nothing is kept unless everything succeeds. The database is emptied and loaded in one
transaction that is committed last. Files are written under temporary names next to their
places and renamed into place only once the whole stream has been read and every member matches
``checksums.json``; on any error they are removed with the directories made for them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import tarfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.management.color import no_style
from django.core.management.sql import sql_flush
from django.core.serializers.base import DeserializationError
from django.db import DatabaseError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from tipline.audit import log_action
from tipline.backup import (
    CHECKSUMS,
    DATABASE_MEMBER,
    FORMAT,
    MANIFEST,
    VERSION,
    Area,
    area_files,
    areas,
    dumped_models,
    is_safe_name,
)
from tipline.models import AuditEvent, Tip

MAX_DATABASE_MEMBER = 256 * 1024 * 1024
MAX_DOCUMENT = 64 * 1024 * 1024
MAX_SECRET = 64 * 1024
CHUNK = 1024 * 1024


class RestoreError(Exception):
    """The backup was not restored; the database and the files are as they were."""


class HostileArchiveError(RestoreError):
    """A member could write outside its place or is not something a backup contains."""


@dataclass
class RestoreSummary:
    created_at: str
    rows: Counter = field(default_factory=Counter)
    files: Counter = field(default_factory=Counter)


def restore(stream: BinaryIO, *, force: bool = False) -> RestoreSummary:
    """Restore the decrypted backup read from ``stream``; audited.

    Refused unless this install is fresh (migrated, without accounts, tips, audit entries,
    stored files or reviewer keys), or ``force`` is given: then the whole database is replaced
    and the archive's files overwrite those of the same name.
    """
    if not MigrationRecorder(connection).has_table():
        raise RestoreError("this database has no tables: run `manage.py migrate` first")
    if not force:
        _refuse_unless_fresh()
    try:
        archive = tarfile.open(fileobj=stream, mode="r|")  # noqa: SIM115
        members = _Members(archive)
        manifest_data = members.read_document(MANIFEST)
    except tarfile.TarError:
        raise RestoreError(
            "this is not a decrypted backup. Decrypt the archive where the organization's key "
            "is: gpg --decrypt ARCHIVE | manage.py restore --from -"
        ) from None
    manifest = _check_manifest(manifest_data)
    summary = RestoreSummary(created_at=manifest["created_at"])
    staged = _StagedFiles(areas())
    try:
        with transaction.atomic():
            _empty_database()
            _read_rest(archive, members, staged, summary)
            # Rows point at each other by id; the checks deferred to the commit run now, so a
            # failure is reported (and undone) with the files rather than after them.
            connection.check_constraints()
            _reset_sequences()
            log_action(
                None,
                "backup.restore",
                backup_created_at=summary.created_at,
                rows=sum(summary.rows.values()),
                files=dict(summary.files),
                forced=force,
            )
            staged.commit()
    except BaseException as exc:
        staged.discard()
        if isinstance(exc, (tarfile.TarError, EOFError)):
            raise RestoreError(
                "the archive ends early or is damaged; nothing was restored"
            ) from exc
        if isinstance(exc, (DatabaseError, DeserializationError, OSError, ValueError)):
            raise RestoreError(f"nothing was restored: {exc}") from exc
        raise
    return summary


def _refuse_unless_fresh() -> None:
    counts = {
        "accounts": get_user_model()._base_manager.count(),
        "tips": Tip._base_manager.count(),
        "audit entries": AuditEvent._base_manager.count(),
    }
    # The public keyring and the secrets of a fresh install are made on first use; they are
    # replaced. Stored files and reviewer keys are not made by anything but use.
    for area in areas():
        if area.prefix in ("files", "gnupg/reviewers"):
            counts[f"files in {area.root}"] = sum(1 for _ in area_files(area))
    found = ", ".join(f"{count} {what}" for what, count in counts.items() if count)
    if found:
        raise RestoreError(
            f"this install is not fresh ({found}). Restore into a new data dir and an empty "
            "database after `manage.py migrate`, or pass --force to replace everything here."
        )


def _check_manifest(data: bytes) -> dict:
    try:
        manifest = json.loads(data)
        if manifest["format"] != FORMAT:
            raise ValueError
        version, migrations = int(manifest["version"]), manifest["migrations"]
        backup = {(app, name) for app, names in migrations.items() for name in names}
        str(manifest["created_at"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise RestoreError("this is not a Tipline backup (no valid manifest.json)") from None
    if version > VERSION:
        raise RestoreError(f"backup format {version} is newer than this code: upgrade Tipline")
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    unknown = sorted(f"{app}.{name}" for app, name in backup - set(loader.disk_migrations))
    if unknown:
        raise RestoreError(
            "this backup was made by newer code (migrations unknown here: "
            f"{', '.join(unknown[:5])}): install that version of Tipline or a later one"
        )
    here = set(loader.applied_migrations)
    if backup != here:
        steps = []
        for app in sorted({app for app, _ in backup ^ here}):
            names = sorted(name for label, name in backup if label == app)
            steps.append(f"  manage.py migrate {app} {names[-1] if names else 'zero'}")
        raise RestoreError(
            "this backup was made by older code. Bring this empty database to the backup's "
            "migrations, restore, then migrate forward:\n"
            + "\n".join(steps)
            + "\n  manage.py restore --from ...\n  manage.py migrate"
        )
    return manifest


class _Members:
    """The archive's members in order, each refused unless a backup could have written it."""

    def __init__(self, archive: tarfile.TarFile) -> None:
        self.archive = archive
        self.sums: dict[str, dict] = {}

    def next(self) -> tarfile.TarInfo | None:
        member = self.archive.next()
        if member is None:
            return None
        name = member.name
        if not member.isreg():
            raise HostileArchiveError(f"{name!r}: links, directories and devices are refused")
        if PurePosixPath(name).is_absolute() or not is_safe_name(name):
            raise HostileArchiveError(f"{name!r}: not a name a backup writes")
        if name in self.sums:
            raise HostileArchiveError(f"{name!r} appears twice")
        return member

    def read(self, member: tarfile.TarInfo, limit: int) -> bytes:
        if member.size > limit:
            raise HostileArchiveError(f"{member.name!r} is larger than a backup writes it")
        data = self.archive.extractfile(member).read()
        self.record(member.name, len(data), hashlib.sha256(data).hexdigest())
        return data

    def read_document(self, name: str) -> bytes:
        member = self.next()
        if member is None or member.name != name:
            raise RestoreError(f"this is not a Tipline backup (no {name} where expected)")
        return self.read(member, MAX_DOCUMENT)

    def record(self, name: str, size: int, sha256: str) -> None:
        self.sums[name] = {"size": size, "sha256": sha256}


def _read_rest(
    archive: tarfile.TarFile, members: _Members, staged: _StagedFiles, summary: RestoreSummary
) -> None:
    while (member := members.next()) is not None:
        name = member.name
        if name == CHECKSUMS:
            expected = members.sums.copy()
            _check_checksums(members.read(member, MAX_DOCUMENT), expected)
            if members.next() is not None:
                raise HostileArchiveError("members follow checksums.json")
            return
        if DATABASE_MEMBER.fullmatch(name):
            summary.rows += _load_rows(members.read(member, MAX_DATABASE_MEMBER))
            continue
        area, relative = staged.locate(name)
        if area.prefix == "secrets" and member.size > MAX_SECRET:
            raise HostileArchiveError(f"{name!r} is larger than a backup writes it")
        members.record(name, member.size, staged.write(area, relative, archive, member))
        summary.files[area.prefix] += 1
    raise RestoreError("the archive ends before checksums.json: it is incomplete")


def _check_checksums(data: bytes, actual: dict[str, dict]) -> None:
    try:
        expected = json.loads(data)["members"]
    except (ValueError, KeyError, TypeError):
        raise RestoreError("checksums.json is unreadable") from None
    if expected != actual:
        differ = sorted(set(expected) ^ set(actual)) or sorted(
            name for name in expected if expected[name] != actual.get(name)
        )
        raise RestoreError(
            f"the archive does not match its checksums ({', '.join(differ[:5])}): it was "
            "damaged or altered"
        )


def _empty_database() -> None:
    """Remove what `migrate` put in the database (content types, permissions, the shipped
    desks): the backup holds the same kinds of rows, under their original ids."""
    connection.ops.execute_sql_flush(sql_flush(no_style(), connection, reset_sequences=True))


def _load_rows(data: bytes) -> Counter:
    """Insert the rows of one dump member, a thousand of a table per query."""
    rows: Counter = Counter()
    restorable = set(dumped_models())
    batch: list = []

    def insert() -> None:
        model = type(batch[0])
        if model._meta.parents:  # multi-table inheritance, which bulk_create cannot insert
            for obj in batch:
                obj.save_base(raw=True, force_insert=True)
        else:
            model._base_manager.bulk_create(batch)
        batch.clear()

    for row in serializers.deserialize("jsonl", data.decode()):
        model = type(row.object)
        if model not in restorable:
            raise HostileArchiveError(f"rows of {model._meta.label} are not part of a backup")
        if batch and (type(batch[0]) is not model or len(batch) >= 1000):
            insert()
        batch.append(row.object)
        rows[model._meta.label_lower] += 1
    if batch:
        insert()
    return rows


def _reset_sequences() -> None:
    """PostgreSQL hands out ids from sequences that loading rows with their ids did not move."""
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), dumped_models()):
            cursor.execute(statement)


class _StagedFiles:
    """Files written beside their places under temporary names, renamed into place by
    :meth:`commit`; :meth:`discard` removes every one, and the directories made for them."""

    def __init__(self, targets: list[Area]) -> None:
        self.areas = sorted(targets, key=lambda area: -len(area.prefix))
        self.token = secrets.token_hex(6)
        self.pending: list[tuple[Path, Path]] = []
        self.placed: list[Path] = []
        self.made: list[Path] = []

    def locate(self, name: str) -> tuple[Area, PurePosixPath]:
        for area in self.areas:
            if name.startswith(f"{area.prefix}/"):
                relative = PurePosixPath(name[len(area.prefix) + 1 :])
                if area.prefix == "secrets" and len(relative.parts) != 1:
                    break
                return area, relative
        raise HostileArchiveError(f"{name!r}: not a name a backup writes")

    def _directory(self, area: Area, relative: PurePosixPath) -> Path:
        """The directory for ``relative``, made (0700) as needed; refused if it resolves
        anywhere else (a symbolic link on the way)."""
        for path in [*reversed(area.root.parents), area.root]:
            if not path.exists():
                path.mkdir(mode=0o700)
                self.made.append(path)
        base = area.root.resolve()
        directory = base
        for part in relative.parts[:-1]:
            directory = directory / part
            if not directory.exists() and not directory.is_symlink():
                directory.mkdir(mode=0o700)
                self.made.append(directory)
        if directory.resolve() != base.joinpath(*relative.parts[:-1]) or not directory.is_dir():
            raise HostileArchiveError(f"{directory} is not a directory of {base}")
        return directory

    def write(
        self, area: Area, relative: PurePosixPath, archive: tarfile.TarFile, member: tarfile.TarInfo
    ) -> str:
        """Write the member beside its place; return its SHA-256."""
        directory = self._directory(area, relative)
        target = directory / relative.name
        temporary = directory / f".{relative.name}.restore-{self.token}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        self.pending.append((temporary, target))
        digest = hashlib.sha256()
        source = archive.extractfile(member)
        with os.fdopen(fd, "wb") as handle:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        return digest.hexdigest()

    def commit(self) -> None:
        directories = set()
        for temporary, target in self.pending:
            os.replace(temporary, target)
            self.placed.append(target)
            directories.add(target.parent)
        for directory in directories:
            fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def discard(self) -> None:
        for temporary, _ in self.pending:
            temporary.unlink(missing_ok=True)
        for target in self.placed:
            target.unlink(missing_ok=True)
        for directory in reversed(self.made):
            with contextlib.suppress(OSError):
                directory.rmdir()
