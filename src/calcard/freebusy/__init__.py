"""Free/busy and the slot finder (DESIGN.md, Free/busy and the slot finder).

Who may see whose availability is decided here, once, for the API and DAV:
a participant is *known* to an organizer when they are the organizer, a room
of one of the organizer's organizations, or share at least one calendar with
the organizer (directly, through a workgroup, or organization-wide). Everyone
else is *unknown*, with the reason, and counts as neither free nor busy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from calcard import sharing, store
from calcard.core import timebounds, times
from calcard.core.catalogs import N_
from calcard.core.errors import Refusal
from calcard.core.models import Collection, Membership, Occurrence, Room, User
from calcard.core.times import utcnow
from calcard.store import busy

DEFAULT_HORIZON_DAYS = 14
MAX_HORIZON_DAYS = 366
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Why someone's availability is unknown: the web calendar shows it, said by the API in
# the caller's language (DAV's scheduling outbox answers with a status code instead).
NO_USER = N_("no calcard user has this address")
NOT_SHARED = N_("shares no calendar with you")
OTHER_ORG_ROOM = N_("room of an organization you are not in")
EXCLUDE_PROP = "CALCARD:freebusy"  # collection property; "exclude" keeps it out of free/busy

Interval = tuple[int, int]


@dataclass
class FindResult:
    slots: list[Interval]
    unknown: dict[str, str]
    blocking: list[str] = field(default_factory=list)


def resolve(s: Session, address: str) -> User | None:
    """A user (or room) by login or verified account address, case-insensitive.

    Only verified addresses name a user (``email_key``, unique): an address
    someone typed in but did not verify (``email_pending``) names nobody, so it
    cannot divert invitations or free/busy lookups meant for its real owner.
    """
    value = address.strip().lower().removeprefix("mailto:")
    return s.scalars(select(User).where(or_(User.login == value, User.email_key == value))).first()


def _room_org(s: Session, user: User) -> int | None:
    return s.scalar(select(Room.org_id).where(Room.user_id == user.id))


def sharing_owners(s: Session, organizer: str) -> set[str]:
    """Everyone who shares at least one calendar with the organizer."""
    return {
        shared.collection.owner
        for shared in sharing.shared_with(s, organizer)
        if shared.collection.tag == "VCALENDAR"
    }


def unknown_reason(
    s: Session, organizer: str, user: User | None, owners: set[str] | None = None
) -> str | None:
    """Why ``organizer`` may not see this user's availability, or None when they may.

    ``owners`` is ``sharing_owners(s, organizer)`` when the caller already has it.
    """
    if user is None:
        return NO_USER
    if user.login == organizer:
        return None
    room_org = _room_org(s, user)
    if room_org is not None:
        member = s.scalar(
            select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(User.login == organizer, Membership.org_id == room_org)
        )
        return None if member else OTHER_ORG_ROOM
    owners = sharing_owners(s, organizer) if owners is None else owners
    return None if user.login in owners else NOT_SHARED


def counts(collection: store.CollectionData) -> bool:
    """Whether a calendar's events count for its owner's free/busy: not when the owner
    took the calendar out (``EXCLUDE_PROP``). One rule for the slot finder, the
    outbox (RFC 6638 §5) and the free-busy-query REPORT (RFC 4791 §7.10)."""
    return collection.tag == "VCALENDAR" and collection.props.get(EXCLUDE_PROP) != "exclude"


def counted_collections(s: Session, login: str) -> list[store.CollectionData]:
    """The user's own calendars, less those they excluded from free/busy."""
    return [c for c in store.child_collections(s, login) if counts(c)]


def busy_periods(
    s: Session, login: str, start: datetime, end: datetime, except_href: str | None = None
) -> list[busy.Period]:
    """Busy periods of a user overlapping [start, end): materialized rows, or expansion.

    ``except_href`` leaves one item out (a room re-checking a booking it holds).
    """
    collections = counted_collections(s, login)
    return [p for c in collections for p in collection_busy(s, c, start, end, except_href)]


def busy_by_owner(
    s: Session, logins: set[str], start: datetime, end: datetime
) -> dict[str, list[Interval]]:
    """Everyone's busy intervals at once: one query for the counted calendars, one for
    their indexed periods and one for the few items the index does not cover (the slot
    finder's hot path)."""
    rows = s.scalars(
        select(Collection).where(
            Collection.owner.in_(logins),
            Collection.parent == Collection.owner,
            Collection.tag == "VCALENDAR",
            Collection.deleted_at.is_(None),
        )
    ).all()
    owners = {c.id: c.owner for c in map(store.collection_data, rows) if counts(c)}
    found: dict[str, list[Interval]] = {login: [] for login in logins}
    for collection_id, begin, finish, _ in _busy(s, owners, start, end):
        found[owners[collection_id]].append((begin, finish))
    return found


def _busy(
    s: Session,
    owners: dict[int, str],
    start: datetime,
    end: datetime,
    except_href: str | None = None,
) -> list[tuple[int, int, int, str]]:
    """(calendar id, start, end, kind) of the busy periods of the calendars ``owners``
    names (id: owner) overlapping [start, end), at any date: the occurrence index's
    rows, and an expansion (in the owner's zone) of each item it does not cover."""
    start, end = timebounds.clamp(start, end)
    first, last = int(start.timestamp()), int(end.timestamp())
    expand = [
        (cid, item)
        for cid, item in store.uncovered_events(s, list(owners), first, last)
        if item.href != except_href
    ]
    skip = {(cid, item.href) for cid, item in expand} | {(cid, except_href) for cid in owners}
    found = [
        (r.collection_id, r.start, r.end, r.kind)
        for r in s.execute(
            select(
                Occurrence.collection_id,
                Occurrence.href,
                Occurrence.start,
                Occurrence.end,
                Occurrence.kind,
            ).where(
                Occurrence.collection_id.in_(list(owners)),  # ix_occurrences_collection_time
                Occurrence.start < last,
                Occurrence.start >= first - busy.CHUNK_SECONDS,
                Occurrence.end > first,
                Occurrence.kind.in_(busy.BUSY_KINDS),
            )
        )
        if (r.collection_id, r.href) not in skip
    ]
    zones = {owner: busy.user_zone(s, owner) for owner in {owners[c] for c, _ in expand}}
    for cid, item in expand:
        for a, b, kind in busy.occurrence_periods(item.text, start, end, zones[owners[cid]]):
            found.append((cid, a, b, kind))
    return found


def collection_busy(
    s: Session,
    collection: store.CollectionData,
    start: datetime,
    end: datetime,
    except_href: str | None = None,
) -> list[busy.Period]:
    """One calendar's busy periods (also what a CalDAV free-busy-query answers).

    The window is clamped to timebounds: no item lies outside, and expansion widens it.
    """
    periods = _busy(s, {collection.id: collection.owner}, start, end, except_href)
    return [(a, b, kind) for _, a, b, kind in periods]


def report_busy(
    s: Session, collection: store.CollectionData, start: datetime, end: datetime
) -> list[busy.Period]:
    """What a CalDAV free-busy-query REPORT on one calendar answers (RFC 4791 §7.10):
    its busy periods by the slot finder's rules (transparent and cancelled events are
    free), none at all for a calendar its owner took out of free/busy."""
    return collection_busy(s, collection, start, end) if counts(collection) else []


def working_hours_gaps(user: User, start: datetime, end: datetime) -> list[Interval]:
    """Time outside the user's weekly working hours (settings ``working_hours``).

    ``{"mon": ["09:00-17:00"], ...}`` in the user's time zone; no setting means
    always available, a weekday left out means not working that day.
    """
    hours = json.loads(user.settings or "{}").get("working_hours")
    if not hours:
        return []
    zone = times.zone(user.timezone)
    gaps: list[Interval] = []
    day = start.astimezone(zone).date() - timedelta(days=1)
    while busy.day_start(day, zone) < end:
        cursor = busy.day_start(day, zone)
        for span in sorted(hours.get(WEEKDAYS[day.weekday()], [])):
            opens, closes = (_at(day, part, zone) for part in span.split("-"))
            gaps.append((int(cursor.timestamp()), int(opens.timestamp())))
            cursor = closes
        gaps.append(
            (
                int(cursor.timestamp()),
                int(busy.day_start(day + timedelta(days=1), zone).timestamp()),
            )
        )
        day += timedelta(days=1)
    return [g for g in gaps if g[1] > g[0]]


def _at(day, clock: str, zone: ZoneInfo) -> datetime:
    hour, minute = (int(x) for x in clock.strip().split(":"))
    return busy.day_start(day, zone) + timedelta(hours=hour, minutes=minute)


def merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for begin, finish in sorted(intervals):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged


def free_slots(
    blocked: list[Interval], start: int, end: int, length: int, count: int
) -> list[Interval]:
    """The first ``count`` non-overlapping free slots of ``length`` seconds in [start, end)."""
    slots: list[Interval] = []
    cursor = start
    for begin, finish in merge(blocked) + [(end, end)]:
        while begin - cursor >= length and len(slots) < count and cursor + length <= end:
            slots.append((cursor, cursor + length))
            cursor += length
        cursor = max(cursor, finish)
        if len(slots) >= count or cursor >= end:
            break
    return slots


def find(
    s: Session,
    organizer: str,
    attendees: list[str],
    start: datetime,
    duration: timedelta,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    alternatives: int = 0,
) -> FindResult:
    """The earliest free slot(s) for the organizer and every known attendee."""
    end = start + timedelta(days=horizon_days)
    unknown: dict[str, str] = {}
    blocked: dict[str, list[Interval]] = {}
    owners = sharing_owners(s, organizer)
    known: dict[str, User] = {}
    for asked in [organizer, *attendees]:
        user = resolve(s, asked)
        reason = unknown_reason(s, organizer, user, owners)
        if reason is not None or user is None:
            unknown[asked] = reason or NO_USER
        else:
            known[asked] = user
    periods = busy_by_owner(s, {u.login for u in known.values()}, start, end)
    for asked, user in known.items():
        blocked[asked] = periods[user.login] + working_hours_gaps(user, start, end)
    first, last, length = (
        int(start.timestamp()),
        int(end.timestamp()),
        int(duration.total_seconds()),
    )
    everyone = [i for intervals in blocked.values() for i in intervals]
    slots = free_slots(everyone, first, last, length, 1 + alternatives)
    result = FindResult(slots=slots, unknown=unknown)
    if not slots:
        result.blocking = _blocking(blocked, first, last, length)
    return result


def _blocking(blocked: dict[str, list[Interval]], first: int, last: int, length: int) -> list[str]:
    """Participants without whom a slot would exist; else everyone with time blocked."""
    culprits = [
        name
        for name in blocked
        if free_slots(
            [i for other, ivs in blocked.items() if other != name for i in ivs],
            first,
            last,
            length,
            1,
        )
    ]
    return culprits or [name for name, intervals in blocked.items() if intervals]


def vfreebusy(
    periods: list[busy.Period],
    start: datetime,
    end: datetime,
    method: str | None = None,
    organizer: str = "",
    attendee: str = "",
) -> str:
    """A VCALENDAR with one VFREEBUSY (RFC 5545 §3.6.4), FREEBUSY lines merged per type."""
    calendar = icalendar.Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", "-//calcard//freebusy//EN")
    if method:
        calendar.add("METHOD", method)
    component = icalendar.FreeBusy()
    component.add("DTSTAMP", utcnow())
    component.add("DTSTART", start.astimezone(UTC))
    component.add("DTEND", end.astimezone(UTC))
    if organizer:
        component.add("ORGANIZER", organizer)
    if attendee:
        component.add("ATTENDEE", attendee)
    for kind in ("BUSY", "BUSY-TENTATIVE"):
        for first, last in merge([(a, b) for a, b, k in periods if k == kind]):
            line = icalendar.vPeriod((times.from_posix(first), times.from_posix(last)))
            component.add("FREEBUSY", line, parameters={"FBTYPE": kind})
    calendar.add_component(component)
    return calendar.to_ical().decode()


@dataclass(frozen=True)
class OutboxAnswer:
    recipient: str
    status: str  # RFC 6638 §3.2.9 / RFC 5545 request-status
    calendar: str | None


def outbox_freebusy(s: Session, organizer: str, request_text: str) -> list[OutboxAnswer]:
    """Answer an RFC 6638 §5 VFREEBUSY request POSTed to the organizer's outbox.

    DTSTART and DTEND are UTC by RFC 5545 §3.6.4; a floating time or a date (python-caldav
    sends ``datetime.now()`` as it is) is taken in the organizer's zone, as calcard reads
    floating times of their events, rather than failing."""
    try:
        request = icalendar.Calendar.from_ical(request_text)
        # Any: icalendar types each property as every value type, DTSTART as much as ATTENDEE
        query: Any = next(c for c in request.walk("VFREEBUSY"))
        start, end = query["DTSTART"].dt, query["DTEND"].dt
        recipients = query.get("ATTENDEE", [])
    except (ValueError, StopIteration, KeyError, AttributeError) as exc:  # a DTSTART twice
        raise Refusal(f"not a VFREEBUSY request: {exc}") from exc
    zone = busy.user_zone(s, organizer)
    try:
        start, end = (times.as_utc(times.localize(value, zone)) for value in (start, end))
    except (OverflowError, AttributeError, TypeError) as exc:  # year 1 or 9999; a bare time
        raise Refusal(f"DTSTART and DTEND must be dates or date-times in range: {exc}") from exc
    if end <= start:
        raise Refusal("the VFREEBUSY request's DTEND must be after its DTSTART")
    recipients = recipients if isinstance(recipients, list) else [recipients]
    answers = []
    for recipient in recipients:
        address = str(recipient)
        user = resolve(s, address)
        reason = unknown_reason(s, organizer, user)
        if user is None:
            answers.append(OutboxAnswer(address, "3.7;Invalid calendar user", None))
        elif reason is not None:
            answers.append(OutboxAnswer(address, "3.8;No authority", None))
        else:
            periods = busy_periods(s, user.login, start, end)
            text = vfreebusy(periods, start, end, "REPLY", str(query.get("ORGANIZER", "")), address)
            answers.append(OutboxAnswer(address, "2.0;Success", text))
    return answers
