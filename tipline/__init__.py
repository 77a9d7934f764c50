from importlib.metadata import PackageNotFoundError, version

from tipline.celery import app as celery_app

try:
    __version__ = version("tipline")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "unknown"

__all__ = ["__version__", "celery_app"]
