"""Busy time and the occurrence index (RFC 4791 §7.10 and §9.9, RFC 5545 §3.6.1).

Occurrences of every VEVENT are expanded once, when an item is written, into
``occurrences`` rows for a window around now; free/busy and calendar-query
time ranges inside the window are then indexed range lookups. Outside the
window (or for an item not yet materialized) the same expansion runs on the fly.

Every expansion is bounded (calcard.recurrence): an item keeps at most
``recurrence.MAX_OCCURRENCES`` occurrences, so its index may cover a shorter
window (an hourly rule: about four months from yesterday); the window stored in
``indexed_items`` says which, so queries outside it expand on the fly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from calcard.core import recurrence, times
from calcard.core.models import IndexedItem, Occurrence, User
from calcard.store import items

WINDOW_BEFORE = timedelta(days=366)
WINDOW_AFTER = timedelta(days=731)
# Stored periods are cut into pieces of at most this length, so a range query can
# bound `start` from below too and stay a tight index range scan.
CHUNK_SECONDS = 7 * 24 * 3600
BUSY_KINDS = ("BUSY", "BUSY-TENTATIVE")

# (start, end) as POSIX seconds, and BUSY | BUSY-TENTATIVE | FREE | INSTANT
Period = tuple[int, int, str]


def _expand(calendar: icalendar.Calendar, start: datetime, end: datetime, zone: ZoneInfo):
    """The VEVENT occurrences overlapping [start, end), and whether all of a clean
    recurrence set: a series recurring_ical_events has to skip makes it inexact."""
    window = (start.astimezone(zone), end.astimezone(zone))
    try:
        return recurring_ical_events.of(calendar).between(*window), True
    except (ValueError, TypeError, KeyError, recurring_ical_events.InvalidCalendar):
        return recurring_ical_events.of(calendar, skip_bad_series=True).between(*window), False


def _kind(event) -> str:
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return "FREE"
    status = str(event.get("STATUS", "CONFIRMED")).upper()
    return {"CANCELLED": "FREE", "TENTATIVE": "BUSY-TENTATIVE"}.get(status, "BUSY")


def _zero_kind(calendar: icalendar.Calendar) -> str | None:
    """RFC 4791 §9.9: an event without DTEND (no or a zero DURATION) is an instant,
    matching a range that starts at it; one whose DTEND equals DTSTART is not.
    Occurrences all carry a DTEND, so the source components tell (None: mixed)."""
    has_end = {c.get("DTEND") is not None for c in calendar.walk("VEVENT")}
    return None if len(has_end) > 1 else "FREE" if True in has_end else "INSTANT"


def occurrences(
    text: str, start: datetime, end: datetime, zone: ZoneInfo, now: datetime | None = None
) -> tuple[list[Period], bool]:
    """Every VEVENT occurrence overlapping [start, end), and whether the list is exact:
    fixed instants only (a floating time or a date depends on the reader's zone).

    Bounded: see ``bounded_occurrences``; a cut list is not exact.
    """
    periods, exact, _ = bounded_occurrences(text, start, end, zone, now)
    return periods, exact


def bounded_occurrences(
    text: str, start: datetime, end: datetime, zone: ZoneInfo, now: datetime | None = None
) -> tuple[list[Period], bool, datetime]:
    """``occurrences`` with the end of what they cover: at most MAX_OCCURRENCES periods.

    The span expanded is shortened by ``recurrence.window`` when the item's rules
    would give more (so the expansion itself stays cheap), and the periods are
    cut at the cap (long RDATE lists); the returned end is where coverage stops.
    """
    start, end = recurrence.window(text, start, end, now or datetime.now(UTC))
    try:
        calendar = icalendar.Calendar.from_ical(text)
        found, exact = _expand(calendar, start, end, zone)
    except (ValueError, TypeError, KeyError, recurring_ical_events.InvalidCalendar):
        return [], False, end  # an item Radicale accepted but we cannot expand counts as free
    periods: list[Period] = []
    for event in found:
        if event.get("DTSTART") is None:
            exact = False
            continue
        begin = event["DTSTART"].dt
        finish = event["DTEND"].dt if event.get("DTEND") is not None else None
        if finish is None:
            duration = event["DURATION"].dt if event.get("DURATION") is not None else None
            day_long = not isinstance(begin, datetime)
            finish = begin + (duration or (timedelta(days=1) if day_long else timedelta(0)))
        exact = exact and all(isinstance(v, datetime) and v.tzinfo for v in (begin, finish))
        first, last = (
            int(times.localize(begin, zone).timestamp()),
            int(times.localize(finish, zone).timestamp()),
        )
        kind = _kind(event) if last > first else _zero_kind(calendar)
        if last < first or kind is None:
            exact = False
            continue
        periods.append((first, last, kind))
    if len(periods) > recurrence.MAX_OCCURRENCES:
        periods.sort()
        end = times.from_posix(periods[recurrence.MAX_OCCURRENCES][0])
        periods = periods[: recurrence.MAX_OCCURRENCES]
    return periods, exact, end


def occurrence_periods(text: str, start: datetime, end: datetime, zone: ZoneInfo) -> list[Period]:
    """Busy periods of one item's events overlapping [start, end)."""
    return [p for p in occurrences(text, start, end, zone)[0] if p[2] in BUSY_KINDS]


def user_zone(s: Session, login: str) -> ZoneInfo:
    return times.zone(s.scalar(select(User.timezone).where(User.login == login)) or "UTC")


@dataclass(frozen=True)
class Index:
    """What ``materialize`` stores for one item: its occurrence rows (pieces of at most
    CHUNK_SECONDS) and the window they cover, as ``indexed_items`` keeps it."""

    rows: tuple[Period, ...]
    window_start: int
    window_end: int
    exact: bool


def index_of(text: str, zone: ZoneInfo, now: datetime) -> Index | None:
    """The occurrence index of an item saved at ``now``; None for an item without events
    (it is not indexed). The one computation of it: ``materialize`` stores it and
    ``store.consistency`` compares the stored rows with it."""
    if "VEVENT" not in text:
        return None
    first, last = recurrence.window(text, now - WINDOW_BEFORE, now + WINDOW_AFTER, now)
    periods, exact, last = bounded_occurrences(text, first, last, zone, now)
    rows = tuple(
        (begin, min(begin + CHUNK_SECONDS, finish), kind)
        for first_second, finish, kind in periods
        for begin in range(first_second, max(finish, first_second + 1), CHUNK_SECONDS)
    )
    return Index(rows, int(first.timestamp()), int(last.timestamp()), exact)


def indexed_at(text: str, window_start: int) -> datetime | None:
    """The moment ``materialize`` ran for an item whose stored window starts at
    ``window_start``, to the second (None: no moment gives that window).

    A window starts WINDOW_BEFORE before that moment, or ANCHOR_LEAD before it when
    the item's rules shortened it (``recurrence.window``); so what a save at that
    moment would write can be computed again, whenever the check runs.
    """
    for lead in (WINDOW_BEFORE, recurrence.ANCHOR_LEAD):
        now = times.from_posix(window_start) + lead
        first, _ = recurrence.window(text, now - WINDOW_BEFORE, now + WINDOW_AFTER, now)
        if int(first.timestamp()) == window_start:
            return now
    return None


def materialize(
    s: Session, owner: str, collection_id: int, href: str, text: str | None, now: datetime
) -> None:
    """Replace an item's occurrence rows (none when ``text`` is None: the item is gone)."""
    s.execute(
        delete(Occurrence).where(Occurrence.collection_id == collection_id, Occurrence.href == href)
    )
    tracked = s.get(IndexedItem, (collection_id, href))
    # The zone costs a query: only for an item with events (index_of: None otherwise).
    index = index_of(text, user_zone(s, owner), now) if text and "VEVENT" in text else None
    if index is None:
        if tracked is not None:
            s.delete(tracked)
        return
    rows = [
        {
            "owner": owner,
            "collection_id": collection_id,
            "href": href,
            "start": begin,
            "end": finish,
            "kind": kind,
        }
        for begin, finish, kind in index.rows
    ]
    if rows:
        s.execute(Occurrence.__table__.insert(), rows)
    if tracked is None:
        tracked = IndexedItem(collection_id=collection_id, href=href, owner=owner)
        s.add(tracked)
    tracked.window_start, tracked.window_end = index.window_start, index.window_end
    tracked.exact = index.exact
    s.flush()


def extend_windows(s: Session, now: datetime, limit: int = 200) -> int:
    """Re-expand items whose window ends within a year (periodic, from the dispatcher).

    An item whose index was cut short (MAX_OCCURRENCES) is re-expanded once half
    of its window lies behind, not on every run.
    """
    full = int((WINDOW_BEFORE + WINDOW_AFTER).total_seconds())
    moment = int(now.timestamp())
    due = s.scalars(
        select(IndexedItem)
        .where(
            IndexedItem.window_end < int((now + WINDOW_AFTER / 2).timestamp()),
            or_(
                IndexedItem.window_end - IndexedItem.window_start >= full,
                IndexedItem.window_start + IndexedItem.window_end < 2 * moment,
            ),
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for tracked in due:
        text = items.live_text(s, tracked.collection_id, tracked.href)
        materialize(s, tracked.owner, tracked.collection_id, tracked.href, text, now)
    return len(due)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)
