"""A 1 GiB upload through the public site: throughput, the web worker's memory, plaintext on disk.

Starts the public site as shipped (gunicorn with ``gunicorn.conf.py``, SQLite and the filesystem
broker, as ``bin/run`` uses them) for a desk of three reviewers, with ``TIPLINE_MAX_ATTACHMENT_MB``
raised for this stack only, so that a file of ``--size-mib`` is allowed. The file is generated
as it is sent, 1 MiB at a time, and every byte of it is part of a marker unique to the run:
any stretch of plaintext longer than two markers contains one.

From before the first baseline to after the last, a watcher reads every file that appears or
grows under the stack's directory (data, database, the site's TMPDIR, its HOME), /tmp, /var/tmp
and /dev/shm, and every regular file the web workers and their gpg children hold open (deleted
ones too), and looks for the marker in what was added. During the upload another thread samples
the resident memory of the workers and of gpg.

The baseline, measured in the same run before and after the upload, is gpg alone encrypting the
same generated stream, fed through a pipe as the site feeds it, to the same three keys in the
site's keyring, with the options ``tipline.crypto.StreamEncryptor`` uses, into a file on the
same disk (the fsync the site then does is timed apart).

    python bench/large_upload.py [--size-mib 1024]
"""

from __future__ import annotations

import argparse
import fcntl
import http.client
import os
import re
import resource
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.submit_throughput import (  # noqa: E402
    DESK,
    cpu_of_processes,
    desk_fingerprints,
    form_token,
    post_tip,
    provision_desk_of_three,
    worker_pids,
)
from tests.e2e.stack import Stack  # noqa: E402
from tipline.crypto import COMMON_OPTIONS, PIPE_BYTES  # noqa: E402

MIB = 1024 * 1024
# The stack's own directory is made under /tmp, so it is watched with it.
WATCHED = sorted({"/tmp", "/var/tmp", "/dev/shm", tempfile.gettempdir()})  # noqa: S108


def plaintext(marker: bytes, size: int):
    """``size`` bytes of the marker repeated, 1 MiB at a time (never all in memory)."""
    block = (marker * (MIB // len(marker) + 1))[:MIB]
    sent = 0
    while sent < size:
        chunk = block[: min(MIB, size - sent)]
        sent += len(chunk)
        yield chunk


# --- the baseline: gpg alone ------------------------------------------------------------------


def gpg_alone(home: Path, fingerprints: list[str], marker: bytes, size: int, output: Path) -> dict:
    """gpg encrypting the stream as ``StreamEncryptor`` runs it (its options, its pipe size);
    seconds to encrypt, to fsync."""
    args = ["gpg", "--batch", "--no-tty", "--quiet", "--homedir", str(home), *COMMON_OPTIONS]
    args += ["--compress-algo", "none", "--output", str(output), "--encrypt"]
    for fingerprint in fingerprints:
        args += ["--recipient", fingerprint]
    children_cpu = cpu_of_children()
    started = time.perf_counter()
    process = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
    fcntl.fcntl(process.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    for chunk in plaintext(marker, size):
        process.stdin.write(chunk)
    process.stdin.close()
    if process.wait(timeout=600) != 0:
        raise RuntimeError("gpg failed in the baseline")
    encrypted = time.perf_counter()
    gpg_cpu = cpu_of_children() - children_cpu
    with open(output, "rb") as handle:
        os.fsync(handle.fileno())
    synced = time.perf_counter()
    output.unlink()
    return {
        "encrypt_seconds": encrypted - started,
        "fsync_seconds": synced - encrypted,
        "gpg_cpu_seconds": gpg_cpu,
    }


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- watching the workers while the upload runs ------------------------------------------------


def process_tree(workers: list[int]) -> list[int]:
    """The workers and their children (gpg), whichever thread started them."""
    pids = list(workers)
    for worker in workers:
        for children in Path(f"/proc/{worker}/task").glob("*/children"):
            try:
                pids += [int(pid) for pid in children.read_text().split()]
            except OSError:
                continue
    return pids


def status_kib(pid: int, field_name: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"{field_name}:\s+(\d+) kB", status).group(1))


@dataclass
class MemorySampler:
    """Resident memory of the workers and of their gpg children, every 20 ms."""

    workers: list[int]
    worker_peak_kib: int = 0
    streaming_peak_kib: int = 0  # while the body was still arriving
    streaming: bool = True
    gpg_peak_kib: int = 0
    samples: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.wait(0.02):
            for pid in process_tree(self.workers):
                try:
                    rss = status_kib(pid, "VmRSS")
                    name = Path(f"/proc/{pid}/comm").read_text().strip()
                except (OSError, AttributeError):  # gone, or a zombie without memory lines
                    continue
                if pid in self.workers:
                    self.worker_peak_kib = max(self.worker_peak_kib, rss)
                    if self.streaming:
                        self.streaming_peak_kib = max(self.streaming_peak_kib, rss)
                elif name == "gpg":  # not a worker's fork that has not run gpg yet
                    self.gpg_peak_kib = max(self.gpg_peak_kib, rss)
            self.samples += 1


@dataclass
class PlaintextWatcher:
    """Look for the marker in whatever is added to a file while the upload runs.

    Files are known by device and inode, so a file seen under two names (the ciphertext in
    ``incoming/`` and gpg's open descriptor on it) is read once; a file already there before the
    upload is read only from the point it grows past.
    """

    marker: bytes
    roots: list[str]
    processes: list[int]
    scanned: dict[tuple[int, int], int] = field(default_factory=dict)
    found: list[str] = field(default_factory=list)
    files_read: set[tuple[int, int]] = field(default_factory=set)
    bytes_read: int = 0
    passes: int = 0
    cpu_seconds: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        # A root inside another (the stack's directory is under /tmp) is walked once.
        roots = {os.path.realpath(root) for root in self.roots}
        self.roots = sorted(
            root for root in roots if not any(root.startswith(other + "/") for other in roots)
        )

    def snapshot(self) -> None:
        """Remember the size of every file there now: only what is added later is read."""
        for _path, key, size in self._candidates():
            self.scanned[key] = size

    def check_it_finds(self, path: Path) -> None:
        """A control: plaintext written where the site's temporary files go is found."""
        path.write_bytes(b"x" * 10 + self.marker * 3)
        key = (path.stat().st_dev, path.stat().st_ino)
        self.scan()
        path.unlink()
        self.scanned.pop(key, None)  # the inode may be reused by the next file
        if self.found != [str(path)]:
            raise RuntimeError(f"the watcher missed plaintext in {path}: {self.found}")
        self.found.clear()

    def run(self) -> None:
        started = time.thread_time()
        while not self.stop.wait(0.2):
            self.scan()
        self.scan()  # once more, after the response: what was written last
        self.cpu_seconds = time.thread_time() - started

    def scan(self) -> None:
        for path, key, size in self._candidates():
            done = self.scanned.get(key, 0)
            if size > done:
                self._read(path, key, max(0, done - len(self.marker) + 1), size)
        self.passes += 1

    def _candidates(self):
        """(path, (device, inode), size) of every regular file to watch."""
        pending = list(self.roots)
        while pending:
            try:
                entries = list(os.scandir(pending.pop()))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        info = entry.stat(follow_symlinks=False)
                        yield entry.path, (info.st_dev, info.st_ino), info.st_size
                except OSError:
                    continue
        for pid in process_tree(self.processes):
            try:
                descriptors = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for descriptor in descriptors:
                path = f"/proc/{pid}/fd/{descriptor}"
                try:
                    info = os.stat(path)  # the open file itself, even when it was deleted
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    yield path, (info.st_dev, info.st_ino), info.st_size

    def _read(self, path: str, key: tuple[int, int], start: int, end: int) -> None:
        try:
            with open(path, "rb") as handle:
                handle.seek(start)
                while start < end:
                    chunk = handle.read(min(4 * MIB, end - start))
                    if not chunk:
                        break
                    if self.marker in chunk:
                        self.found.append(str(path))
                    self.bytes_read += len(chunk)
                    # Overlap reads by a marker's length, so one split between them is found.
                    start += max(1, len(chunk) - len(self.marker) + 1)
                    handle.seek(start)
        except OSError:
            return
        self.files_read.add(key)
        self.scanned[key] = end


# --- the upload ----------------------------------------------------------------------------------


def upload(stack: Stack, marker: bytes, size: int, on_sent=None) -> tuple[int, str, float]:
    """POST one file of ``size`` bytes as a tipster's browser does; status, body, seconds.

    ``on_sent`` is called once the whole body is sent, before the answer is awaited.
    """
    session = requests.Session()
    token = form_token(session, stack)
    boundary = secrets.token_hex(16)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
        f'{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name="message"\r\n\r\n'
        f'One large file.\r\n--{boundary}\r\nContent-Disposition: form-data; name="attachment"; '
        f'filename="large.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", stack.public_port, timeout=300)
    connection.putrequest("POST", f"/submit/{DESK}/")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(len(head) + size + len(tail)))
    connection.putheader("Cookie", "; ".join(f"{k}={v}" for k, v in session.cookies.items()))
    connection.putheader("Origin", stack.public_url("").rstrip("/"))
    connection.endheaders()
    connection.send(head)
    for chunk in plaintext(marker, size):
        connection.send(chunk)
    connection.send(tail)
    if on_sent:
        on_sent()
    response = connection.getresponse()
    body = response.read().decode()
    taken = time.perf_counter() - started
    connection.close()
    return response.status, body, taken


def run(size_mib: int) -> dict:
    size = size_mib * MIB
    stack = Stack(Path(tempfile.mkdtemp(prefix="b", dir="/tmp")), embedded=True)
    # For this stack only: the shipped default (500 MiB) refuses a 1 GiB file.
    stack.env["TIPLINE_MAX_ATTACHMENT_MB"] = str(max(size_mib, 500))
    marker = f"<plaintext canary {secrets.token_hex(8)}>".encode()
    try:
        provision_desk_of_three(stack)
        stack.start_sites()
        session = requests.Session()
        post_tip(session, stack, form_token(session, stack))  # imports the keys, warms up
        home = stack.data_dir / "gnupg" / "public"
        fingerprints = desk_fingerprints(stack)
        output = stack.data_dir / "baseline.gpg"
        workers = worker_pids(stack.processes["public"].pid)
        # The watcher runs through the baselines too, so that its reading costs both sides alike
        # (it reads the baseline's ciphertext as it reads the site's).
        watcher = PlaintextWatcher(marker, [str(stack.root), *WATCHED], workers)
        watcher.snapshot()
        watcher.check_it_finds(stack.tmp / "control.bin")
        watching = threading.Thread(target=watcher.run)
        watching.start()
        try:
            before = gpg_alone(home, fingerprints, marker, size, output)
            at_rest_kib = max(status_kib(pid, "VmRSS") for pid in workers)
            memory = MemorySampler(workers)
            sampling = threading.Thread(target=memory.run)
            sampling.start()
            cpu_before = [cpu_of_processes(workers), cpu_of_processes(workers, children=False)]
            try:
                status, body, seconds = upload(
                    stack, marker, size, on_sent=lambda: setattr(memory, "streaming", False)
                )
            finally:
                memory.stop.set()
                sampling.join()
            worker_cpu = cpu_of_processes(workers) - cpu_before[0]
            worker_own_cpu = cpu_of_processes(workers, children=False) - cpu_before[1]
            after = gpg_alone(home, fingerprints, marker, size, output)
        finally:
            watcher.stop.set()
            watching.join()
        stored = list((stack.data_dir / "files" / "stored").iterdir())
        return {
            "size": size,
            "status": status,
            "receipt": 'class="codename"' in body,
            "seconds": seconds,
            "baseline": [before, after],
            "worker_at_rest_kib": at_rest_kib,
            "worker_hwm_kib": max(status_kib(pid, "VmHWM") for pid in workers),
            "worker_peak_kib": memory.worker_peak_kib,
            "worker_streaming_peak_kib": memory.streaming_peak_kib,
            "gpg_peak_kib": memory.gpg_peak_kib,
            "memory_samples": memory.samples,
            "worker_cpu_seconds": worker_cpu,
            "worker_own_cpu_seconds": worker_own_cpu,
            "stored_bytes": [path.stat().st_size for path in stored],
            "incoming_left": len(list((stack.data_dir / "files" / "incoming").iterdir())),
            "plaintext_found": sorted(set(watcher.found)),
            "files_read": len(watcher.files_read),
            "bytes_read": watcher.bytes_read,
            "watch_passes": watcher.passes,
            "watch_cpu_seconds": watcher.cpu_seconds,
        }
    finally:
        stack.close()
        shutil.rmtree(stack.root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    result = run(args.size_mib)
    mib = result["size"] / MIB
    http_rate = mib / result["seconds"]
    gpg_seconds = sum(run["encrypt_seconds"] for run in result["baseline"]) / 2
    fsync_seconds = sum(run["fsync_seconds"] for run in result["baseline"]) / 2
    gpg_rate = mib / gpg_seconds
    durable_rate = mib / (gpg_seconds + fsync_seconds)
    print(f"{args.size_mib} MiB, desk of 3 reviewers, load average {os.getloadavg()[0]:.1f}")
    print(
        "baseline, gpg alone: "
        + ", ".join(f"{mib / run['encrypt_seconds']:.0f}" for run in result["baseline"])
        + f" MiB/s (before, after the upload); mean {gpg_rate:.0f} MiB/s, "
        f"{durable_rate:.0f} MiB/s counting the fsync ({fsync_seconds:.2f} s)"
    )
    print(
        f"upload: HTTP {result['status']}, receipt {result['receipt']}, "
        f"{result['seconds']:.1f} s, {http_rate:.0f} MiB/s = {http_rate / gpg_rate:.2f}x gpg alone "
        f"({http_rate / durable_rate:.2f}x with its fsync)"
    )
    gpg_cpu = sum(run["gpg_cpu_seconds"] for run in result["baseline"]) / 2
    print(
        f"CPU per GiB: web worker {result['worker_own_cpu_seconds'] / mib * 1024:.1f} s, its gpg "
        f"{(result['worker_cpu_seconds'] - result['worker_own_cpu_seconds']) / mib * 1024:.1f} s; "
        f"gpg alone {gpg_cpu / mib * 1024:.1f} s"
    )
    print(
        f"memory: web worker peak {result['worker_hwm_kib'] / 1024:.0f} MiB (VmHWM); sampled: "
        f"{result['worker_at_rest_kib'] / 1024:.0f} MiB before the upload, "
        f"{result['worker_streaming_peak_kib'] / 1024:.0f} MiB while the body arrived, "
        f"{result['worker_peak_kib'] / 1024:.0f} MiB until the answer; gpg "
        f"{result['gpg_peak_kib'] / 1024:.0f} MiB, {result['memory_samples']} samples"
    )
    print(
        f"plaintext on disk: {result['plaintext_found'] or 'none'} ({result['files_read']} new "
        f"or growing files, {result['bytes_read'] / MIB:.0f} MiB read in "
        f"{result['watch_passes']} passes, {result['watch_cpu_seconds']:.1f} s of CPU); "
        f"stored ciphertext {result['stored_bytes']} bytes, "
        f"{result['incoming_left']} left in incoming/"
    )


if __name__ == "__main__":
    main()
