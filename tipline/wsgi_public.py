"""WSGI entry point of the public site (gunicorn tipline.wsgi_public)."""

import os

os.environ["TIPLINE_SITE"] = "public"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tipline.settings")

from tipline.handler import get_wsgi_application
from tipline.startup import refuse_unsafe_start

application = get_wsgi_application()
refuse_unsafe_start()
