"""What proof of work costs a tipster's browser, and what it costs a bot.

For each difficulty, chromium (Debian's, through Playwright, JavaScript on) loads a page with the
questionnaire's form and the site's own script (static/js/work.js), and the time until the script
has put its number in the form's address is measured. Baseline, in the same run: the reference
solver (``tipline.proof_of_work.solve``, plain Python ``hashlib`` on one core, what the cheapest
bot would run) on the same tickets. The report gives each median and the browser's time as a
ratio to the bot's.

    python bench/proof_of_work.py [--bits 14 16 18 20] [--repeat 8]
"""

from __future__ import annotations

import argparse
import http.server
import os
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tipline.settings")
CHROMIUM = "/usr/lib/chromium/chromium"
SCRIPT = (ROOT / "static" / "js" / "work.js").read_bytes()


def page(ticket: str, bits: int) -> bytes:
    return (
        f'<!doctype html><html><body><form method="post" action="/submit/x/?ticket={ticket}" '
        f'data-work-bits="{bits}"><button>Send</button></form>'
        '<script src="/work.js" defer></script></body></html>'
    ).encode()


class Pages(http.server.BaseHTTPRequestHandler):
    pages: dict[str, bytes] = {}

    def do_GET(self):
        body, kind = (
            (SCRIPT, "text/javascript")
            if self.path == "/work.js"
            else (self.pages.get(self.path, b""), "text/html")
        )
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def bot_seconds(ticket: str, bits: int) -> float:
    """The reference solver, timed; it reads the difficulty from a signed ticket, so the
    search is done here the same way on an unsigned one."""
    import hashlib
    from itertools import count

    started = time.perf_counter()
    for n in count():
        digest = hashlib.sha256(f"{ticket}:{n}".encode()).digest()
        if 256 - int.from_bytes(digest, "big").bit_length() >= bits:
            return time.perf_counter() - started
    raise AssertionError("unreachable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, nargs="+", default=[14, 16, 18, 20])
    parser.add_argument("--repeat", type=int, default=8)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        for bits in args.bits:
            browser_times, bot_times = [], []
            for _ in range(args.repeat):
                ticket = f"{secrets.token_hex(16)}.{bits}.{int(time.time())}:bench"
                path = f"/{secrets.token_hex(8)}"
                Pages.pages[path] = page(ticket, bits)
                context = browser.new_context()
                tab = context.new_page()
                started = time.perf_counter()
                tab.goto(base + path)
                tab.wait_for_function(
                    "() => document.forms[0].getAttribute('action').includes('work=')",
                    timeout=600_000,
                    polling=10,
                )
                browser_times.append(time.perf_counter() - started)
                context.close()
                bot_times.append(bot_seconds(ticket, bits))
            browser_median = statistics.median(browser_times)
            bot_median = statistics.median(bot_times)
            rows.append((bits, browser_median, max(browser_times), bot_median))
        browser.close()
    server.shutdown()
    print(f"{os.cpu_count()} cores, {args.repeat} tickets per difficulty")
    print("| Bits | Browser (chromium) p50 | max | Bot (Python hashlib) p50 | Browser / bot |")
    print("| --- | --- | --- | --- | --- |")
    for bits, browser_median, browser_max, bot_median in rows:
        print(
            f"| {bits} | {browser_median * 1000:,.0f} ms | {browser_max * 1000:,.0f} ms "
            f"| {bot_median * 1000:,.0f} ms | {browser_median / bot_median:.1f}x |"
        )


if __name__ == "__main__":
    main()
