"""Busy time of calendar items (RFC 4791 §7.10, RFC 5545 §3.6.1 TRANSP/STATUS).

Occurrences are expanded once, when an item is written, into ``busy_periods``
rows for a window around now; queries inside the window are then a single
indexed range lookup per participant. Outside the window (or for an item not
yet materialized) the same expansion runs on the fly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from calcard import items
from calcard.models import BusyItem, BusyPeriod, User

WINDOW_BEFORE = timedelta(days=366)
WINDOW_AFTER = timedelta(days=731)
# Stored periods are cut into pieces of at most this length, so a range query can
# bound `start` from below too and stay a tight index range scan.
CHUNK_SECONDS = 7 * 24 * 3600

Period = tuple[int, int, str]  # (start, end) as POSIX seconds, and BUSY | BUSY-TENTATIVE


def localize(value, zone: ZoneInfo) -> datetime:
    """Dates are local midnights; floating times are in the owner's zone."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def occurrence_periods(text: str, start: datetime, end: datetime, zone: ZoneInfo) -> list[Period]:
    """Busy periods of one item's events overlapping [start, end)."""
    try:
        calendar = icalendar.Calendar.from_ical(text)
        occurrences = recurring_ical_events.of(calendar, skip_bad_series=True).between(
            start.astimezone(zone), end.astimezone(zone)
        )
    except (ValueError, TypeError, KeyError):
        return []  # an item Radicale accepted but we cannot expand counts as free
    periods: list[Period] = []
    for event in occurrences:
        if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        status = str(event.get("STATUS", "CONFIRMED")).upper()
        if status == "CANCELLED" or event.get("DTSTART") is None:
            continue
        begin = event["DTSTART"].dt
        finish = event["DTEND"].dt if event.get("DTEND") is not None else None
        if finish is None:
            duration = event["DURATION"].dt if event.get("DURATION") is not None else None
            day_long = not isinstance(begin, datetime)
            finish = begin + (duration or (timedelta(days=1) if day_long else timedelta(0)))
        first, last = localize(begin, zone), localize(finish, zone)
        if last <= first:
            continue
        kind = "BUSY-TENTATIVE" if status == "TENTATIVE" else "BUSY"
        periods.append((int(first.timestamp()), int(last.timestamp()), kind))
    return periods


def user_zone(s: Session, login: str) -> ZoneInfo:
    return zone_named(s.scalar(select(User.timezone).where(User.login == login)) or "UTC")


def zone_named(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def materialize(
    s: Session, owner: str, collection_id: int, href: str, text: str | None, now: datetime
) -> None:
    """Replace an item's busy rows (none when ``text`` is None: the item is gone)."""
    s.execute(
        delete(BusyPeriod).where(BusyPeriod.collection_id == collection_id, BusyPeriod.href == href)
    )
    tracked = s.get(BusyItem, (collection_id, href))
    if text is None or "VEVENT" not in text:
        if tracked is not None:
            s.delete(tracked)
        return
    first, last = now - WINDOW_BEFORE, now + WINDOW_AFTER
    periods = occurrence_periods(text, first, last, user_zone(s, owner))
    rows = [
        {
            "owner": owner,
            "collection_id": collection_id,
            "href": href,
            "start": begin,
            "end": min(begin + CHUNK_SECONDS, finish),
            "kind": kind,
        }
        for first_second, finish, kind in periods
        for begin in range(first_second, finish, CHUNK_SECONDS)
    ]
    if rows:
        s.execute(BusyPeriod.__table__.insert(), rows)
    if tracked is None:
        tracked = BusyItem(collection_id=collection_id, href=href, owner=owner)
        s.add(tracked)
    tracked.window_start, tracked.window_end = int(first.timestamp()), int(last.timestamp())
    s.flush()


def extend_windows(s: Session, now: datetime, limit: int = 200) -> int:
    """Re-expand items whose window ends within a year (periodic, from the dispatcher)."""
    due = s.scalars(
        select(BusyItem)
        .where(BusyItem.window_end < int((now + WINDOW_AFTER / 2).timestamp()))
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for tracked in due:
        text = items.live_text(s, tracked.collection_id, tracked.href)
        materialize(s, tracked.owner, tracked.collection_id, tracked.href, text, now)
    return len(due)


def to_utc(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)
