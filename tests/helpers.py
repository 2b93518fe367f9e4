"""Plain helpers the test modules share: request builders, iCalendar texts, mail parsing.

Test modules import from here (or take fixtures from conftest.py and browser.py), never
from one another: ``test_layout.py`` checks that.
"""

from __future__ import annotations

import contextlib
import io
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import caldav
import httpx
import icalendar
import pyotp
from click.testing import CliRunner
from PIL import Image
from sqlalchemy import func, select

from calcard import accounts, store
from calcard.cli import main as calcard_main
from calcard.core import recurrence
from calcard.core.config import Settings
from calcard.core.db import Database
from calcard.core.models import (
    IndexedItem,
    IndexExtension,
    Occurrence,
    Reminder,
    ReminderItem,
    SyncLog,
)
from calcard.core.times import utcnow
from calcard.push import dispatch as push_dispatch
from calcard.store import ItemData, StoreError, ical, reminders
from calcard.transfer import importexport
from calcard.worker import Dispatcher

from conftest import PASSWORD, report

FIXTURES = Path(__file__).with_name("fixtures")

# The DAV methods calcard answers (RFC 4918, 4791, 6352, 6578); the access matrix has rows
# for each, the fuzzer throws them (and a few more) at every URL.
DAV_METHODS = (
    "GET",
    "PUT",
    "DELETE",
    "PROPFIND",
    "PROPPATCH",
    "REPORT",
    "MKCALENDAR",
    "MKCOL",
    "MOVE",
    "COPY",
    "POST",
    "OPTIONS",
)

EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//calcard tests//EN
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20260101T000000Z
DTSTART:{start}
DTEND:{end}
SUMMARY:{summary}
END:VEVENT
END:VCALENDAR
"""

FREE_BUSY_QUERY = (
    '<?xml version="1.0"?><C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">\n'
    '<C:time-range start="20270104T000000Z" end="20270105T000000Z"/></C:free-busy-query>'
)


# --- DAV and iCalendar ---------------------------------------------------------------


def dav(server, login: str, password: str = PASSWORD) -> caldav.DAVClient:
    return caldav.DAVClient(
        url=server.url + "/.well-known/caldav", username=login, password=password
    )


def event(uid: str, start: str, end: str, summary: str = "Meeting") -> str:
    return EVENT.format(uid=uid, start=start, end=end, summary=summary)


def zoned_event(uid: str, start: str, end: str, extra: str = "", tz: str = "Europe/Zurich") -> str:
    """An event with local times in ``tz`` (UTC times if ``tz`` is empty)."""
    when = (
        f"DTSTART;TZID={tz}:{start}\r\nDTEND;TZID={tz}:{end}"
        if tz
        else f"DTSTART:{start}\r\nDTEND:{end}"
    )
    if "VALUE=DATE" in extra:
        when, extra = "", extra.replace("VALUE=DATE", "")
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n{when}{extra}\r\nSUMMARY:{uid}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def put_event(server, login: str, uid: str, text: str) -> None:
    with server.client(login) as http:
        response = http.put(
            f"/{login}/calendar/{uid}.ics",
            content=text.encode(),
            headers={"Content-Type": "text/calendar"},
        )
        assert response.status_code == 201, response.text


def periods(text) -> set[tuple[str, str]]:
    """(FBTYPE, start/end) of every FREEBUSY value in a VFREEBUSY."""
    calendar = icalendar.Calendar.from_ical(text)
    found = set()
    for component in calendar.walk("VFREEBUSY"):
        values = component.get("FREEBUSY", [])
        for value in values if isinstance(values, list) else [values]:
            first, last = value.dt
            found.add(
                (
                    value.params.get("FBTYPE", "BUSY"),
                    f"{first:%Y%m%dT%H%M%SZ}/{last:%Y%m%dT%H%M%SZ}",
                )
            )
    return found


def many_events(count: int) -> str:
    """A feed of ``count`` events, two of them broken, the way a big export looks."""
    parts = ["BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calcard tests//EN\r\n"]
    for n in range(count):
        day = 1 + n % 28
        start = "garbage" if n in (10, count - 5) else f"2027{1 + n % 12:02d}{day:02d}T090000Z"
        parts.append(
            f"BEGIN:VEVENT\r\nUID:bulk-{n}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\n"
            f"DURATION:PT1H\r\nSUMMARY:Event {n}\r\nEND:VEVENT\r\n"
        )
    parts.append("END:VCALENDAR\r\n")
    return "".join(parts)


# --- push ----------------------------------------------------------------------------


def send_pushes(
    settings: Settings,
    moment: datetime | None = None,
    worker: str = "test",
    db: Database | None = None,
) -> int:
    """The dispatcher's push round (``calcard.push.dispatch``), a moment after the
    changes (they are merged for one second); how many subscriptions it handled."""
    moment = moment or utcnow() + timedelta(seconds=2)
    return push_dispatch.run(db or Database(settings.database_url), settings, worker, moment)


# --- the JSON API --------------------------------------------------------------------


def set_language(server, login: str, language: str | None) -> None:
    """The user's language setting (None: none, the browser's and organization's count)."""
    with server.backend.db.transaction(write=True, owners=[login]) as s:
        accounts.update_settings(s, login, {"language": language})


def web_session(server, login: str, password: str = PASSWORD) -> tuple[httpx.Client, str]:
    """A client holding a web session cookie, and the session's CSRF token (logging in with
    the login in capitals: logins are case-insensitive)."""
    http = httpx.Client(base_url=server.url, timeout=30)
    answer = http.post("/api/session", json={"login": login.upper(), "password": password})
    assert answer.status_code == 200, answer.text
    return http, answer.json()["csrf"]


def api_import(http: httpx.Client, name: str, into: str | None = None) -> dict:
    media = "text/calendar" if name.endswith(".ics") else "text/vcard"
    response = http.post(
        "/api/import",
        params={"into": into} if into else {},
        content=(FIXTURES / name).read_bytes(),
        headers={"Content-Type": media},
    )
    assert response.status_code == 200, response.text
    return response.json()


def share(server, owner: str, kind: str, name: str, access: str = "read"):
    with server.client(owner) as http:
        response = http.put(
            f"/api/collections/{owner}/calendar/shares",
            json={"kind": kind, "name": name, "access": access},
        )
    assert response.status_code == 200, response.text


def png(width: int = 40, height: int = 20) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "#0f766e").save(out, "PNG")
    return out.getvalue()


# --- logins --------------------------------------------------------------------------


def code(secret: str, steps_ahead: int = 0) -> str:
    """A TOTP code; consecutive steps are all inside the server's drift window."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(int(time.time() // totp.interval) + steps_ahead)


def new_app_password(server, login: str, label: str = "Phone") -> dict:
    with server.client(login) as http:
        response = http.post("/api/me/app-passwords", json={"label": label})
    assert response.status_code == 201, response.text
    return response.json()


def enable_2fa(server, login: str) -> str:
    with server.client(login) as http:
        secret = http.post("/api/me/2fa", json={}).json()["secret"]
        assert http.post("/api/me/2fa/confirm", json={"code": "000000"}).status_code == 400
        assert http.post("/api/me/2fa/confirm", json={"code": code(secret)}).status_code == 200
    return secret


# --- mail and scheduling -------------------------------------------------------------


def dav_calendar(server, login: str) -> caldav.Calendar:
    """``login``'s default calendar through the caldav library."""
    principal = caldav.DAVClient(url=server.url, username=login, password=PASSWORD).principal()
    return principal.calendar(cal_id="calendar")


def invitation(
    uid: str,
    organizer: str,
    attendees: list[str],
    start: datetime,
    hours: int = 1,
    status: str = "",
) -> str:
    people = "".join(f"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{a}\r\n" for a in attendees)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\n"
        f"DTEND:{start + timedelta(hours=hours):%Y%m%dT%H%M%SZ}\r\nSUMMARY:Planning {uid}\r\n"
        f"LOCATION:HQ\r\nORGANIZER:mailto:{organizer}@example.com\r\n"
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{organizer}@example.com\r\n{people}{status}"
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT10M\r\nDESCRIPTION:r\r\nEND:VALARM\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def partstats(text: str) -> dict[str, str]:
    event = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]
    found = event.get("ATTENDEE", [])
    found = found if isinstance(found, list) else [found]
    return {str(a).lower().removeprefix("mailto:"): str(a.params.get("PARTSTAT")) for a in found}


def rsvp_link(mail) -> str:
    plain = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    return re.search(r"(http://\S+/api/rsvp\?\S+)", plain.get_payload(decode=True).decode())[1]


def catch_up_index(server) -> None:
    """Run a dispatcher's share of the occurrence index's queued extensions until none
    is left (the test servers run none: ``CALCARD_REMINDERS=off``)."""
    settings = Settings(data_dir=server.log.parent, database_url=server.backend.url)
    dispatcher = Dispatcher(server.backend.db, settings)
    left = select(func.count()).select_from(IndexExtension)
    while True:
        with server.backend.db.transaction() as s:
            if not s.scalar(left):
                return
        dispatcher.extend_index(utcnow())


def flush_mail(server, smtp_box) -> None:
    """Run a dispatcher until the mail queue is empty (into the ``smtp`` fixture's box)."""
    settings = Settings(
        data_dir=server.log.parent,
        database_url=server.backend.url,
        smtp_url=smtp_box.url,
        base_url=server.url,
    )
    dispatcher = Dispatcher(server.backend.db, settings)
    while dispatcher.run_once():
        pass


def answer(server, login: str, uid: str, partstat: str) -> None:
    calendar = dav_calendar(server, login)
    event = calendar.event_by_uid(uid)
    ical = event.icalendar_instance
    for attendee in ical.walk("VEVENT")[0].get("ATTENDEE"):
        if str(attendee).lower() == f"mailto:{login}@example.com":
            attendee.params["PARTSTAT"] = partstat
    event.data = ical.to_ical().decode()
    event.save()


def calcard_check(url: str, *args: str) -> tuple[int, str]:
    """(exit code, output) of `calcard check ARGS` on the database at ``url``, in-process
    (the CLI as an operator runs it, without a Python start per call)."""
    result = CliRunner().invoke(calcard_main, ["check", *args], env={"CALCARD_DATABASE_URL": url})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


# --- calendar-query time ranges: the index's answer and Radicale's full filter --------

TIME_RANGE_QUERY = """<?xml version="1.0"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="{component}">
    <C:time-range start="{start}" end="{end}"/>{extra}
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""
FULL_FILTER = '<C:prop-filter name="UID"/>'


def utc(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def local(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


def component(name: str, uid: str, *lines: str) -> str:
    """A VEVENT, VTODO, ... with ``uid``, a fixed DTSTAMP and ``lines``."""
    body = "\r\n".join((f"BEGIN:{name}", f"UID:{uid}", "DTSTAMP:20260101T000000Z", *lines))
    return body + f"\r\nEND:{name}\r\n"


def vevent(uid: str, *lines: str) -> str:
    return component("VEVENT", uid, *lines)


def vtodo(uid: str, *lines: str) -> str:
    return component("VTODO", uid, *lines)


def calendar(*events: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calcard tests//EN\r\n"
        + "".join(events)
        + "END:VCALENDAR\r\n"
    )


def hrefs(
    http, path: str, start: datetime, end: datetime, extra: str = "", component: str = "VEVENT"
) -> list[str]:
    """The item names a calendar-query for ``component`` in [start, end) answers."""
    body = TIME_RANGE_QUERY.format(start=utc(start), end=utc(end), extra=extra, component=component)
    response = report(http, path, body)
    assert response.status_code == 207, response.text
    return sorted(
        h.rsplit("/", 1)[-1] for h in re.findall(r"<href>([^<]+\.ics)</href>", response.text)
    )


# --- imports compared with storing entry by entry (tests/transfer)


def one_by_one(db, login: str, kind: str, entries) -> importexport.ImportSummary:
    """The import before batches: one lookup and one ``put_item`` per entry."""
    with db.transaction() as s:
        collection = importexport.target(s, login, kind, None)
    summary = importexport.ImportSummary()
    imported: set[str] = set()
    for entry in entries:
        with db.transaction(write=True, owners=[collection.owner]) as s:
            if isinstance(entry, ical.ParseError):
                summary.skipped.append(entry.reason)
                continue
            too_many = recurrence.refusal(entry.text) if kind == ".ics" else None
            if too_many:
                summary.skipped.append(importexport.skip_reason(entry.uid, too_many))
                continue
            existing = store.item_by_uid(s, collection.id, entry.uid)
            if existing is not None and entry.uid in imported:
                entry = ical.merge_entry(existing.text, entry)
            href = existing.href if existing else store.free_href(s, collection.id, entry.uid, kind)
            try:
                store.put_item(s, collection, ItemData.from_entry(href, entry), actor=login)
            except StoreError as exc:
                summary.skipped.append(importexport.skip_reason(entry.uid, exc))
                continue
            if entry.uid in imported:
                continue
            imported.add(entry.uid)
            if existing is None:
                summary.added += 1
            else:
                summary.updated += 1
    return summary


def state(db, login: str, kind: str, began: datetime) -> dict:
    """What an import that began at ``began`` leaves in a collection. Times that follow
    "now" (the horizon of series without end, how far reminders are scheduled) are
    compared by ``same``; occurrences and reminders are cut a day before the horizons
    of the first of the imports compared, which may have run minutes before the other."""
    horizon = int((began + timedelta(days=700)).timestamp())
    last_alarm = began + reminders.HORIZON - timedelta(days=1)
    with db.transaction() as s:
        collection = importexport.target(s, login, kind, None)
        cid = collection.id
        items = sorted(
            (i.href, i.uid, i.etag, i.component, i.start, i.end) for i in store.all_items(s, cid)
        )
        logged = s.execute(
            select(SyncLog.href, SyncLog.deleted, func.count())
            .where(SyncLog.collection_id == cid)
            .group_by(SyncLog.href, SyncLog.deleted)
        ).all()
        revisions = s.scalar(
            select(func.count(SyncLog.revision.distinct())).where(SyncLog.collection_id == cid)
        )
        occurrences = s.execute(
            select(Occurrence.href, Occurrence.start, Occurrence.end, Occurrence.kind).where(
                Occurrence.collection_id == cid, Occurrence.start < horizon
            )
        ).all()
        indexed = s.execute(
            select(
                IndexedItem.href,
                IndexedItem.window_start,
                IndexedItem.window_end,
                IndexedItem.exact,
            ).where(IndexedItem.collection_id == cid)
        ).all()
        alarms = s.execute(
            select(
                Reminder.href,
                Reminder.key,
                Reminder.channel,
                Reminder.fire_at,
                Reminder.status,
                Reminder.title,
            ).where(Reminder.collection_id == cid, Reminder.fire_at < last_alarm)
        ).all()
        scheduled = s.execute(
            select(ReminderItem.href, ReminderItem.scheduled_until).where(
                ReminderItem.collection_id == cid
            )
        ).all()
    return {
        "items": items,
        "sync log": sorted(map(tuple, logged)),
        "occurrences": sorted(map(tuple, occurrences)),
        "index": sorted((h, start, exact) for h, start, _, exact in indexed),
        "index ends": {h: end for h, _, end, _ in indexed},
        "reminders": sorted((*r[:3], r[3].replace(tzinfo=None), *r[4:]) for r in alarms),
        "schedule": {h: until.replace(tzinfo=None).timestamp() for h, until in scheduled},
        "revisions": revisions,
    }


def same(got: dict, want: dict) -> None:
    """Equal, but for the times that follow "now", which may be a few minutes apart."""
    for key in want:
        if key in ("index ends", "schedule"):
            assert got[key].keys() == want[key].keys(), key
            assert all(abs(got[key][h] - want[key][h]) < 600 for h in want[key]), key
        elif key != "revisions":
            assert got[key] == want[key], key


@contextlib.contextmanager
def another_write_meanwhile(sqlite_url: str, seconds: float = 0.5) -> Iterator[None]:
    """Another connection holds the SQLite file's write lock when the block begins and
    commits a write ``seconds`` later: a request of the block that reads, then writes in
    the same transaction, finds its snapshot outdated ("database is locked")."""
    holding, done = threading.Event(), threading.Event()

    def write() -> None:
        other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=10)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO server_secrets (name, value) VALUES ('meanwhile', '')")
        holding.set()
        done.wait(seconds)
        other.commit()
        other.close()

    holder = threading.Thread(target=write)
    holder.start()
    holding.wait(10)
    try:
        yield
    finally:
        done.set()
        holder.join(10)
