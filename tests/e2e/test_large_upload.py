"""A large upload streams from the socket into gpg: the web worker's memory stays bounded and no
plaintext reaches the disk."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
from pathlib import Path

import pytest
import requests

from tests.conftest import short_tempdir
from tests.e2e.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.once]
SIZE = 256 * 1024 * 1024
CHUNK = 1024 * 1024


@pytest.fixture
def stack():
    stack = Stack(short_tempdir(), embedded=True)
    try:
        stack.provision()
        stack.start_sites()
        yield stack
    finally:
        stack.close()
        shutil.rmtree(stack.root, ignore_errors=True)


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def peak_rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def test_a_256_mib_upload_is_encrypted_in_bounded_memory(stack):
    session = requests.Session()
    page = session.get(stack.public_url("/submit/demo/"), timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    boundary = secrets.token_hex(16)
    marker = f"large-canary-{secrets.token_hex(4)}".encode()
    block = (marker * (CHUNK // len(marker) + 1))[:CHUNK]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
        f'{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name="message"\r\n\r\n'
        f'large file\r\n--{boundary}\r\nContent-Disposition: form-data; name="attachment"; '
        f'filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection("127.0.0.1", stack.public_port, timeout=300)
    connection.putrequest("POST", "/submit/demo/")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(len(head) + SIZE + len(tail)))
    connection.putheader("Cookie", "; ".join(f"{k}={v}" for k, v in session.cookies.items()))
    connection.putheader("Origin", stack.public_url("").rstrip("/"))
    connection.endheaders()
    connection.send(head)
    for _ in range(SIZE // CHUNK):
        connection.send(block)
    connection.send(tail)
    response = connection.getresponse()
    body = response.read().decode()
    assert response.status == 200, body[:2000]
    assert 'class="codename"' in body

    peaks = [peak_rss_mib(pid) for pid in worker_pids(stack.processes["public"].pid)]
    assert max(peaks) < 160, peaks  # a buffered upload alone would be 256 MiB

    stored = list((stack.data_dir / "files" / "stored").iterdir())
    assert len(stored) == 1 and stored[0].stat().st_size > SIZE
    assert list((stack.data_dir / "files" / "incoming").iterdir()) == []
    for path in [*stack.files(), *Path(os.environ.get("TMPDIR", "/tmp")).glob("*")]:
        if path.is_file() and path.stat().st_size > 1024 * 1024:
            with open(path, "rb") as handle:
                assert marker not in handle.read(4 * CHUNK), path
