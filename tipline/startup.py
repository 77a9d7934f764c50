"""Refuse to serve when a security precondition is missing.

Django runs system checks for management commands only; the WSGI entry points and the Celery
worker call :func:`refuse_unsafe_start` so that gunicorn and celery refuse to start too.
"""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def refuse_unsafe_start() -> None:
    problems = [
        message
        for message in checks.run_checks(tags=[checks.Tags.security])
        if message.level >= checks.ERROR
    ]
    if problems:
        raise ImproperlyConfigured(
            "refusing to start:\n" + "\n".join(f"{p.id}: {p.msg} {p.hint or ''}" for p in problems)
        )
