"""WSGI entry point of the back office (gunicorn reviewers.wsgi)."""

import os

os.environ["TIPLINE_SITE"] = "backoffice"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tipline.settings")

from tipline.handler import get_wsgi_application
from tipline.startup import refuse_unsafe_start

application = get_wsgi_application()
refuse_unsafe_start()
