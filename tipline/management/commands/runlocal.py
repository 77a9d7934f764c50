"""Run the whole service on one machine: public site, back office and a worker (with beat)."""

import os
import signal
import subprocess  # nosec B404  # starts our own servers, argument lists only
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

BIN = Path(sys.executable).parent


class Command(BaseCommand):
    help = (
        "Start the public site (127.0.0.1:8000), the back office (127.0.0.1:8001) and a "
        "Celery worker with beat; Ctrl-C stops all three."
    )

    def add_arguments(self, parser):
        parser.add_argument("--public-port", type=int, default=8000)
        parser.add_argument("--backoffice-port", type=int, default=8001)

    def handle(self, public_port, backoffice_port, **options):
        # Plain HTTP on loopback: cookies cannot be marked Secure, and HSTS must stay off.
        env = {**os.environ, "TIPLINE_HTTPS": os.environ.get("TIPLINE_HTTPS", "false")}
        gunicorn = [str(BIN / "gunicorn"), "--config", str(settings.BASE_DIR / "gunicorn.conf.py")]
        commands = {
            "public": [*gunicorn, "tipline.wsgi_public", "--bind", f"127.0.0.1:{public_port}"],
            "backoffice": [*gunicorn, "reviewers.wsgi", "--bind", f"127.0.0.1:{backoffice_port}"],
            "worker": [
                str(BIN / "celery"),
                "-A",
                "tipline",
                "worker",
                "--beat",
                "--loglevel",
                "INFO",
                "--concurrency",
                "1",
            ],
        }
        sites = {"public": "public", "backoffice": "backoffice", "worker": "public"}
        processes = {
            # Our own gunicorn and celery from this virtualenv, fixed arguments, no shell.
            name: subprocess.Popen(command, env={**env, "TIPLINE_SITE": sites[name]})  # nosec B603
            for name, command in commands.items()
        }
        self.stdout.write(
            f"Public site:  http://127.0.0.1:{public_port}/\n"
            f"Back office:  http://127.0.0.1:{backoffice_port}/\n"
            "Press Ctrl-C to stop."
        )
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping:
            if any(p.poll() is not None for p in processes.values()):
                self.stderr.write("a process exited; stopping the others")
                break
            time.sleep(0.5)
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        return None
