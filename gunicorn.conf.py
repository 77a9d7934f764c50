"""gunicorn settings for both sites (pass with ``-c gunicorn.conf.py``).

No access log: a request line with its timing is exactly what a tip line must not keep. Threads
rather than sync workers, because a sync worker is killed by the timeout while it reads a large
upload over a slow Tor circuit; with threads the worker keeps reporting in while a request streams.
"""

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

# Not set: glibc's M_MMAP_THRESHOLD at 128 KiB would return each thread's Argon2 blocks (19 MiB,
# twice per tip) to the system when freed, keeping a worker near 73 MiB instead of up to 150
# MiB after tips on all its threads, but paging them in again cost 33 ms of CPU per tip (85 to
# 118 ms, bench/submit_throughput.py, 2026-11-26): see docs/benchmarks.md.
