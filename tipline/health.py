"""Health of the pieces a tip needs: database, broker, a live worker, and gpg with the site's
keyring."""

from __future__ import annotations

import subprocess  # nosec B404  # `gpg --version`, an argument list, no shell
import threading
import time

from django.conf import settings
from django.db import connection

from tipline import crypto
from tipline.celery import app as celery_app
from tipline.models import Desk


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker(timeout: float) -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)


def _worker(timeout: float) -> None:
    if not celery_app.control.ping(timeout=timeout):
        raise RuntimeError("no worker answered")


def _gpg() -> None:
    """gpg runs, and encrypts a probe with the site's keyring to a desk's readers, as a tip
    would be: a keyring gpg cannot read or lock fails here, not on the next tipster."""
    command = [settings.GPG_BINARY, "--version"]  # the configured binary, fixed arguments
    subprocess.run(command, check=True, capture_output=True, timeout=10)  # nosec B603
    for desk in Desk.objects.filter(is_active=True).order_by("pk"):
        keys = desk.recipient_keys()
        if keys:
            crypto.encrypt_bytes(b"tipline health probe", keys[:1])
            return


def check(timeout: float = 2.0) -> dict[str, str]:
    """Each check's result: "ok", or the name of the error (never details a visitor could use)."""
    checks = {
        "database": _database,
        "broker": lambda: _broker(timeout),
        "worker": lambda: _worker(timeout),
        "gpg": _gpg,
    }
    results = {}
    for name, run in checks.items():
        try:
            run()
            results[name] = "ok"
        except Exception as exc:  # any failure of a dependency is what this reports
            results[name] = type(exc).__name__
    return results


_cache: dict[str, object] = {"at": 0.0, "results": None}
_cache_lock = threading.Lock()


def cached_check(max_age: float | None = None, timeout: float = 2.0) -> dict[str, str]:
    """``check()``, run at most once per ``max_age`` seconds per process.

    /health/ is reachable by anyone who reaches the site; without this, each request would
    cost a broker connection and a worker ping of up to ``timeout`` seconds.
    """
    max_age = settings.HEALTH_CACHE_SECONDS if max_age is None else max_age
    with _cache_lock:
        if _cache["results"] is None or time.monotonic() - _cache["at"] > max_age:
            _cache["results"] = check(timeout)
            _cache["at"] = time.monotonic()
        return dict(_cache["results"])
