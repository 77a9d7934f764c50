"""Run a benchmark against a new, empty PostgreSQL database, dropped when it ends.

For the benchmarks that fill the database named by DATABASE_URL (bench/stats_dashboard.py,
bench/inbox_pages.py): creates a database on the server that SERVER_URL names, runs the command
with DATABASE_URL pointing at it, and drops it whatever the outcome, as tests/e2e/stack.py does
for the end-to-end tests.

    python bench/with_scratch_database.py postgresql://postgres@127.0.0.1:5432/postgres \\
        -- python bench/stats_dashboard.py
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server_url", help="a PostgreSQL URL whose user may create databases")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    name = f"tipline_bench_{secrets.token_hex(4)}"
    with psycopg.connect(args.server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        url = urlunsplit(urlsplit(args.server_url)._replace(path=f"/{name}"))
        environment = {**os.environ, "DATABASE_URL": url}
        return subprocess.run(command, env=environment, check=False).returncode
    finally:
        with psycopg.connect(args.server_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
