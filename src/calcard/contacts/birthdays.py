"""The birthday calendar: computed from contacts at read time, for the web UI only.

It is never a DAV collection (DESIGN.md rule 4): nothing here creates a
storage path, and birthdays are not busy time. Computing at read time means a
changed contact shows at once with nothing derived to keep in step; an SQL
prefilter keeps it to the cards that carry a date at all. Its morning-of
notifications are reminder rows (``queue_reminders``) that the reminder
dispatcher delivers like any other.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import icalendar
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from calcard import accounts, sharing, store
from calcard.core import times
from calcard.core.catalogs import N_
from calcard.core.errors import Refusal
from calcard.core.models import Item, Reminder, User
from calcard.sharing import access

MAX_RANGE_DAYS = 3 * 366
APPLE_NO_YEAR = 1604  # X-APPLE-OMIT-YEAR convention: the year is unknown
KINDS = {"BDAY": "birthday", "ANNIVERSARY": "anniversary"}
REMINDER_HOUR = 8  # morning-of notification, in the user's time zone

_UNFOLD = re.compile(r"\r?\n[ \t]")
_LINE = re.compile(
    r"^(?:[A-Za-z0-9-]+\.)?(?P<name>BDAY|ANNIVERSARY|FN|N|UID)(?P<params>(?:;[^:]*)?):(?P<value>.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_DATE = re.compile(
    r"^(?:(?P<year>\d{4})-?|--)(?P<month>\d{2})-?(?P<day>\d{2})(?:T[0-9:]+(?:Z|[+-]\d{2}:?\d{2})?)?$"
)


@dataclass(frozen=True)
class ContactDate:
    month: int
    day: int
    year: int | None


@dataclass(frozen=True)
class Birthday:
    date: date
    name: str
    age: int | None
    contact_uid: str
    addressbook: str
    kind: str = "birthday"

    def as_json(self) -> dict:
        return {
            "date": self.date.isoformat(),
            "name": self.name,
            "age": self.age,
            "contact_uid": self.contact_uid,
            "addressbook": "/" + self.addressbook + "/",
            "kind": self.kind,
        }


def parse_date(value: str, params: str = "") -> ContactDate | None:
    """A vCard 3/4 BDAY or ANNIVERSARY value, or None for text and nonsense.

    Accepts 19850412, 1985-04-12, date-times, year-less --0412 and --04-12, and
    Apple's year 1604 with X-APPLE-OMIT-YEAR.
    """
    if "value=text" in params.lower().replace('"', ""):
        return None
    match = _DATE.match(value.strip())
    if match is None:
        return None
    month, day = int(match["month"]), int(match["day"])
    year = int(match["year"]) if match["year"] else None
    if year == APPLE_NO_YEAR or "x-apple-omit-year" in params.lower():
        year = None
    leap_probe = year if year is not None else 2000  # 29 February needs some leap year
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(leap_probe, month)[1]:
        return None
    return ContactDate(month, day, year)


def occurrence(when: ContactDate, year: int) -> date:
    """The day it falls on in ``year``: 29 February becomes 28 February off leap years."""
    if when.month == 2 and when.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, when.month, when.day)


@dataclass(frozen=True)
class _Card:
    uid: str
    name: str
    dates: tuple[tuple[str, ContactDate], ...]


def parse_card(text: str) -> _Card:
    """The name, UID and dates of one vCard; unreadable parts are ignored."""
    fields: dict[str, str] = {}
    dates: list[tuple[str, ContactDate]] = []
    for match in _LINE.finditer(_UNFOLD.sub("", text)):
        name = match["name"].upper()
        value = match["value"].strip()
        if name in KINDS:
            parsed = parse_date(value, match["params"])
            if parsed is not None:
                dates.append((KINDS[name], parsed))
        else:
            fields.setdefault(name, value)
    display = _unescape(fields.get("FN", "")) or _name_from_n(fields.get("N", ""))
    return _Card(_unescape(fields.get("UID", "")), display, tuple(dates))


def _unescape(value: str) -> str:
    return re.sub(r"\\([,;\\nN])", lambda m: "\n" if m[1] in "nN" else m[1], value).strip()


def _name_from_n(value: str) -> str:
    parts = [_unescape(p) for p in value.split(";")]
    family, given = (parts + ["", ""])[:2]
    return " ".join(p for p in (given, family) if p)


def source_addressbooks(s: Session, login: str) -> list[store.CollectionData]:
    """Address books the user owns or that are shared with them, own first."""
    own = [
        c
        for c in store.child_collections(s, login)
        if c.tag == "VADDRESSBOOK" and access.may(s, login, access.READ, c.path)
    ]
    shared = [
        shared.collection
        for shared in sharing.shared_with(s, login)
        if shared.collection.tag == "VADDRESSBOOK"
    ]
    return own + sorted(shared, key=lambda c: c.path)


def enabled_addressbooks(s: Session, login: str) -> list[store.CollectionData]:
    excluded = set(accounts.get_settings(s, login).get("birthdays_excluded", []))
    return [c for c in source_addressbooks(s, login) if c.path not in excluded]


def _dated_cards(s: Session, collection_id: int) -> Iterator[tuple[str, _Card]]:
    rows = s.execute(
        select(Item.href, Item.text).where(
            Item.collection_id == collection_id,
            Item.deleted_at.is_(None),
            or_(Item.text.icontains("bday"), Item.text.icontains("anniversary")),
        )
    )
    for href, text in rows:
        yield href, parse_card(text)


def birthdays(s: Session, login: str, start: date, end: date) -> list[Birthday]:
    """Entries from ``start`` to ``end`` inclusive, one per contact (by UID) and kind."""
    if end < start:
        raise Refusal(N_("end is before start"))
    if (end - start).days > MAX_RANGE_DAYS:
        raise Refusal(
            N_("the range may span at most {limit} days"),
            values={"limit": MAX_RANGE_DAYS},
        )
    seen: set[tuple[str, str]] = set()
    found: list[Birthday] = []
    for book in enabled_addressbooks(s, login):
        for href, card in _dated_cards(s, book.id):
            uid = card.uid or f"{book.path}/{href}"
            for kind, when in card.dates:
                if (uid, kind) in seen:
                    continue
                seen.add((uid, kind))
                found.extend(_in_range(card, uid, book.path, kind, when, start, end))
    return sorted(found, key=lambda b: (b.date, b.name))


def _in_range(
    card: _Card, uid: str, book: str, kind: str, when: ContactDate, start: date, end: date
) -> Iterable[Birthday]:
    for year in range(start.year, end.year + 1):
        day = occurrence(when, year)
        if not start <= day <= end or (when.year is not None and year < when.year):
            continue
        age = year - when.year if when.year is not None else None
        yield Birthday(day, card.name or "(no name)", age, uid, book, kind)


def morning_reminders(s: Session, login: str, day: date) -> list[Birthday]:
    """Today's entries for the morning-of notification, unless the user turned it off.

    ``queue_reminders`` calls this once per user and day.
    """
    if not accounts.get_settings(s, login).get("birthday_reminders", True):
        return []
    return birthdays(s, login, day, day)


def queue_reminders(s: Session, now: datetime) -> int:
    """Queue today's birthday notifications (display and chat) from 08:00 local time.

    Idempotent: the reminders' unique key makes a second run (or another node)
    add nothing. The worker calls this every few minutes; the reminder
    dispatcher (``reminders.dispatch``) delivers the rows like any other.
    """
    added = 0
    for login, zone_name in s.execute(select(User.login, User.timezone)).all():
        zone = times.zone(zone_name)
        local = now.astimezone(zone)
        if local.hour < REMINDER_HOUR:
            continue
        fire_at = datetime.combine(local.date(), time(REMINDER_HOUR), zone).astimezone(UTC)
        for entry in morning_reminders(s, login, local.date()):
            title = f"{entry.name} ({entry.age})" if entry.age is not None else entry.name
            for channel in ("display", "chat"):
                added += _add_once(
                    s,
                    Reminder(
                        owner=login,
                        collection_id=0,
                        href=f"{entry.kind}:{entry.contact_uid}",
                        key=f"{entry.kind}|{local.date().isoformat()}",
                        channel=channel,
                        fire_at=fire_at,
                        due_at=fire_at,
                        status="pending",
                        attempts=0,
                        last_error="",
                        claimed_by="",
                        repeat="",
                        title=f"{entry.kind.title()}: {title}",
                        location="",
                    ),
                )
    return added


def _add_once(s: Session, row: Reminder) -> int:
    exists = s.scalar(
        select(Reminder.id).where(
            Reminder.collection_id == row.collection_id,
            Reminder.href == row.href,
            Reminder.key == row.key,
            Reminder.channel == row.channel,
        )
    )
    if exists:
        return 0
    try:
        with s.begin_nested():
            s.add(row)
    except IntegrityError:
        return 0  # another node queued it at the same moment
    return 1


def to_icalendar(entries: list[Birthday]) -> str:
    """All-day, transparent events for the web UI's calendar view (not a DAV resource)."""
    cal = icalendar.Calendar()
    cal.add("VERSION", "2.0")
    cal.add("PRODID", "-//calcard//birthdays//EN")
    for entry in entries:
        title = f"{entry.name} ({entry.age})" if entry.age is not None else entry.name
        event = icalendar.Event()
        event.add("UID", f"{entry.kind}-{entry.date.year}-{entry.contact_uid}@calcard")
        event.add("DTSTAMP", datetime(2000, 1, 1, tzinfo=UTC))
        event.add("DTSTART", entry.date)
        event.add("DTEND", entry.date + timedelta(days=1))
        event.add("SUMMARY", title if entry.kind == "birthday" else f"{title} – {entry.kind}")
        event.add("TRANSP", "TRANSPARENT")
        event.add("CATEGORIES", [entry.kind])
        cal.add_component(event)
    return cal.to_ical().decode()
