"""A real Tipline stack for end-to-end tests: gunicorn for each site, a Celery worker, a private
Redis, and the database the suite runs against (a SQLite file, or a fresh PostgreSQL database on
the server named by DATABASE_URL), unless a test asks for one of the two. Every process listens
on 127.0.0.1 only and is stopped when the stack closes."""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from django_otp.oath import totp

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REVIEWER_PASSWORD = "e2e-reviewer-password-7"
REVIEWER_PASSPHRASE = "e2e reviewer key passphrase"


@contextmanager
def running_stack(workers: int = 1, database: str | None = None, env: dict[str, str] | None = None):
    """A provisioned stack with Redis, both sites and ``workers`` workers, torn down after.

    ``database``: as for ``Stack``. ``env``: settings added to its processes' environment."""
    stack = Stack(Path(tempfile.mkdtemp(prefix="t", dir="/tmp")), database=database)
    stack.env.update(env or {})
    try:
        stack.start_redis()
        stack.provision()
        stack.start_sites()
        for number in range(workers):
            stack.start_worker(f"worker-{number}" if workers > 1 else "worker")
        yield stack
    finally:
        stack.close()
        shutil.rmtree(stack.root, ignore_errors=True)


def csrf_token(html: str) -> str:
    """The CSRF token of the (first) form in a page."""
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def self_signed_certificate(dns: list[str], ips: list[str] = ()) -> tuple[bytes, bytes]:
    """A P-256 certificate for ``dns`` and ``ips``, valid for a day: (certificate, key), PEM."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[0])])
    now = datetime.datetime.now(datetime.UTC)
    alternatives = [x509.DNSName(n) for n in dns]
    alternatives += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return (
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class Stack:
    def __init__(self, root: Path, embedded: bool = False, database: str | None = None) -> None:
        """``embedded``: SQLite and the filesystem broker, as ``bin/run`` uses them.

        ``database``: "sqlite" (a file in the data dir) or "postgresql" (a fresh database on the
        server DATABASE_URL names); by default the one DATABASE_URL names, as the suite runs.
        """
        self.root = root
        self.data_dir = root / "data"
        self.logs = self.data_dir / "logs"
        self.tmp = self.data_dir / "tmp"
        for path in (self.data_dir, self.logs, self.tmp):
            path.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen] = {}
        self.redis_port = free_port()
        self.public_port = free_port()
        self.backoffice_port = free_port()
        self.pg_admin_url: str | None = None
        self.database_url = self._make_database(embedded, database)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TIPLINE_")},
            "TIPLINE_DATA_DIR": str(self.data_dir),
            "DATABASE_URL": self.database_url,
            "TIPLINE_HTTPS": "false",
            "TIPLINE_LOG_LEVEL": "DEBUG",
            "TIPLINE_ROUTING_GRACE_SECONDS": "2",
            # The fault, load and benchmark runs send hundreds of tips a minute on purpose: the
            # flood limits (tests/tipline/test_flood.py) would refuse them.
            "TIPLINE_TIPS_PER_MINUTE": "1000000",
            "TIPLINE_TIPS_PER_DESK_PER_MINUTE": "1000000",
            "TIPLINE_FOLLOWUPS_PER_MINUTE": "1000000",
            "TMPDIR": str(self.tmp),
            "HOME": str(self.root),
            "DJANGO_SETTINGS_MODULE": "tipline.settings",
            "PYTHONUNBUFFERED": "1",
        }
        if not embedded:
            self.env["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{self.redis_port}/0"
        self.otp_secret: str | None = None

    @property
    def sqlite_path(self) -> Path:
        """Where the stack's SQLite database is, when it has one."""
        return self.data_dir / "tipline.sqlite3"

    # --- services ---------------------------------------------------------------------------

    def _make_database(self, embedded: bool, database: str | None) -> str:
        url = os.environ.get("DATABASE_URL", "")
        if database not in (None, "sqlite", "postgresql"):
            raise ValueError(f"database={database!r}: use 'sqlite' or 'postgresql'")
        if database == "postgresql" and not url.startswith("postgres"):
            raise RuntimeError("a PostgreSQL stack needs DATABASE_URL naming a PostgreSQL server")
        if embedded or database == "sqlite" or not url.startswith("postgres"):
            return f"sqlite:///{self.sqlite_path}"
        import psycopg

        name = f"tipline_e2e_{secrets.token_hex(4)}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.pg_admin_url = url
        self.pg_name = name
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def start_redis(self) -> None:
        self._spawn(
            "redis",
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
            ],
        )
        wait_for(lambda: self._redis_ping(), 10, "redis")

    def stop_redis(self) -> None:
        self._stop("redis")

    def _redis_ping(self) -> bool:
        try:
            return self.redis().ping()
        except Exception:
            return False

    def redis(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.redis_port)

    def manage(self, *args: str, site: str = "backoffice", env: dict | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**self.env, "TIPLINE_SITE": site, **(env or {})},
            timeout=120,
        )
        with open(self.logs / "manage.log", "a") as log:
            log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stderr}")
        return result.stdout

    def provision(self, desk: str = "demo") -> None:
        self.manage("migrate", "-v0")
        self.manage("createdesk", desk, "--name", "Demo desk")
        out = self.manage(
            "createreviewer",
            "alice",
            "--desk",
            desk,
            "--desk",
            "cyber",  # a desk shipped with every install, with every kind of question
            env={
                "TIPLINE_PASSWORD": REVIEWER_PASSWORD,
                "TIPLINE_KEY_PASSPHRASE": REVIEWER_PASSPHRASE,
            },
        )
        self.otp_secret = re.search(r"secret=([A-Z2-7]+)", out).group(1)

    def start_sites(self) -> None:
        for name, module, port in (
            ("public", "tipline.wsgi_public", self.public_port),
            ("backoffice", "reviewers.wsgi", self.backoffice_port),
        ):
            self._spawn(
                name,
                [
                    str(BIN / "gunicorn"),
                    "--config",
                    str(ROOT / "gunicorn.conf.py"),
                    module,
                    "--bind",
                    f"127.0.0.1:{port}",
                ],
            )
        for port in (self.public_port, self.backoffice_port):
            wait_for(lambda p=port: self._answers(p), 30, f"gunicorn on {port}")

    def start_worker(self, name: str = "worker", concurrency: int = 1) -> None:
        self._spawn(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "tipline",
                "worker",
                "--loglevel",
                "DEBUG",
                "--concurrency",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"{name}-{secrets.token_hex(3)}@%h",
            ],
            extra_env={"TIPLINE_SITE": "public"},
        )

    def start_beat(self) -> None:
        self._spawn(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "tipline",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.data_dir / "celerybeat-schedule"),
            ],
            extra_env={"TIPLINE_SITE": "public"},
        )

    def kill_worker(self, name: str = "worker") -> None:
        """SIGKILL the worker and its pool, as a machine crash would."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def _answers(self, port: int) -> bool:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=2)
            return True
        except requests.RequestException:  # not listening yet, or still booting (slow answer)
            return False

    def _spawn(self, name: str, args: list[str], extra_env: dict | None = None) -> None:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115  (closed with the process)
        self.processes[name] = subprocess.Popen(
            args,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**self.env, **(extra_env or {})},
            start_new_session=True,
        )
        log.close()

    def _stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def close(self) -> None:
        for name in list(self.processes):
            self._stop(name)
        gnupg = self.data_dir / "gnupg"
        if gnupg.exists():
            for home in [gnupg / "public", *(gnupg / "reviewers").glob("*")]:
                subprocess.run(
                    ["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],
                    capture_output=True,
                    check=False,
                )
        if self.pg_admin_url:
            import psycopg

            with psycopg.connect(self.pg_admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')

    # --- people -------------------------------------------------------------------------------

    def public_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.public_port}{path}"

    def backoffice_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.backoffice_port}{path}"

    def reviewer_session(self, drift: int = 0) -> requests.Session:
        """An HTTP session of the provisioned reviewer, past the password and the TOTP code."""
        session = requests.Session()
        login = session.get(self.backoffice_url("/login/"), timeout=10)
        response = session.post(
            self.backoffice_url("/login/"),
            data={
                "csrfmiddlewaretoken": csrf_token(login.text),
                "username": "alice",
                "password": REVIEWER_PASSWORD,
                "otp_token": self.current_totp(drift),
            },
            timeout=10,
        )
        assert response.url.endswith("/"), response.text
        return session

    def open_tip(self, session: requests.Session, tip_id: int) -> requests.Response:
        """A reviewer session's tip page, after unlocking the reviewer's key on the way."""
        unlock = session.get(self.backoffice_url(f"/tips/{tip_id}/"), timeout=10)
        assert "/key/unlock/" in unlock.url
        return session.post(
            unlock.url,
            data={
                "csrfmiddlewaretoken": csrf_token(unlock.text),
                "passphrase": REVIEWER_PASSPHRASE,
                "next": f"/tips/{tip_id}/",
            },
            timeout=30,
        )

    def current_totp(self, drift: int = 0) -> str:
        return format(totp(base64.b32decode(self.otp_secret), drift=drift), "06d")

    # --- inspection ---------------------------------------------------------------------------

    def sql(self, query: str) -> list[tuple]:
        if self.database_url.startswith("sqlite"):
            import sqlite3

            with sqlite3.connect(self.database_url.removeprefix("sqlite:///")) as conn:
                return conn.execute(query).fetchall()
        import psycopg

        with psycopg.connect(self.database_url) as conn:
            return conn.execute(query).fetchall()

    def database_dump(self) -> bytes:
        """Every row of every table, as text (bytea shown as hex)."""
        if self.database_url.startswith("sqlite"):
            import sqlite3

            with sqlite3.connect(self.database_url.removeprefix("sqlite:///")) as conn:
                return "\n".join(conn.iterdump()).encode()
        tables = [
            row[0]
            for row in self.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        chunks = []
        for table in tables:
            chunks += [str(row[0]) for row in self.sql(f'SELECT t::text FROM "{table}" t')]
        return "\n".join(chunks).encode()

    def files(self) -> list[Path]:
        return [p for p in self.root.rglob("*") if p.is_file() and not p.is_symlink()]
