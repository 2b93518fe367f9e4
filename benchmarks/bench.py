#!/usr/bin/env python3
"""CalDAV/CardDAV benchmark: calcard (SQLite or PostgreSQL) against stock Radicale.

Starts each server as a subprocess on a free loopback port, loads a calendar of N
generated events (80% single events over ~2 years, 15% weekly recurring, 5% with a
VALARM) and times the usual client operations over HTTP with one keep-alive client.
Run it with the project's venv:  .venv/bin/python benchmarks/bench.py --help
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = HERE / ".cache"
LOGIN = "bench"
PASSWORD = "bench-password-1"
ORG = "bench"
CALENDAR = f"/{LOGIN}/calendar/"
CONTACTS = f"/{LOGIN}/contacts/"
PUTRATE = f"/{LOGIN}/putrate/"
SCRATCH_BOOK = f"/{LOGIN}/putrate-contacts/"
GENERATOR_VERSION = 3  # bump when the generated data changes (invalidates the cache)
STAGE = 500  # events per PUT stage
CHANGES = 10  # modified events before an incremental sync
MULTIGET = 100

# Events spread over ten years back and ten ahead (a long-lived organization's
# calendar), and queries at several dates: a range's date must not decide the speed.
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
EPOCH = TODAY.replace(year=TODAY.year - 10, month=1, day=1)
SPAN_DAYS = 20 * 365


def _week_of(day: datetime) -> tuple[str, str]:
    monday = day - timedelta(days=day.weekday())
    return _utc(monday), _utc(monday + timedelta(days=7))


def _utc(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%SZ")


def _dst_week() -> tuple[str, str]:
    """The week of this year's last Sunday of October (Europe's change back from DST)."""
    last = TODAY.replace(month=10, day=31)
    return _week_of(last - timedelta(days=(last.weekday() + 1) % 7))


_MONTH = TODAY.replace(day=1)
_NEXT_MONTH = (_MONTH + timedelta(days=32)).replace(day=1)
WEEK = _week_of(TODAY)
MONTH = (_utc(_MONTH), _utc(_NEXT_MONTH))
PAST_WEEK = _week_of(TODAY - timedelta(days=3 * 365))
AHEAD_WEEK = _week_of(TODAY + timedelta(days=548))
DST_WEEK = _dst_week()
DECADE = (_utc(TODAY - timedelta(days=5 * 365)), _utc(TODAY + timedelta(days=5 * 365)))

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CARDDAV = "urn:ietf:params:xml:ns:carddav"

CALENDAR_PROPS = {
    "tag": "VCALENDAR",
    "D:displayname": "Calendar",
    "C:supported-calendar-component-set": "VEVENT,VTODO,VJOURNAL",
}
CONTACTS_PROPS = {"tag": "VADDRESSBOOK", "D:displayname": "Contacts"}

VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Paris
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""

WORDS = (
    "budget review standup lunch client call design sync retro planning demo "
    "dentist training workshop interview offsite board report roadmap coffee"
).split()
FIRST = "Alice Bruno Chloe David Emma Farid Gina Hugo Ines Jules Karim Lea Marc Nina".split()
LAST = "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon".split()


class BenchError(RuntimeError):
    pass


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- data


def _ical(lines: list[str]) -> str:
    return "\r\n".join(line for chunk in lines for line in chunk.splitlines()) + "\r\n"


def event_uid(i: int) -> str:
    return f"bench-event-{i:06d}"


def event_href(i: int) -> str:
    return f"{event_uid(i)}.ics"


def make_event(i: int, version: int = 0) -> str:
    """Event number ``i`` (deterministic); ``version`` > 0 gives a modified copy.

    Of every 20: 13 single events (UTC, a zone, all-day, floating), one with a
    VALARM, and six recurring ones using what clients write: weekly BYDAY with a
    COUNT and EXDATEs, weekly UNTIL with an RDATE, weekly without end, monthly
    BYDAY with a moved occurrence, yearly all-day without end, daily floating.
    """
    rnd = random.Random(i * 7919 + GENERATOR_VERSION)
    kind = i % 20
    summary = " ".join(rnd.choice(WORDS) for _ in range(3)).capitalize()
    if version:
        summary += f" (rev {version})"
    day = EPOCH + timedelta(days=rnd.randrange(SPAN_DAYS))
    start = day.replace(hour=rnd.randrange(7, 19), minute=rnd.choice((0, 15, 30, 45)))
    end = start + timedelta(minutes=rnd.choice((15, 30, 60, 90, 120)))
    local, local_end = (v.strftime("%Y%m%dT%H%M%S") for v in (start, end))
    body = [
        "BEGIN:VEVENT",
        f"UID:{event_uid(i)}",
        "DTSTAMP:20240101T000000Z",
        f"SUMMARY:{summary}",
        f"LOCATION:Room {rnd.randrange(1, 40)}",
        f"DESCRIPTION:Generated event {i} for the calcard benchmark.",
        f"SEQUENCE:{version}",
    ]
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//calcard//bench//EN"]
    zoned = [f"DTSTART;TZID=Europe/Paris:{local}", f"DTEND;TZID=Europe/Paris:{local_end}"]
    all_day = [f"DTSTART;VALUE=DATE:{day:%Y%m%d}", f"DTEND;VALUE=DATE:{day + timedelta(1):%Y%m%d}"]
    extra: list[str] = []
    if kind in (10, 14, 15, 16, 17):
        head.append(VTIMEZONE)
    if kind == 10:
        body += zoned
    elif kind == 11:
        body += all_day
    elif kind == 12:
        body += [f"DTSTART:{local}", f"DTEND:{local_end}"]
    elif kind == 14:
        skip = [(start + timedelta(weeks=w)).strftime("%Y%m%dT%H%M%S") for w in (1, 3)]
        body += zoned + [
            f"RRULE:FREQ=WEEKLY;BYDAY={_BYDAY[start.weekday()]},FR;COUNT={rnd.randrange(8, 60)}",
            f"EXDATE;TZID=Europe/Paris:{','.join(skip)}",
        ]
    elif kind == 15:
        until = start + timedelta(weeks=rnd.randrange(4, 80))
        body += zoned + [
            f"RRULE:FREQ=WEEKLY;UNTIL={_utc(until)}",
            f"RDATE;TZID=Europe/Paris:{(start + timedelta(days=2)).strftime('%Y%m%dT%H%M%S')}",
        ]
    elif kind == 16:
        body += zoned + [
            "RRULE:FREQ=WEEKLY",
            f"EXDATE;TZID=Europe/Paris:{(start + timedelta(weeks=2)).strftime('%Y%m%dT%H%M%S')}",
        ]
    elif kind == 17:
        nth = min((start.day - 1) // 7 + 1, 4)
        body += zoned + [f"RRULE:FREQ=MONTHLY;BYDAY={nth}{_BYDAY[start.weekday()]};COUNT=24"]
        extra = _override(body[:7], start, start + timedelta(days=1, hours=2))  # the first moved
    elif kind == 18:
        body += [*all_day, "RRULE:FREQ=YEARLY"]
    elif kind == 19:
        body += [f"DTSTART:{local}", f"DTEND:{local_end}", "RRULE:FREQ=DAILY;COUNT=10"]
    else:
        body += [f"DTSTART:{_utc(start)}", f"DTEND:{_utc(end)}"]
        if kind == 13:
            body += [
                "BEGIN:VALARM",
                "ACTION:DISPLAY",
                "DESCRIPTION:Reminder",
                "TRIGGER:-PT15M",
                "END:VALARM",
            ]
    return _ical(head + body + ["END:VEVENT"] + extra + ["END:VCALENDAR"])


_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _override(head: list[str], recurrence_id: datetime, moved_to: datetime) -> list[str]:
    """A VEVENT that moves one occurrence of a series (RECURRENCE-ID) to another time."""
    local = recurrence_id.strftime("%Y%m%dT%H%M%S")
    start = moved_to.strftime("%Y%m%dT%H%M%S")
    end = (moved_to + timedelta(hours=1)).strftime("%Y%m%dT%H%M%S")
    return [
        *head,
        f"RECURRENCE-ID;TZID=Europe/Paris:{local}",
        f"DTSTART;TZID=Europe/Paris:{start}",
        f"DTEND;TZID=Europe/Paris:{end}",
        "END:VEVENT",
    ]


def contact_uid(i: int) -> str:
    return f"bench-contact-{i:06d}"


def contact_href(i: int) -> str:
    return f"{contact_uid(i)}.vcf"


def make_contact(i: int, version: int = 0) -> str:
    rnd = random.Random(i * 104729 + GENERATOR_VERSION)
    first, last = rnd.choice(FIRST), rnd.choice(LAST)
    note = f"NOTE:revision {version}" if version else "NOTE:generated"
    return _ical(
        [
            "BEGIN:VCARD",
            "VERSION:3.0",
            f"UID:{contact_uid(i)}",
            f"FN:{first} {last} {i}",
            f"N:{last};{first};;;",
            f"EMAIL;TYPE=INTERNET:{first.lower()}.{last.lower()}{i}@example.com",
            f"TEL;TYPE=CELL:+33 6 {rnd.randrange(10**7, 10**8)}",
            f"ORG:Company {rnd.randrange(50)}",
            note,
            "END:VCARD",
        ]
    )


@dataclass(frozen=True)
class Kind:
    """Calendar or address book: how to make, name and query its items."""

    name: str
    path: str
    make: Callable[[int, int], str]
    href: Callable[[int], str]
    content_type: str
    props: dict[str, str]
    marker: str  # counts items in a GET of the whole collection


EVENTS = Kind(
    "calendar", CALENDAR, make_event, event_href, "text/calendar", CALENDAR_PROPS, "UID:bench-event"
)
CARDS = Kind(
    "contacts", CONTACTS, make_contact, contact_href, "text/vcard", CONTACTS_PROPS, "BEGIN:VCARD"
)


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def venv_tool(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise BenchError(f"cannot find the {name!r} command; run with the project's venv python")
    return found


class Server:
    """A server subprocess in its own session, stopped by its process group id."""

    running: list[Server] = []

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], port: int, log_path: Path):
        self.name = name
        self.env = env
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        Server.running.append(self)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited at start:\n{self.tail()}")
            try:
                httpx.request("OPTIONS", self.base + "/", timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise BenchError(f"{self.name} did not answer within {timeout:.0f}s:\n{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def pids(self) -> list[int]:
        """The server process and all its descendants."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def memory_mb(self) -> tuple[float, float]:
        """(sum of VmRSS, sum of VmHWM) over the process tree, in MiB."""
        rss = hwm = 0
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm += int(line.split()[1])
        return rss / 1024, hwm / 1024

    def stop(self) -> None:
        if self in Server.running:
            Server.running.remove(self)
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self._log.close()


# --------------------------------------------------------------------------- DAV client


def _xml(body: str) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode()


PROPFIND_BODY = _xml(
    '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getcontenttype/>'
    "<D:resourcetype/></D:prop></D:propfind>"
)


def query_body(start: str, end: str, props: str = "<D:getetag/><C:calendar-data/>") -> bytes:
    return _xml(
        f'<C:calendar-query xmlns:D="DAV:" xmlns:C="{CALDAV}">'
        f"<D:prop>{props}</D:prop>"
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{start}" end="{end}"/>'
        "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    )


def etag_query_body(start: str, end: str) -> bytes:
    """What a client syncing a wide range asks first: the ETags, not the data."""
    return query_body(start, end, "<D:getetag/>")


def freebusy_body(start: str, end: str) -> bytes:
    return _xml(
        f'<C:free-busy-query xmlns:C="{CALDAV}">'
        f'<C:time-range start="{start}" end="{end}"/></C:free-busy-query>'
    )


def multiget_body(kind: Kind, hrefs: list[str]) -> bytes:
    if kind is EVENTS:
        root, ns, data = "C:calendar-multiget", CALDAV, "C:calendar-data"
    else:
        root, ns, data = "C:addressbook-multiget", CARDDAV, "C:address-data"
    refs = "".join(f"<D:href>{kind.path}{h}</D:href>" for h in hrefs)
    return _xml(
        f'<{root} xmlns:D="DAV:" xmlns:C="{ns}"><D:prop><D:getetag/><{data}/></D:prop>'
        f"{refs}</{root}>"
    )


def sync_body(token: str) -> bytes:
    return _xml(
        '<D:sync-collection xmlns:D="DAV:">'
        f"<D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>"
        "<D:prop><D:getetag/></D:prop></D:sync-collection>"
    )


def mkcalendar_body() -> bytes:
    return _xml(
        f'<C:mkcalendar xmlns:D="DAV:" xmlns:C="{CALDAV}"><D:set><D:prop>'
        "<D:displayname>PUT rate</D:displayname></D:prop></D:set></C:mkcalendar>"
    )


def responses(text: str) -> list[ET.Element]:
    return ET.fromstring(text).findall(f"{{{DAV}}}response")


def response_count(response: httpx.Response) -> int:
    return len(responses(response.text))


def propfind_count(response: httpx.Response) -> int:
    return response_count(response) - 1  # the collection itself


def data_count(response: httpx.Response) -> int:
    return count_with_data(response.text)


def marker_count(kind: Kind) -> Callable[[httpx.Response], int]:
    return lambda response: response.text.count(kind.marker)


def propfind_request(client: Client, path: str) -> Callable[[], httpx.Response]:
    return lambda: client.request("PROPFIND", path, PROPFIND_BODY, {"Depth": "1"}, ok=(207,))


def get_request(client: Client, path: str) -> Callable[[], httpx.Response]:
    return lambda: client.request("GET", path, ok=(200,))


def count_with_data(text: str) -> int:
    """Responses that carry calendar or address data (multiget hits)."""
    hits = 0
    for response in responses(text):
        for tag in (f"{{{CALDAV}}}calendar-data", f"{{{CARDDAV}}}address-data"):
            node = response.find(f".//{tag}")
            if node is not None and (node.text or "").strip():
                hits += 1
    return hits


class Client:
    def __init__(self, base: str):
        self.http = httpx.Client(
            base_url=base, auth=(LOGIN, PASSWORD), timeout=httpx.Timeout(900.0)
        )

    def close(self) -> None:
        self.http.close()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201, 204, 207),
    ) -> httpx.Response:
        response = self.http.request(method, path, content=body, headers=headers)
        if response.status_code not in ok:
            raise BenchError(f"{method} {path}: HTTP {response.status_code}: {response.text[:500]}")
        return response

    def put(self, kind: Kind, i: int, version: int = 0) -> float:
        headers = {"Content-Type": f"{kind.content_type}; charset=utf-8"}
        if not version:
            headers["If-None-Match"] = "*"
        body = kind.make(i, version).encode()
        started = time.perf_counter()
        self.request("PUT", kind.path + kind.href(i), body, headers, ok=(201, 204))
        return time.perf_counter() - started

    def report(self, path: str, body: bytes, depth: str = "1") -> httpx.Response:
        headers = {"Depth": depth, "Content-Type": "application/xml; charset=utf-8"}
        return self.request("REPORT", path, body, headers, ok=(207, 200))

    def sync_request(self, path: str, token: str) -> httpx.Response:
        return self.report(path, sync_body(token), depth="0")

    def sync(self, path: str, token: str) -> tuple[str, int]:
        return sync_result(self.sync_request(path, token))


def sync_result(response: httpx.Response) -> tuple[str, int]:
    """(new token, number of responses) of a sync-collection answer."""
    root = ET.fromstring(response.text)
    return root.findtext(f"{{{DAV}}}sync-token") or "", len(root.findall(f"{{{DAV}}}response"))


# --------------------------------------------------------------------------- results

ROWS = [
    ("put_first", "PUT first stage (ev/s)", "rate"),
    ("put_mid", "PUT middle stage (ev/s)", "rate"),
    ("put_last", "PUT last stage (ev/s)", "rate"),
    ("propfind", "PROPFIND depth 1 (ms)", "ms"),
    ("query_past", "calendar-query week 3 years ago (ms)", "ms"),
    ("query_week", "calendar-query this week (ms)", "ms"),
    ("query_dst", "calendar-query DST week (ms)", "ms"),
    ("query_ahead", "calendar-query week 18 months ahead (ms)", "ms"),
    ("query_month", "calendar-query this month (ms)", "ms"),
    ("query_decade_first", "calendar-query ten years, first, etags (ms)", "ms"),
    ("index_catchup", "index caught up after it (s)", "s"),
    ("query_decade", "calendar-query ten years, etags (ms)", "ms"),
    ("freebusy_past", "free-busy-query week 3 years ago (ms)", "ms"),
    ("freebusy", "free-busy-query this week (ms)", "ms"),
    ("freebusy_ahead", "free-busy-query week 18 months ahead (ms)", "ms"),
    ("multiget", f"calendar-multiget {MULTIGET} (ms)", "ms"),
    ("sync_initial", "sync-collection initial (ms)", "ms"),
    ("sync_incr", f"sync-collection after {CHANGES} (ms)", "ms"),
    ("get_all", "GET whole calendar (ms)", "ms"),
    ("rss", "server RSS after ops (MiB)", "mb"),
    ("hwm", "server peak RSS (MiB)", "mb"),
]

CONTACT_ROWS = [
    ("put_first", "PUT first stage (cards/s)", "rate"),
    ("put_last", "PUT last stage (cards/s)", "rate"),
    ("put_all", "PUT all, average (cards/s)", "rate"),
    ("propfind", "PROPFIND depth 1 (ms)", "ms"),
    ("sync_initial", "sync-collection initial (ms)", "ms"),
    ("sync_incr", f"sync-collection after {CHANGES} (ms)", "ms"),
    ("multiget", f"addressbook-multiget {MULTIGET} (ms)", "ms"),
    ("get_all", "GET whole address book (ms)", "ms"),
]


@dataclass
class Column:
    server: str  # "calcard" or "radicale"
    size: int
    values: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.server}-{human(self.size)}"


def human(n: int) -> str:
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("rate", "mb"):
        return f"{value:.0f}" if value >= 10 else f"{value:.1f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def ratio(radicale: float | None, calcard: float | None, unit: str) -> str:
    """Radicale's cost over calcard's (>1: calcard is faster / smaller)."""
    if not radicale or not calcard:
        return "-"
    value = calcard / radicale if unit == "rate" else radicale / calcard
    return f"{value:.1f}x" if value < 100 else f"{value:.0f}x"


def render(
    title: str, rows, columns: list[Column], ratio_pair: tuple[Column, Column] | None
) -> str:
    width = max(len(label) for _, label, _ in rows) + 2
    colw = max(13, *(len(c.label) + 2 for c in columns))
    ratio_head = f"rad/cc@{human(ratio_pair[0].size)}" if ratio_pair else ""
    lines = [title]
    head = "operation".ljust(width) + "".join(c.label.rjust(colw) for c in columns)
    if ratio_pair:
        head += ratio_head.rjust(colw)
    lines += [head, "-" * len(head)]
    for key, label, unit in rows:
        line = label.ljust(width)
        line += "".join(fmt(c.values.get(key), unit).rjust(colw) for c in columns)
        if ratio_pair:
            calcard, radicale = ratio_pair
            line += ratio(radicale.values.get(key), calcard.values.get(key), unit).rjust(colw)
        lines.append(line)
    return "\n".join(lines)


def render_counts(title: str, rows, columns: list[Column]) -> tuple[str, list[str]]:
    """Result counts per operation; a calcard/radicale disagreement is flagged with '!'."""
    counted = [
        (k, label.rsplit(" (", 1)[0])
        for k, label, _unit in rows
        if any(k in c.counts for c in columns)
    ]
    width = max(len(label) for _, label in counted) + 2
    colw = max(13, *(len(c.label) + 2 for c in columns))
    lines = [title, "operation".ljust(width) + "".join(c.label.rjust(colw) for c in columns)]
    mismatches = []
    for key, label in counted:
        line = label.ljust(width)
        for c in columns:
            value = c.counts.get(key)
            other = next((o for o in columns if o.size == c.size and o.server != c.server), None)
            flag = ""
            if value is not None and other is not None and key in other.counts:
                if other.counts[key] != value:
                    flag = "!"
                    if c.server == "calcard":
                        mismatches.append(
                            f"{label} at {human(c.size)}: calcard {value}, "
                            f"radicale {other.counts[key]}"
                        )
            line += (("-" if value is None else str(value)) + flag).rjust(colw)
        lines.append(line)
    return "\n".join(lines), mismatches


# --------------------------------------------------------------------------- measuring


def median_ms(
    request: Callable[[], httpx.Response],
    count: Callable[[httpx.Response], int],
    repeats: int,
    column: Column,
    key: str,
    warmup: bool = True,
) -> None:
    """One untimed warm-up call (unless ``warmup`` is false), then the median of ``repeats``.

    Timed: the request until its whole body is read. Counting the results parses the
    XML, which at 500 events costs this client more than a fast server's answer, so
    it runs after the clock stops.
    """
    if warmup:
        request()
    times = []
    found = 0
    for _ in range(repeats):
        started = time.perf_counter()
        response = request()
        times.append((time.perf_counter() - started) * 1000)
        found = count(response)
    column.values[key] = statistics.median(times)
    column.counts[key] = found
    log(f"  {column.label} {key}: {column.values[key]:.1f} ms (n={found})")


def stage_rate(durations: list[float]) -> float:
    return len(durations) / sum(durations) if durations else 0.0


def put_range(client: Client, kind: Kind, indices, column: Column, what: str) -> list[float]:
    started = time.perf_counter()
    durations = []
    last_report = started
    for i in indices:
        durations.append(client.put(kind, i))
        if time.perf_counter() - last_report > 30:
            last_report = time.perf_counter()
            log(f"  {column.label} {what}: {len(durations)} PUT, {stage_rate(durations):.0f}/s")
    return durations


def load(
    client: Client,
    kind: Kind,
    n: int,
    column: Column,
    stage: int,
    prefill: int,
    temp_path: str,
    values: dict[str, float],
) -> None:
    """PUT the items that are not prefilled, recording per-stage rates.

    Without a prefill every item is PUT; with one, items 0..prefill-1 exist already,
    the first stage is PUT into an empty scratch collection and the rest (the last
    stage) into the full one, so both ends of the growth curve are real HTTP PUTs.
    """
    if not prefill:
        durations = put_range(client, kind, range(n), column, f"PUT {kind.name}")
        values["put_first"] = stage_rate(durations[:stage])
        values["put_last"] = stage_rate(durations[-stage:])
        values["put_all"] = stage_rate(durations)
        if n >= 4 * stage:
            mid = n // 2 - stage // 2
            values["put_mid"] = stage_rate(durations[mid : mid + stage])
        return
    scratch = Kind(kind.name, temp_path, kind.make, kind.href, kind.content_type, {}, "")
    client.request(
        "MKCALENDAR" if kind is EVENTS else "MKCOL",
        temp_path,
        mkcalendar_body() if kind is EVENTS else _mkcol_addressbook(),
        {"Content-Type": "application/xml; charset=utf-8"},
        ok=(201,),
    )
    first = put_range(client, scratch, range(stage), column, "PUT first stage (scratch)")
    client.request("DELETE", temp_path, ok=(200, 204))
    last = put_range(client, kind, range(prefill, n), column, "PUT last stage")
    values["put_first"] = stage_rate(first)
    values["put_last"] = stage_rate(last)


def _mkcol_addressbook() -> bytes:
    return _xml(
        f'<D:mkcol xmlns:D="DAV:" xmlns:C="{CARDDAV}"><D:set><D:prop>'
        "<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>"
        "</D:prop></D:set></D:mkcol>"
    )


def measure_calendar(
    client: Client,
    n: int,
    column: Column,
    repeats: int,
    warmup: bool = True,
    settle: Callable[[], float] | None = None,
    memory: Callable[[], tuple[float, float]] | None = None,
) -> None:
    """Time the calendar's requests. The first ten-year query is timed alone, before
    the others, with the index as the PUTs left it; ``settle`` then waits until the
    server has no index work left from it (calcard's dispatcher catching up past the
    horizon) and says how long that took, so that no other request is timed while it
    runs. ``memory`` (the server's RSS and peak) is read after each request type, and
    the first that set the final peak is noted: where a peak comes from."""
    rng = random.Random(n)
    multiget_hrefs = [event_href(i) for i in rng.sample(range(n), min(MULTIGET, n))]

    def freebusy_periods(response: httpx.Response) -> int:
        lines = response.text.splitlines()
        return sum(line.count(",") + 1 for line in lines if line.startswith("FREEBUSY"))

    def query(span: tuple[str, str]) -> Callable[[], httpx.Response]:
        return lambda: client.report(CALENDAR, query_body(*span))

    def freebusy(span: tuple[str, str]) -> Callable[[], httpx.Response]:
        return lambda: client.report(CALENDAR, freebusy_body(*span))

    def decade() -> httpx.Response:
        return client.report(CALENDAR, etag_query_body(*DECADE))

    peaks: list[tuple[str, float]] = [("PUTs", memory()[1])] if memory else []

    def watch(key: str) -> None:
        if memory is not None:
            rss, hwm = memory()
            peaks.append((key, hwm))
            log(f"  {column.label} after {key}: RSS {rss:.0f} MiB, peak {hwm:.0f} MiB")

    median_ms(decade, response_count, 1, column, "query_decade_first", warmup=False)
    watch("query_decade_first")
    if settle is not None:
        column.values["index_catchup"] = settle()
        log(f"  {column.label} index caught up in {column.values['index_catchup']:.1f} s")
    timed = [
        ("propfind", propfind_request(client, CALENDAR), propfind_count),
        ("query_past", query(PAST_WEEK), response_count),
        ("query_week", query(WEEK), response_count),
        ("query_dst", query(DST_WEEK), response_count),
        ("query_ahead", query(AHEAD_WEEK), response_count),
        ("query_month", query(MONTH), response_count),
        ("query_decade", decade, response_count),
        ("freebusy_past", freebusy(PAST_WEEK), freebusy_periods),
        ("freebusy", freebusy(WEEK), freebusy_periods),
        ("freebusy_ahead", freebusy(AHEAD_WEEK), freebusy_periods),
        (
            "multiget",
            lambda: client.report(CALENDAR, multiget_body(EVENTS, multiget_hrefs)),
            data_count,
        ),
        ("sync_initial", lambda: client.sync_request(CALENDAR, ""), response_count),
        ("get_all", get_request(client, CALENDAR), marker_count(EVENTS)),
    ]
    for key, request, count in timed:
        median_ms(request, count, repeats, column, key, warmup)
        watch(key)
    incremental_sync(client, EVENTS, n, column, repeats)
    watch("sync_incr")
    if peaks:
        top = max(hwm for _, hwm in peaks)
        first = next(key for key, hwm in peaks if hwm == top)
        column.notes.append(f"{column.label}: peak RSS {top:.0f} MiB first reached by {first}")


def incremental_sync(client: Client, kind: Kind, n: int, column: Column, repeats: int) -> None:
    """Modify CHANGES items (untimed), then time a sync from the previous token."""
    token, _ = client.sync(kind.path, "")
    rng = random.Random(n + 1)
    times, counts = [], []
    for version in range(1, repeats + 2):  # the first round is a warm-up
        for i in rng.sample(range(n), min(CHANGES, n)):
            client.put(kind, i, version)
        started = time.perf_counter()
        response = client.sync_request(kind.path, token)
        elapsed = time.perf_counter() - started
        token, count = sync_result(response)
        if version > 1:
            times.append(elapsed * 1000)
            counts.append(count)
    column.values["sync_incr"] = statistics.median(times)
    column.counts["sync_incr"] = max(counts)
    log(f"  {column.label} sync_incr: {column.values['sync_incr']:.1f} ms (n={counts})")


def measure_contacts(
    client: Client, n: int, server: str, repeats: int, stage: int, prefill: int
) -> Column:
    values: dict[str, float] = {}
    sub = Column(server, n)
    load(client, CARDS, n, sub, stage, prefill, SCRATCH_BOOK, values)
    rng = random.Random(n + 2)
    hrefs = [contact_href(i) for i in rng.sample(range(n), min(MULTIGET, n))]

    timed = [
        ("propfind", propfind_request(client, CONTACTS), propfind_count),
        ("sync_initial", lambda: client.sync_request(CONTACTS, ""), response_count),
        ("multiget", lambda: client.report(CONTACTS, multiget_body(CARDS, hrefs)), data_count),
        ("get_all", get_request(client, CONTACTS), marker_count(CARDS)),
    ]
    for key, request, count in timed:
        median_ms(request, count, repeats, sub, key)
    incremental_sync(client, CARDS, n, sub, repeats)
    sub.values.update(values)
    return sub


# --------------------------------------------------------------------------- calcard


class Postgres:
    def __init__(self, url: str):
        self.admin_url = url
        self.created: list[str] = []

    def _run(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def create(self, name: str) -> str:
        self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._run(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        base = self.admin_url.rsplit("/", 1)[0]
        return f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"

    def drop(self, name: str) -> None:
        self._run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)


def _entries(indices: list[int]) -> list[tuple]:
    """Worker: store metadata for events, computed by calcard's own import code."""
    from calcard.store import ical

    out = []
    for i in indices:
        for entry in ical.split_calendar(make_event(i)):
            if isinstance(entry, ical.ParseError):
                raise BenchError(f"event {i}: {entry}")
            out.append(
                (
                    event_href(i),
                    entry.uid,
                    entry.etag,
                    entry.text,
                    entry.component,
                    entry.start,
                    entry.end,
                )
            )
    return out


def calcard_bulk_load(url: str, count: int) -> float:
    """Insert events 0..count-1 with calcard's Python API in one transaction."""
    from calcard import store
    from calcard.core.db import Database

    started = time.perf_counter()
    chunks = [list(range(a, min(a + 2000, count))) for a in range(0, count, 2000)]
    rows: list[tuple] = []
    workers = max(1, min(4, os.cpu_count() or 1))
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        for part in pool.map(_entries, chunks):
            rows.extend(part)
    log(f"  parsed {len(rows)} events in {time.perf_counter() - started:.0f}s")
    db = Database(url)
    try:
        with db.transaction(write=True, owners=[LOGIN]) as s:
            collection = store.get_collection(s, CALENDAR.strip("/"))
            if collection is None:
                raise BenchError("calcard has no bench calendar")
            items = [store.ItemData(*row) for row in rows]
            store.create_collection(s, collection.path, dict(collection.props), items)
        if db.is_postgres:
            # What autovacuum does within a minute of a bulk load; without statistics
            # the planner scans the whole calendar for every batch of hrefs.
            with db.engine.begin() as conn:  # committed: ANALYZE's statistics are transactional
                conn.exec_driver_sql("ANALYZE")
    finally:
        db.dispose()
    return time.perf_counter() - started


@dataclass
class Env:
    args: argparse.Namespace
    work: Path
    cache: Path
    postgres: Postgres | None
    built_cache: list[Path] = field(default_factory=list)


def start_calcard(env: Env, n: int, label: str, prefill: int) -> Server:
    data_dir = Path(tempfile.mkdtemp(prefix=f"calcard-{label}-", dir=env.work))
    if env.postgres:
        url = env.postgres.create(f"calcard_bench_{os.getpid()}_{n}")
    else:
        url = f"sqlite:///{data_dir / 'calcard.db'}"
    proc_env = dict(os.environ)
    proc_env.update(
        CALCARD_DATA_DIR=str(data_dir),
        CALCARD_DATABASE_URL=url,
        CALCARD_CONFIG=str(data_dir / "no-config.toml"),
        CALCARD_LOG_LEVEL="warning",
    )
    calcard = venv_tool("calcard")
    for cmd, stdin in (
        ([calcard, "org", "create", ORG, "--plan", "team"], ""),
        (
            [
                calcard,
                "user",
                "add",
                LOGIN,
                "--org",
                ORG,
                "--role",
                "collaborator",
                "--password-stdin",
            ],
            PASSWORD + "\n",
        ),
    ):
        done = subprocess.run(cmd, env=proc_env, input=stdin, text=True, capture_output=True)
        if done.returncode:
            raise BenchError(f"{' '.join(cmd[1:3])} failed: {done.stderr.strip()}")
    if prefill:
        log(f"  bulk-loading {prefill} events through calcard's Python API")
        seconds = calcard_bulk_load(url, prefill)
        log(f"  bulk load took {seconds:.0f}s")
    port = free_port()
    return Server(
        f"calcard:{port}",
        [calcard, "serve", "--host", "127.0.0.1", "--port", str(port)],
        proc_env,
        port,
        data_dir / "server.log",
    )


def index_settled(url: str, timeout: float = 1800) -> Callable[[], float]:
    """A wait for calcard's queue of index extensions (``index_extensions``, which the
    server's dispatcher works through) to be empty; it returns the seconds it waited."""

    def wait() -> float:
        import sqlalchemy

        started = time.perf_counter()
        engine = sqlalchemy.create_engine(url)
        try:
            count = sqlalchemy.text("SELECT count(*) FROM index_extensions")
            while time.perf_counter() - started < timeout:
                with engine.connect() as conn:
                    if not conn.execute(count).scalar():
                        break
                time.sleep(0.2)
            else:
                raise BenchError(f"calcard's index did not catch up within {timeout:.0f}s")
        finally:
            engine.dispose()
        return time.perf_counter() - started

    return wait


# --------------------------------------------------------------------------- Radicale


def radicale_config(folder: Path, port: int, path: Path) -> None:
    path.write_text(
        "[server]\n"
        f"hosts = 127.0.0.1:{port}\n"
        "[auth]\ntype = none\n"
        "[rights]\ntype = owner_only\n"
        f"[storage]\nfilesystem_folder = {folder}\n"
        "[web]\ntype = none\n"
        "[logging]\nlevel = warning\n"
    )


def start_radicale(folder: Path, log_dir: Path) -> Server:
    port = free_port()
    config = log_dir / f"radicale-{port}.conf"
    radicale_config(folder, port, config)
    proc_env = dict(os.environ)
    return Server(
        f"radicale:{port}",
        [sys.executable, "-m", "radicale", "--config", str(config)],
        proc_env,
        port,
        log_dir / f"radicale-{port}.log",
    )


def write_collection(folder: Path, props: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".Radicale.props").write_text(json.dumps(props, sort_keys=True))


def radicale_prefill(env: Env, kind: Kind, count: int) -> Path:
    """A multifilesystem collection folder with items 0..count-1, Radicale's caches warm.

    Kept in the cache dir keyed by kind and count; built by writing the item files
    and .Radicale.props directly (a Radicale PUT reads the whole collection, so
    loading 10,000 events by PUT takes tens of minutes), then warmed by one
    PROPFIND and one sync on a real Radicale so its item cache and sync history
    are built once, not in every run.
    """
    key = env.cache / f"radicale-{kind.name}-{count}-g{GENERATOR_VERSION}-{EPOCH:%Y}"
    if (key / "complete").exists():
        log(f"  reusing cached Radicale {kind.name} {key}")
        return key / "collection"
    log(f"  building Radicale {kind.name} with {count} items in {key}")
    started = time.perf_counter()
    building = key.with_name(key.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    root = building / "collections" / "collection-root" / LOGIN
    folder = root / kind.path.strip("/").split("/")[1]
    write_collection(folder, kind.props)
    for i in range(count):
        (folder / kind.href(i)).write_bytes(kind.make(i, 0).encode())
    server = start_radicale(building / "collections", env.work)
    try:
        client = Client(server.base)
        response = client.request("PROPFIND", kind.path, PROPFIND_BODY, {"Depth": "1"}, ok=(207,))
        found = len(responses(response.text)) - 1
        if found != count:
            raise BenchError(f"Radicale sees {found} of {count} items written to {folder}")
        client.sync(kind.path, "")
        client.close()
    finally:
        server.stop()
    folder.rename(building / "collection")
    shutil.rmtree(building / "collections")
    (building / "complete").write_text(time.strftime("%Y-%m-%d %H:%M:%S\n"))
    shutil.rmtree(key, ignore_errors=True)
    building.rename(key)
    env.built_cache.append(key)
    log(f"  built in {time.perf_counter() - started:.0f}s")
    return key / "collection"


def start_radicale_column(env: Env, label: str, prefills: dict[str, int]) -> Server:
    """Radicale on a fresh copy of the cached collections (runs never change the cache)."""
    folder = Path(tempfile.mkdtemp(prefix=f"radicale-{label}-", dir=env.work))
    collections = folder / "collections"
    root = collections / "collection-root" / LOGIN
    root.mkdir(parents=True)
    for kind in (EVENTS, CARDS):
        target = root / kind.path.strip("/").split("/")[1]
        if prefills.get(kind.name):
            cached = radicale_prefill(env, kind, prefills[kind.name])
            started = time.perf_counter()
            shutil.copytree(cached, target, symlinks=True)
            log(f"  copied cached {kind.name} in {time.perf_counter() - started:.1f}s")
        else:
            write_collection(target, kind.props)
    return start_radicale(collections, folder)


# --------------------------------------------------------------------------- driver


@dataclass(frozen=True)
class Plan:
    """How a collection of ``n`` items is loaded: all by PUT, or prefilled + PUT stages."""

    n: int
    stage: int
    prefill: int

    @classmethod
    def make(cls, n: int, stage: int, put_max: int, tail: int) -> Plan:
        stage = min(stage, max(1, n // 2))
        if n <= put_max:
            return cls(n, stage, 0)
        return cls(n, stage, n - min(stage, tail))

    def describe(self) -> str:
        if not self.prefill:
            return f"all {self.n} by PUT"
        return (
            f"{self.prefill} prefilled, first {self.stage} PUT into an empty collection, "
            f"last {self.n - self.prefill} PUT"
        )


def run_column(env: Env, server_kind: str, n: int, contacts: int) -> tuple[Column, Column | None]:
    args = env.args
    column = Column(server_kind, n)
    if server_kind == "calcard":
        plan = Plan.make(n, args.stage, args.calcard_put_max, args.stage)
        book = Plan.make(contacts, args.stage, 10**9, args.stage) if contacts else None
    else:
        plan = Plan.make(n, args.stage, args.radicale_put_max, args.radicale_tail)
        book = (
            Plan.make(contacts, args.stage, args.radicale_put_max, args.radicale_tail)
            if contacts
            else None
        )
    big = n >= 50_000
    repeats = min(args.repeats, args.big_repeats) if big else args.repeats
    column.notes.append(f"{column.label}: {plan.describe()}")
    log(f"{column.label}: starting; {plan.describe()}")
    pg_name = f"calcard_bench_{os.getpid()}_{n}"
    if server_kind == "calcard":
        server = start_calcard(env, n, column.label, plan.prefill)
    else:
        prefills = {EVENTS.name: plan.prefill, CARDS.name: book.prefill if book else 0}
        server = start_radicale_column(env, column.label, prefills)
    contact_column = None
    client = Client(server.base)
    try:
        started = time.perf_counter()
        load(client, EVENTS, n, column, plan.stage, plan.prefill, PUTRATE, column.values)
        column.values.pop("put_all", None)
        log(f"  {column.label}: PUTs done in {time.perf_counter() - started:.0f}s")
        settle = (
            index_settled(server.env["CALCARD_DATABASE_URL"]) if server_kind == "calcard" else None
        )
        measure_calendar(
            client, n, column, repeats, warmup=not big, settle=settle, memory=server.memory_mb
        )
        column.values["rss"], column.values["hwm"] = server.memory_mb()
        if book:
            log(f"  {column.label}: address book; {book.describe()}")
            contact_column = measure_contacts(
                client, contacts, server_kind, args.repeats, book.stage, book.prefill
            )
            contact_column.notes.append(f"{server_kind} contacts: {book.describe()}")
    except BaseException:
        log(f"{column.label}: server log tail:\n{server.tail()}")
        raise
    finally:
        client.close()
        server.stop()
        if server_kind == "calcard" and env.postgres:
            env.postgres.drop(pg_name)
    log(f"{column.label}: done")
    return column, contact_column


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add = parser.add_argument
    add(
        "--sizes",
        default="1000,10000,100000",
        help="calendar sizes (default 1000,10000,100000); Radicale skips sizes above "
        "--radicale-max",
    )
    add(
        "--quick",
        action="store_true",
        help="smoke run (~2 min): sizes 200,1000, 300 contacts, stages of 100, 3 repeats",
    )
    add("--contacts", type=int, default=2000, help="address book size (default 2000)")
    add("--repeats", type=int, default=5, help="timed repeats per operation (default 5)")
    add("--big-repeats", type=int, default=2, help="repeats at >= 50k events, no warm-up")
    add("--stage", type=int, default=STAGE, help=f"items per PUT stage (default {STAGE})")
    add("--postgres", action="store_true", help="calcard on a fresh PostgreSQL database")
    add(
        "--postgres-admin-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="where the benchmark database is created and dropped",
    )
    add("--cache-dir", type=Path, default=DEFAULT_CACHE, help="Radicale data cache")
    add(
        "--keep-cache",
        action="store_true",
        help="keep the Radicale data built by this run in the cache dir for later runs "
        "(entries already there are always reused)",
    )
    add("--radicale-max", type=int, default=10_000, help="largest size run on Radicale")
    add(
        "--radicale-put-max",
        type=int,
        default=1000,
        help="Radicale collections above this are prefilled from the cache and only the "
        "first and last stages are PUT (default 1000)",
    )
    add(
        "--radicale-tail",
        type=int,
        default=100,
        help="items PUT into a prefilled Radicale collection (its last stage, default 100)",
    )
    add(
        "--calcard-put-max",
        type=int,
        default=10_000,
        help="calcard calendars above this are bulk-loaded through the Python API except "
        "the last stage (default 10000)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes = "200,1000"
        args.contacts = min(args.contacts, 300)
        args.repeats = min(args.repeats, 3)
        args.stage = min(args.stage, 100)
        args.radicale_put_max = min(args.radicale_put_max, 200)
        args.calcard_put_max = min(args.calcard_put_max, 200)
    args.size_list = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    if not args.size_list or min(args.size_list) < 20:
        parser.error("sizes must be at least 20")
    if args.stage < 1 or args.repeats < 1 or args.big_repeats < 1 or args.radicale_tail < 1:
        parser.error("--stage, --repeats, --big-repeats and --radicale-tail must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cache = args.cache_dir.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="calcard-bench-"))
    postgres = Postgres(args.postgres_admin_url) if args.postgres else None
    env = Env(args, work, cache, postgres)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    columns: list[Column] = []
    books: list[Column] = []
    started = time.perf_counter()
    try:
        for index, n in enumerate(args.size_list):
            for kind in ("calcard", "radicale"):
                if kind == "radicale" and n > args.radicale_max:
                    continue
                with_contacts = args.contacts if index == 0 else 0
                column, book = run_column(env, kind, n, with_contacts)
                columns.append(column)
                if book:
                    books.append(book)
    except KeyboardInterrupt:
        log("interrupted; stopping servers (the report below covers finished columns only)")
        status = 130
    else:
        status = 0
    finally:
        for server in list(Server.running):
            server.stop()
        if postgres:
            for name in list(postgres.created):
                postgres.drop(name)
        shutil.rmtree(work, ignore_errors=True)
        if not args.keep_cache:
            for path in env.built_cache:
                shutil.rmtree(path, ignore_errors=True)
    if columns:
        print_report(args, columns, books, time.perf_counter() - started)
    return status


def ratio_pair(columns: list[Column]) -> tuple[Column, Column] | None:
    """(calcard, radicale) at the largest size both were run at."""
    sizes = {c.size for c in columns if c.server == "calcard"} & {
        c.size for c in columns if c.server == "radicale"
    }
    if not sizes:
        return None
    n = max(sizes)
    pick = {c.server: c for c in columns if c.size == n}
    return pick["calcard"], pick["radicale"]


def print_report(args, columns: list[Column], books: list[Column], seconds: float) -> None:
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print()
    print(
        f"calcard ({backend}) vs Radicale 3.9 multifilesystem (fsync on, item cache warm); "
        f"loopback HTTP, one keep-alive client; {seconds / 60:.1f} min in all."
    )
    print(
        f"ms = median of {args.repeats} after one warm-up (median of {args.big_repeats}, "
        "no warm-up, at >= 50k events). ratio = Radicale cost / calcard cost at the "
        "largest common size (>1: calcard faster or smaller)."
    )
    print(
        "PUT stages: first = the first items into an empty collection, middle = around "
        "n/2, last = the final items into the nearly full collection."
    )
    for column in columns + books:
        for note in column.notes:
            print(f"  {note}")
    print()
    print(render("Calendar", ROWS, columns, ratio_pair(columns)))
    print()
    table, mismatches = render_counts(
        "Result counts (items or responses; '!' = calcard and Radicale disagree)", ROWS, columns
    )
    print(table)
    if books:
        print()
        print(
            render(
                f"Address book ({args.contacts} contacts)", CONTACT_ROWS, books, ratio_pair(books)
            )
        )
        print()
        table, more = render_counts("Address book result counts", CONTACT_ROWS, books)
        mismatches += more
        print(table)
    if mismatches:
        print()
        print("DISAGREEMENTS (check calcard):")
        for line in mismatches:
            print("  " + line)


if __name__ == "__main__":
    sys.exit(main())
