"""gunicorn settings for both sites (pass with ``-c gunicorn.conf.py``).

No access log: a request line with its timing is exactly what a tip line must not keep. Threads
rather than sync workers, because a sync worker is killed by the timeout while it reads a large
upload over a slow Tor circuit; with threads the worker keeps reporting in while a request streams.
"""

import contextlib
import ctypes
import os

accesslog = None
errorlog = "-"
loglevel = os.environ.get("TIPLINE_GUNICORN_LOG_LEVEL", "info")
worker_class = "gthread"
workers = int(os.environ.get("TIPLINE_WEB_WORKERS", "2"))
threads = int(os.environ.get("TIPLINE_WEB_THREADS", "4"))
timeout = 60
graceful_timeout = 30
control_socket_disable = True
# Request heads stay small; the body limit is enforced by the application.
limit_request_line = 8190
limit_request_fields = 60
limit_request_field_size = 8190
# Never trust a forwarded client address, and never record one.
forwarded_allow_ips = ""
proxy_allow_ips = ""

# glibc keeps what each thread's Argon2 run (19 MiB, twice per tip) allocated after it is freed:
# a web worker grew from 66 to 150 MiB after 100 tips. Allocations over 128 KiB get mappings of
# their own, returned to the system when freed (the derived key material with them). Set in
# the master, so every forked worker inherits it.
M_MMAP_THRESHOLD = -3
with contextlib.suppress(OSError):  # not glibc: its allocator decides
    ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, 128 * 1024)
