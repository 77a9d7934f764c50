"""Encrypted files on disk: the only module that turns a name into a path.

Every file here is OpenPGP ciphertext. New files are written under ``incoming/`` and only moved
into place by :func:`commit` once the tip that owns them is saved; anything left in
``incoming/`` belongs to a request that failed and is removed by :func:`remove_stale_incoming`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path

from django.conf import settings

NAME_ALPHABET = set("0123456789abcdef")


class StorageError(Exception):
    """A storage name is malformed or points outside the store."""


def root() -> Path:
    path = Path(settings.ENCRYPTED_FILES_DIR)
    for sub in ("incoming", "stored"):
        (path / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _confined(directory: str, name: str) -> Path:
    if len(name) != 32 or not set(name) <= NAME_ALPHABET:
        raise StorageError("malformed storage name")
    base = (root() / directory).resolve()
    path = (base / f"{name}.gpg").resolve()
    if path.parent != base:
        raise StorageError("storage name escapes the store")
    return path


def new_incoming() -> tuple[str, Path]:
    """Reserve a fresh name and return it with the path its ciphertext should be written to."""
    name = secrets.token_hex(16)
    return name, _confined("incoming", name)


def commit(name: str) -> None:
    """Move a finished ciphertext from ``incoming/`` into the store, durably."""
    source, target = _confined("incoming", name), _confined("stored", name)
    os.replace(source, target)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def discard_incoming(name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        _confined("incoming", name).unlink()


def path_of(name: str) -> Path:
    """The path of a stored ciphertext (for streaming it to gpg or to a reviewer)."""
    path = _confined("stored", name)
    if not path.is_file():
        raise StorageError("no such stored file")
    return path


def delete(name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        _confined("stored", name).unlink()


def shred(name: str) -> None:
    """Overwrite a stored ciphertext with random bytes, flush it to disk, then delete it.

    On copy-on-write or journaling filesystems and SSDs an overwrite is not a guarantee; the
    file is ciphertext in any case, and this removes the easy copy.
    """
    path = _confined("stored", name)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    with open(path, "r+b") as handle:
        remaining = size
        while remaining:
            chunk = min(remaining, 1024 * 1024)
            handle.write(secrets.token_bytes(chunk))
            remaining -= chunk
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()


def remove_stale_incoming(older_than_seconds: int = 6 * 3600) -> int:
    """Remove ciphertexts left in ``incoming/`` by requests that never completed."""
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in (root() / "incoming").iterdir():
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
