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
    from tipline.startup import refuse_unsafe_start

    refuse_unsafe_start()
