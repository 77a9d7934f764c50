"""Finding a canary string however it was stored: raw, hex, base64, or JSON-escaped."""

from __future__ import annotations

import base64
import json
from pathlib import Path


def encodings(canary: str) -> set[bytes]:
    raw = canary.encode()
    forms = {
        raw,
        raw.hex().encode(),
        raw.hex().upper().encode(),
        json.dumps(canary).strip('"').encode(),
    }
    # base64 of a substring depends on where it starts; cover the three alignments and drop
    # the edge characters that depend on the neighbouring bytes.
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)[4:-4]
        forms.add(encoded)
        forms.add(encoded.replace(b"+", b"-").replace(b"/", b"_"))
    return {form for form in forms if len(form) >= 8}


def find(canaries: list[str], blobs: dict[str, bytes]) -> list[tuple[str, str]]:
    """Return (canary, source) for every source holding any form of any canary."""
    hits = []
    for canary in canaries:
        forms = encodings(canary)
        for source, blob in blobs.items():
            if any(form in blob for form in forms):
                hits.append((canary, source))
    return hits


def read_files(paths: list[Path], limit: int = 200 * 1024 * 1024) -> dict[str, bytes]:
    blobs = {}
    for path in paths:
        try:
            if path.stat().st_size <= limit:
                blobs[str(path)] = path.read_bytes()
        except (FileNotFoundError, PermissionError, OSError):
            continue
    return blobs
