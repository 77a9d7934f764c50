"""A flood of junk tips over HTTP, with genuine tips among them: are the genuine ones kept, routed
and at the top of the inbox?

Starts the public site and the back office (gunicorn), two Celery workers and beat on a private
Redis (the end-to-end stack, whose per-minute tip limits are lifted: this measures what gets
through when a flood is let in). A bot sends ``--junk`` tips as fast as 8 threads can: near-
duplicates of five junk texts (numbers and a word or two varied; the texts sent in unequal
shares, 5:4:3:2:1, so that a group's size says which text it is); ``--genuine`` tips are sent
among them, spread over the flood, as a person sends them, each a different text. Two bots:

- ``--bot honeypot`` fills every field it finds, the hidden honeypot included: every junk tip is
  marked as suspected spam, so the reviewer's inbox sorted by priority must show every genuine tip
  above every junk one.
- ``--bot smart`` fills only the fields a person sees, so its tips look genuine until read. One
  reviewer then clears the flood as *Spam groups* lets them (reviewers/spam_clusters.py), over
  HTTP: signs in, unlocks the key, clicks *Sort for spam* until nothing is left to sort (with
  ``--sort-batch`` tips a click, as TIPLINE_SPAM_SORT_BATCH), and closes as spam every group of
  at least ``--close-from`` tips. Then no genuine tip may be closed, and the open tips must list
  every genuine one; the junk left open (in no group, or a group too small) is counted.

Both bots fill the reward contact, which a person sending a tip leaves empty here: its envelope
is how the checks tell the junk from the genuine tips in the database (it is never sketched, so
it plays no part in the grouping).

Baseline, in the same run: the same kind of genuine tip sent before the flood, on a quiet site;
the report gives the genuine tips' submit time during the flood as a ratio to it. With the smart
bot, also the time of opening a tip (one decryption of its envelope, and the page), for the five
quiet tips opened after the flood; the report gives the sort's time per tip as a ratio to it.

    python bench/spam_flood.py [--bot honeypot|smart] [--junk 2000] [--genuine 20]
                               [--sort-batch 100] [--close-from 5]
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tipline.settings")

from tests.e2e.stack import REVIEWER_PASSPHRASE, Stack, csrf_token, wait_for  # noqa: E402

FORM = "/submit/demo/"

# What the bot sends: [a|b] picks one of the words, {n} is a number; the shares are 5:4:3:2:1.
JUNK_TEXTS = [
    "Dear valued customer, our online pharmacy now ships [cheap|discount|generic] pills to every "
    "country without a prescription. Order {n} boxes today and receive {n} extra tablets free of "
    "charge. Our licensed doctors approve every order within {n} minutes, and delivery is "
    "[fast|discreet|guaranteed] in plain packaging. Visit our store now and enter the code "
    "SAVE{n} at checkout to get your [special|exclusive] discount before the offer ends this "
    "[week|weekend].",
    "Make money from home with our automatic crypto trading robot. Members earned {n} dollars "
    "last month while they slept, with no experience needed. Start with only {n} dollars and "
    "watch your balance grow every [day|hour|morning]. Our [smart|advanced] algorithm never loses "
    "and withdrawals are [instant|free]. Join the {n} happy investors today, send a message to "
    "our manager on Telegram and ask for the [bonus|welcome] package.",
    "Are you in debt or need cash fast? We offer personal and business loans from {n} to {n} "
    "euros at only {n} percent interest, with no credit check and no hidden fees. Approval takes "
    "[minutes|seconds] and the money arrives in your account the same [day|afternoon]. Thousands "
    "of families have trusted our [company|agency] since {n}. Reply with your full name, phone "
    "number and the amount you need and our [agent|advisor] will call you back.",
    "Hello website owner, I noticed that your site is not on the first page of Google. Our team "
    "can bring you {n} new visitors a month with [proven|white hat] search engine optimisation "
    "and social media marketing. We have helped {n} companies grow their sales by {n} percent. "
    "Reply now for a [free|complimentary] audit of your website and our price list; our "
    "[packages|plans] start at {n} dollars a month, cancel any time.",
    "Congratulations! Your email address was selected in our international online lottery draw "
    "number {n} and you have won the sum of {n} pounds. To claim your [prize|winnings], contact "
    "our claims officer with your winning reference {n} and pay the small [processing|transfer] "
    "fee of {n} pounds. This notification is [confidential|private]: do not tell anyone until "
    "your money has been transferred to your account.",
]
JUNK_SHARES = [0] * 5 + [1] * 4 + [2] * 3 + [3] * 2 + [4]

# Genuine tips: each its own text, as people write them. The first six go before the flood (a
# warm-up and the quiet baseline), the rest among the flood.
GENUINE_TEXTS = [
    "I work in accounts payable at a regional hospital. Since January the purchasing manager has "
    "approved invoices from a cleaning contractor whose address is a private flat in the building "
    "where he lives. The invoices are always just under the amount that needs a second signature.",
    "The waste company on the industrial estate by the river pumps something yellow into the "
    "drain behind unit 4 late at night, usually on Tuesdays after eleven. The fish near the weir "
    "died last summer. I have photos with dates if someone can tell me how to send them safely.",
    "At the care home where my mother lived, staff were told to write in the logs that residents "
    "had been turned every two hours during night shifts, even when only one nurse was on duty "
    "for forty beds. Several of us complained to the owner and were moved to day shifts.",
    "A councillor on the planning committee voted to approve the new shopping centre on the old "
    "football ground. His brother-in-law's construction firm won the groundwork contract three "
    "weeks later without any tender being published.",
    "I drive for a parcel delivery subcontractor. We are paid per drop, but failed deliveries are "
    "logged as completed by the depot supervisor and customers are charged again for redelivery. "
    "Drivers who refuse to go along with it lose their rounds.",
    "My landlord owns about thirty flats in the old town and rents most of them to seasonal "
    "workers for cash. None of the flats has a working smoke alarm and two have gas boilers an "
    "engineer condemned in the spring. He tells tenants not to let inspectors in.",
    "The school where I teach reports higher attendance to the education authority than the real "
    "registers show. The deputy head asks us to mark absent pupils as educated off site so that "
    "the school avoids an inspection.",
    "Someone at the vehicle testing centre on Mill Road issues roadworthiness certificates for "
    "lorries that never came in for a test. A haulage company pays him in fuel cards. I saw "
    "certificates printed for trucks that were parked in Poland that week.",
    "Our police station's evidence room has lost track of seized cash at least twice this year. "
    "The sergeant in charge changed the counts in the ledger after the audit was announced. I am "
    "a civilian employee and afraid to raise it internally.",
    "The mining company upstream of our village has stored tailings in an unlined pond since the "
    "flood damaged the liner in March. Our well water has turned orange and smells of metal; the "
    "company's doctor told people it is harmless.",
    "I was an intern at a political consultancy that bought personal data from a mobile games "
    "developer to target voters. The data included precise locations of teenagers. The contract "
    "was signed by a shell company registered in Cyprus.",
    "Several taxi licences in this city are held by one family under the names of elderly "
    "relatives, some of whom have died. The licensing officer knows and receives a yearly "
    "payment to renew them without checks.",
    "At the meat packing plant, workers without papers are housed in shipping containers on the "
    "site and charged rent out of their wages. Supervisors keep their passports for safekeeping. "
    "Many of them come from the same village in Moldova.",
    "A pharmacist in our chain fills prescriptions for strong painkillers written by a doctor who "
    "retired last year. The same few patients come in every week and pay in cash. Head office "
    "noticed a stock discrepancy but closed the case quickly.",
    "My employer, a software firm, sells a parental control app that secretly uploads children's "
    "messages and photos to servers abroad for product improvement. Legal was told in a meeting "
    "and decided to update the privacy policy quietly instead of stopping it.",
    "The football club's youth academy charges families for trials that do not exist. Scouts "
    "visit schools, promise boys a place and collect several hundred euros for registration, then "
    "stop answering calls.",
    "I am a nurse in an emergency department. Management has started recording patients as "
    "admitted once they are on a trolley in the corridor, so that waiting-time targets are met. "
    "Some people wait more than twenty hours that way.",
    "A charity collecting donations for earthquake victims is run by a husband and wife who "
    "bought a holiday villa and two cars with the money. Only a small part of what they raise "
    "reaches anyone; I kept copies of the bank statements when I volunteered there.",
    "The customs broker at the port lets containers from one shipping line through without "
    "scanning when the paperwork carries a certain stamp. I think cigarettes are smuggled this "
    "way, and the stamp is sold by a clerk at the front desk.",
    "Our town's water utility skipped the lead testing required after the pipes were replaced on "
    "the east side. The results published on its website were copied from the year before; the "
    "lab never received any samples.",
    "A well known restaurant group pays kitchen staff below the minimum wage by recording half of "
    "their hours as training. I managed one of its kitchens for two years and kept the rota "
    "exports.",
    "The prison where I work as a guard has a wing where phones and drugs are delivered by drone "
    "almost every night. Two officers switch off the perimeter cameras at agreed times, and "
    "inmates pay them through relatives.",
    "An elderly neighbour signed over her house to a man who presented himself as a financial "
    "adviser from her bank. He now lives there and she is in a shelter. I believe he has done "
    "the same to at least two other widows around here.",
    "The university lab I work in reported trial results for a new diabetes drug after excluding "
    "patients who had side effects, without saying so in the paper. The professor told us the "
    "sponsor would stop funding if the numbers were worse.",
    "The bus company falsified brake inspection records for its older coaches to keep them on "
    "school routes. A mechanic who refused to sign was dismissed on a pretext. One coach lost its "
    "brakes on a hill in October; luckily nobody was hurt.",
    "Staff in a member of parliament's office are paid from public funds but actually work for "
    "his private wine business. I was one of them for eight months and spent my days on "
    "deliveries and the vineyard's social media accounts.",
    "The recycling plant near the airport accepts electronic waste declared as recycled, then "
    "exports it in bulk to a dump in West Africa labelled as second-hand goods. The trucks leave "
    "at night through the back gate.",
    "Our insurance company tells claims handlers to reject every flood claim first, whatever the "
    "policy says, because most customers never appeal. There is a weekly target for rejections "
    "and a bonus tied to it.",
    "The mayor's office signed an emergency contract for masks during the pandemic with a company "
    "created two days earlier. The masks never arrived, and the company's director is the "
    "mayor's former driver.",
    "At the stadium construction site, migrant workers have not been paid for four months and "
    "their visas were allowed to expire, so they cannot go to the police. Three of them were "
    "injured falling from scaffolding that had no rails.",
]
BEFORE_FLOOD = 6  # a warm-up, then the quiet baseline


def junk_text(number: int) -> str:
    """The bot's ``number``-th junk text: the same for a given number, whatever the thread."""
    chosen = random.Random(number)  # noqa: S311  (variety, not secrecy)
    template = JUNK_TEXTS[JUNK_SHARES[number % len(JUNK_SHARES)]]
    text = re.sub(r"\[([^]]+)\]", lambda m: chosen.choice(m.group(1).split("|")), template)
    return re.sub(r"\{n\}", lambda _m: str(chosen.randint(2, 99999)), text)


def shingles(text: str) -> set[str]:
    """Word 3-shingles, normalized as reviewers/similarity.py does for these (English) texts."""
    words = re.findall(r"\w+", re.sub(r"\d+", "0", text.casefold()))
    return {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}


def jaccard(a: str, b: str) -> float:
    first, second = shingles(a), shingles(b)
    return len(first & second) / len(first | second)


def text_similarity(junk: int, genuine: list[str]) -> dict:
    """How alike the texts sent are: pairs of junk of one text, and the closest other pairs."""
    same, other = [], []
    texts = [junk_text(n) for n in range(min(junk, 300))]
    for a, b in itertools.combinations(range(len(texts)), 2):
        alike = JUNK_SHARES[a % len(JUNK_SHARES)] == JUNK_SHARES[b % len(JUNK_SHARES)]
        (same if alike else other).append(jaccard(texts[a], texts[b]))
    other += [jaccard(a, b) for a in genuine for b in [*genuine, *texts[:30]] if a is not b]
    return {
        "same_min": min(same),
        "same_p50": statistics.median(same),
        "other_max": max(other),
    }


def send(stack: Stack, message: str, bot: str = "") -> tuple[bool, float]:
    """One tip, from a person (``bot`` empty) or a bot; returns whether it was acknowledged, and
    how long the POST took (seconds)."""
    session = requests.Session()
    page = session.get(stack.public_url(FORM), timeout=60)
    data = {"csrfmiddlewaretoken": csrf_token(page.text), "message": message}
    html = page.text
    if bot == "smart":
        # Only what a person sees: not the honeypot, which is hidden from them.
        html = re.sub(r'(?s)<div class="leave-empty" aria-hidden="true">.*?</div>', "", html)
    if bot:
        # A bot fills in every text input and textarea it finds (the reward contact among them).
        for name in re.findall(r'<(?:input type="text"|textarea)[^>]* name="([^"]+)"', html):
            data.setdefault(name, f"cheap pills {name}")
    started = time.perf_counter()
    response = session.post(stack.public_url(FORM), data=data, timeout=120)
    return response.status_code == 200 and 'class="codename"' in response.text, (
        time.perf_counter() - started
    )


def flood(stack: Stack, junk: int, genuine: int, bot: str) -> dict:
    """The warm-up, the quiet baseline, then the flood with the genuine tips spread over it."""
    send(stack, GENUINE_TEXTS[0])
    quiet = [send(stack, text)[1] for text in GENUINE_TEXTS[1:BEFORE_FLOOD]]
    results: dict[str, list] = {"junk": [], "genuine": []}
    lock = threading.Lock()

    def one(kind: str, n: int) -> None:
        if kind == "junk":
            outcome = send(stack, junk_text(n), bot)
        else:
            outcome = send(stack, GENUINE_TEXTS[BEFORE_FLOOD + n])
        with lock:
            results[kind].append(outcome)

    started = time.monotonic()
    every = max(1, junk // max(1, genuine))
    with ThreadPoolExecutor(max_workers=8) as pool:
        for n in range(junk):
            pool.submit(one, "junk", n)
            if n % every == every // 2 and n // every < genuine:
                pool.submit(one, "genuine", n // every)
    flood_seconds = time.monotonic() - started
    wait_for(
        lambda: stack.sql("SELECT count(*) FROM tipline_tip WHERE routed_at IS NULL") == [(0,)],
        300,
        "every tip routed",
        interval=1,
    )
    counts = dict(stack.sql("SELECT suspected_spam, count(*) FROM tipline_tip GROUP BY 1"))
    return {
        "junk_acknowledged": sum(ok for ok, _s in results["junk"]),
        "genuine_acknowledged": sum(ok for ok, _s in results["genuine"]),
        "stored_marked": counts.get(True, counts.get(1, 0)),
        "stored_unmarked": counts.get(False, counts.get(0, 0)),
        "flood_seconds": flood_seconds,
        "all_routed_seconds": time.monotonic() - started,
        "quiet_p50_ms": statistics.median(quiet) * 1000,
        "flood_p50_ms": statistics.median(seconds for _ok, seconds in results["genuine"]) * 1000,
    }


def inbox_order(stack: Stack, reviewer: requests.Session, query: str) -> list[int]:
    """Tip ids as the inbox lists them with ``query``, every page followed."""
    shown: list[int] = []
    url = stack.backoffice_url(f"/?{query}")
    while url:
        html = reviewer.get(url, timeout=60).text
        shown += [int(n) for n in re.findall(r'href="/tips/(\d+)/"', html)]
        following = re.search(r'<a rel="next" href="\?([^"]+)"', html)
        url = following and stack.backoffice_url("/?" + following.group(1).replace("&amp;", "&"))
    return shown


def unlock_key(stack: Stack, reviewer: requests.Session) -> None:
    page = reviewer.get(stack.backoffice_url("/key/unlock/"), timeout=30)
    unlocked = reviewer.post(
        page.url,
        data={
            "csrfmiddlewaretoken": csrf_token(page.text),
            "passphrase": REVIEWER_PASSPHRASE,
            "next": "/spam/groups/",
        },
        timeout=60,
    )
    assert unlocked.url.endswith("/spam/groups/"), unlocked.text


def flash(html: str) -> str:
    found = re.search(r'<ul class="flash" role="status"><li>(.*?)</li>', html, flags=re.S)
    return found.group(1) if found else ""


def sort_everything(stack: Stack, reviewer: requests.Session) -> list[tuple[float, int]]:
    """Clicks *Sort for spam* until nothing is left to sort; (seconds, tips sorted) per click."""
    clicks = []
    page = reviewer.get(stack.backoffice_url("/spam/groups/"), timeout=60).text
    while left := int(re.search(r"<strong>(\d+) open tips?</strong>", page).group(1)):
        started = time.perf_counter()
        response = reviewer.post(
            stack.backoffice_url("/spam/sort/"),
            data={"csrfmiddlewaretoken": csrf_token(page)},
            allow_redirects=False,
            timeout=600,
        )
        seconds = time.perf_counter() - started
        assert response.headers.get("Location") == "/spam/groups/", response.status_code
        page = reviewer.get(stack.backoffice_url("/spam/groups/"), timeout=60).text
        done = re.search(r"Sorted (\d+) tips; (\d+) left", flash(page))
        if done is None or int(done.group(1)) == 0:
            raise RuntimeError(f"a click sorted nothing with {left} left: {flash(page)!r}")
        clicks.append((seconds, int(done.group(1))))
    return clicks


GROUP_ROW = re.compile(
    r'<tr>\s*<td>(\d+)</td>.*?name="tip" value="(\d+)">'
    r'<input type="hidden" name="group" value="([0-9a-f]+)">',
    flags=re.S,
)


def close_groups(
    stack: Stack, reviewer: requests.Session, smallest: int
) -> tuple[list[int], list[int], float]:
    """Closes as spam every group of at least ``smallest`` tips, through each group's form;
    returns the sizes of the groups shown first, of those closed, and the seconds closing took."""
    url = stack.backoffice_url("/spam/groups/")
    page = reviewer.get(url, timeout=60).text
    shown = [int(size) for size, _tip, _token in GROUP_ROW.findall(page)]
    closed, seconds = [], 0.0
    while wanted := [g for g in GROUP_ROW.findall(page) if int(g[0]) >= smallest]:
        size, tip, token = wanted[0]
        started = time.perf_counter()
        response = reviewer.post(
            stack.backoffice_url("/spam/groups/close/"),
            data={"csrfmiddlewaretoken": csrf_token(page), "tip": tip, "group": token},
            allow_redirects=False,
            timeout=600,
        )
        seconds += time.perf_counter() - started
        assert response.headers.get("Location") == "/spam/groups/", response.status_code
        page = reviewer.get(url, timeout=60).text
        done = re.search(r"Closed as spam: (\d+) tips", flash(page))
        if done is None or int(done.group(1)) != int(size):
            raise RuntimeError(f"closing a group of {size} said {flash(page)!r}")
        closed.append(int(size))
    return shown, closed, seconds


def clear_with_spam_groups(stack: Stack, sort_batch: int, close_from: int) -> dict:
    """One reviewer clears the flood through *Spam groups*; the checks that follow."""
    reviewer = stack.reviewer_session()
    unlock_key(stack, reviewer)
    rows = stack.sql("SELECT id FROM tipline_tip WHERE reward_envelope IS NULL")
    genuine_ids = {tip_id for (tip_id,) in rows}
    before = inbox_order(stack, reviewer, "view=new&sort=-priority")
    # Baseline: opening a tip, one decryption of its envelope and the page: the five quiet
    # genuine tips (a junk tip's page decrypts its reward contact too). Opening sketches a tip as
    # sorting does, so the sort skips them; it changes neither their status nor their rank.
    opening = []
    for tip_id in sorted(genuine_ids)[1:BEFORE_FLOOD]:
        started = time.perf_counter()
        page = reviewer.get(stack.backoffice_url(f"/tips/{tip_id}/"), timeout=60)
        opening.append(time.perf_counter() - started)
        assert page.status_code == 200 and page.url.endswith(f"/tips/{tip_id}/"), page.url
    clicks = sort_everything(stack, reviewer)
    shown, closed, close_seconds = close_groups(stack, reviewer, close_from)
    after = inbox_order(stack, reviewer, "view=new&sort=-priority")
    statuses = stack.sql(
        "SELECT reward_envelope IS NULL, status = 'closed', count(*) FROM tipline_tip GROUP BY 1, 2"
    )
    count = {(bool(genuine), bool(shut)): n for genuine, shut, n in statuses}
    # Any genuine tip that shares a band digest with another tip: grouped with it.
    grouped_genuine = stack.sql(
        "SELECT count(DISTINCT a.tip_id) FROM reviewers_similarityband a"
        " JOIN reviewers_similarityband b ON a.digest = b.digest AND a.tip_id <> b.tip_id"
        " JOIN tipline_tip t ON t.id = a.tip_id WHERE t.reward_envelope IS NULL"
    )[0][0]
    ranks = sorted(after.index(n) + 1 for n in genuine_ids if n in after)
    ranks_before = sorted(before.index(n) + 1 for n in genuine_ids if n in before)
    sort_seconds = sum(seconds for seconds, _n in clicks)
    sorted_tips = sum(n for _s, n in clicks)
    return {
        "sort_batch": sort_batch,
        "close_from": close_from,
        "genuine_stored": len(genuine_ids),
        "opening_p50_ms": statistics.median(opening) * 1000,
        "clicks": len(clicks),
        "sorted": sorted_tips,
        "sort_seconds": sort_seconds,
        "sort_per_tip_ms": sort_seconds / sorted_tips * 1000,
        "slowest_click_seconds": max(seconds for seconds, _n in clicks),
        "groups_shown": shown,
        "groups_closed": closed,
        "close_seconds": close_seconds,
        "junk_open": count.get((False, False), 0),
        "junk_closed": count.get((False, True), 0),
        "genuine_open": count.get((True, False), 0),
        "genuine_closed": count.get((True, True), 0),
        "genuine_grouped": grouped_genuine,
        "genuine_listed_open": len(ranks),
        "open_listed": len(after),
        "ranks_after": ranks,
        "ranks_before": ranks_before,
        "listed_before": len(before),
    }


def run(junk: int, genuine: int, bot: str, sort_batch: int, close_from: int) -> dict:
    if genuine > len(GENUINE_TEXTS) - BEFORE_FLOOD:
        raise SystemExit(f"--genuine: at most {len(GENUINE_TEXTS) - BEFORE_FLOOD} distinct texts")
    stack = Stack(Path(tempfile.mkdtemp(prefix="b", dir="/tmp")))
    stack.env["TIPLINE_SPAM_SORT_BATCH"] = str(sort_batch)
    try:
        stack.start_redis()
        stack.provision()
        stack.manage("rewardofficer", "alice")  # so the form has every field a real one has
        stack.start_sites()
        stack.start_worker("worker-a", concurrency=2)
        stack.start_worker("worker-b", concurrency=2)
        stack.start_beat()
        report = {
            "database": "PostgreSQL" if stack.database_url.startswith("postgres") else "SQLite",
            "bot": bot,
            "junk_sent": junk,
            "genuine_sent": genuine,
            **text_similarity(junk, GENUINE_TEXTS),
            **flood(stack, junk, genuine, bot),
        }
        if bot == "smart":
            report.update(clear_with_spam_groups(stack, sort_batch, close_from))
        else:
            # Every tip not marked as suspected spam: the genuine ones, warm-up and quiet included.
            rows = stack.sql("SELECT id FROM tipline_tip WHERE suspected_spam = false")
            genuine_ids = {tip_id for (tip_id,) in rows}
            reviewer = stack.reviewer_session()
            inbox = reviewer.get(stack.backoffice_url("/?sort=-priority"), timeout=60).text
            shown = [int(n) for n in re.findall(r'href="/tips/(\d+)/"', inbox)]
            report["genuine_on_top"] = set(shown[: len(genuine_ids)]) == genuine_ids
        return report
    finally:
        stack.close()
        shutil.rmtree(stack.root, ignore_errors=True)


def span(ranks: list[int]) -> str:
    return f"{ranks[0]}..{ranks[-1]}" if ranks else "none"


def print_report(r: dict) -> None:
    print(
        f"| {r['database']} | {r['bot']} "
        f"| {r['junk_acknowledged']}/{r['junk_sent']} junk in "
        f"{r['flood_seconds']:.0f} s ({r['junk_sent'] / r['flood_seconds']:.1f}/s) "
        f"| {r['genuine_acknowledged']}/{r['genuine_sent']} genuine "
        f"| stored: {r['stored_marked']} marked, {r['stored_unmarked']} not "
        f"| all routed after {r['all_routed_seconds']:.0f} s "
        f"| genuine submit p50 {r['flood_p50_ms']:.0f} ms vs {r['quiet_p50_ms']:.0f} ms quiet "
        f"({r['flood_p50_ms'] / r['quiet_p50_ms']:.1f}x) |"
    )
    print(
        f"Texts (Jaccard of word 3-shingles): junk of one text min {r['same_min']:.2f}, "
        f"p50 {r['same_p50']:.2f}; any other pair at most {r['other_max']:.2f}."
    )
    if r["bot"] != "smart":
        print(f"Genuine on top: {'yes' if r['genuine_on_top'] else 'NO'}.")
        return
    print(
        f"Before sorting, the {r['genuine_stored']} genuine tips ranked "
        f"{span(r['ranks_before'])} of {r['listed_before']} new tips "
        f"(median {statistics.median(r['ranks_before'] or [0]):.0f})."
    )
    print(
        f"| sort: {r['sorted']} tips in {r['clicks']} clicks of {r['sort_batch']} "
        f"| {r['sort_seconds']:.0f} s ({r['sort_per_tip_ms']:.0f} ms a tip; slowest click "
        f"{r['slowest_click_seconds']:.0f} s) "
        f"| opening a tip p50 {r['opening_p50_ms']:.0f} ms "
        f"({r['sort_per_tip_ms'] / r['opening_p50_ms']:.2f}x per tip sorted) "
        f"| groups {r['groups_shown']} "
        f"| closed {len(r['groups_closed'])} of >= {r['close_from']} "
        f"({sum(r['groups_closed'])} tips, {r['close_seconds']:.0f} s) "
        f"| junk left open {r['junk_open']} "
        f"| genuine closed {r['genuine_closed']}, grouped {r['genuine_grouped']} "
        f"| open inbox lists {r['genuine_listed_open']}/{r['genuine_stored']} genuine, "
        f"ranks {span(r['ranks_after'])} of {r['open_listed']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bot", choices=["honeypot", "smart"], default="honeypot")
    parser.add_argument("--junk", type=int, default=2000)
    parser.add_argument("--genuine", type=int, default=20)
    parser.add_argument("--sort-batch", type=int, default=100, help="TIPLINE_SPAM_SORT_BATCH")
    parser.add_argument("--close-from", type=int, default=5, help="smallest group closed")
    args = parser.parse_args()
    print_report(run(args.junk, args.genuine, args.bot, args.sort_batch, args.close_from))


if __name__ == "__main__":
    main()
