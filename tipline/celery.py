"""The Celery application shared by the worker, beat and both sites (which only enqueue)."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tipline.settings")

app = Celery("tipline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["tipline"])


@worker_init.connect
def _refuse_unsafe_start(**kwargs) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from tipline.startup import refuse_unsafe_start

    try:
        refuse_unsafe_start()
    except ImproperlyConfigured as exc:
        # Celery logs and ignores what a signal handler raises; only SystemExit stops it.
        raise SystemExit(str(exc)) from None
