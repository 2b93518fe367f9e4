"""The reminder schedule: alarm occurrences as rows, kept in step with items.

``schedule_item`` runs in the same transaction as the item change (DESIGN.md
rule 3), so a saved, moved or deleted event never leaves a stale reminder
behind. Rows cover a rolling horizon; ``extend_horizon`` pushes it forward so
a reminder far in the future still fires on time. Dispatchers then claim due
rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on SQLite).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import icalendar
from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from calcard.core import leases, recurrence
from calcard.core.models import Reminder, ReminderItem, User
from calcard.core.times import as_utc, utcnow
from calcard.store import alarms, items

HORIZON = timedelta(days=60)
LATE_ON_SAVE = timedelta(minutes=5)  # an alarm this late when saved still fires
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5
REPEAT_SUFFIX = "|repeat"


def owner_addresses(s: Session, login: str) -> set[str]:
    """The addresses that are ``login`` in scheduling and alarms: the login and the
    verified account address (never a pending one, see calcard.verification)."""
    email = s.scalar(select(User.email_key).where(User.login == login)) or ""
    return {login, email} - {""}


def schedule_item(
    s: Session, owner: str, collection_id: int, href: str, text: str, now: datetime
) -> None:
    """Make the pending rows of one item match its alarms (``schedule_items``)."""
    schedule_items(s, owner, collection_id, [(href, text)], now)


def schedule_items(
    s: Session,
    owner: str,
    collection_id: int,
    changes: Sequence[tuple[str, str | None]],
    now: datetime,
    parsed: Mapping[str, icalendar.Calendar] | None = None,
) -> None:
    """Make the pending rows of each (href, text) match its alarms from now to now +
    HORIZON; a text None means the item is gone, and its pending rows (repeats
    included) go with it. A few statements for all of ``changes`` (distinct hrefs).
    ``parsed`` holds ``ical.calendar_of(text)`` of hrefs the caller parsed already.

    Bounded (calcard.recurrence): the span is shortened so the item's rules give
    at most MAX_OCCURRENCES occurrences, and the alarms are cut there too; the
    item is then scheduled only up to that point, and ``extend_horizon`` goes on
    from there when it comes near.
    """
    existing: dict[str, list] = {href: [] for href, _ in changes}
    for row in _rows_of(s, collection_id, list(existing)):
        existing[row.href].append(row)
    alarmed = {h for h, text in changes if text is not None and "BEGIN:VALARM" in text.upper()}
    addresses = owner_addresses(s, owner) if alarmed else set()
    stale: list[int] = []
    rows: list[dict] = []
    tracked: list[dict] = []
    for href, text in changes:
        if text is None:
            stale += [r.id for r in existing[href] if r.status == "pending"]
            continue
        wanted, until = (
            _bounded_alarms(text, now, addresses, (parsed or {}).get(href))
            if href in alarmed
            else ([], now)
        )
        stale += _stale(existing[href], wanted)
        known = {(r.key, r.channel, as_utc(r.fire_at)) for r in existing[href]}
        rows += [
            _row(owner, collection_id, href, a)
            for a in wanted
            if (a.key, a.channel, a.fire_at) not in known
        ]
        if href in alarmed:
            tracked.append(
                {"collection_id": collection_id, "href": href, "owner": owner,
                 "scheduled_until": until}
            )  # fmt: skip
    for at in range(0, len(stale), 500):
        s.execute(delete(Reminder).where(Reminder.id.in_(stale[at : at + 500])))
    if rows:
        s.execute(Reminder.__table__.insert(), rows)
    _track(s, collection_id, list(existing), tracked)


def _rows_of(s: Session, collection_id: int, hrefs: list[str]) -> list:
    """The reminder rows of these items, of every status."""
    found: list = []
    for at in range(0, len(hrefs), 500):
        found += s.execute(
            select(
                Reminder.id,
                Reminder.href,
                Reminder.key,
                Reminder.channel,
                Reminder.fire_at,
                Reminder.status,
            ).where(
                Reminder.collection_id == collection_id,
                Reminder.href.in_(hrefs[at : at + 500]),
            )
        ).all()
    return found


def _stale(existing: list, wanted: list[alarms.Alarm]) -> list[int]:
    """Pending rows no alarm wants any more (a repeat's next row stays until stopped)."""
    wanted_keys = {(a.key, a.channel, a.fire_at) for a in wanted}
    return [
        r.id
        for r in existing
        if r.status == "pending"
        and not r.key.endswith(REPEAT_SUFFIX)
        and (r.key, r.channel, as_utc(r.fire_at)) not in wanted_keys
    ]


def _bounded_alarms(
    text: str, now: datetime, addresses: set[str], calendar: icalendar.Calendar | None = None
) -> tuple[list[alarms.Alarm], datetime]:
    """The item's alarms from a little before now, at most MAX_OCCURRENCES, and until when."""
    start, until = recurrence.window(text, now - LATE_ON_SAVE, now + HORIZON, now)
    wanted = alarms.alarms_between(text, start, until, addresses, calendar)
    if len(wanted) > recurrence.MAX_OCCURRENCES:
        wanted.sort(key=lambda a: a.fire_at)
        until = wanted[recurrence.MAX_OCCURRENCES].fire_at
        wanted = [a for a in wanted if a.fire_at < until]
    return wanted, until


def alarms_for(
    s: Session, owner: str, text: str, start: datetime, until: datetime
) -> list[alarms.Alarm]:
    """The alarms of ``owner``'s item firing in [start, until), as the schedule has them
    (guest copies have none: ``alarms.is_guest_copy``). Shared with
    ``store.consistency``, which checks the stored rows against them."""
    return alarms.alarms_between(text, start, until, owner_addresses(s, owner))


def _row(owner: str, collection_id: int, href: str, alarm: alarms.Alarm) -> dict:
    return {
        "owner": owner,
        "collection_id": collection_id,
        "href": href,
        "key": alarm.key,
        "channel": alarm.channel,
        "fire_at": alarm.fire_at,
        "due_at": alarm.fire_at,
        "status": "pending",
        "attempts": 0,
        "last_error": "",
        "claimed_by": "",
        "repeat": alarm.repeat,
        "title": alarm.title[:1000],
        "starts_at": alarm.starts_at,
        "location": alarm.location[:1000],
    }


def _track(s: Session, collection_id: int, hrefs: list[str], tracked: list[dict]) -> None:
    """Record how far ahead each item with alarms is scheduled (``tracked``); the other
    ``hrefs`` are not tracked. An ORM delete, so rows loaded in the session go too."""
    for at in range(0, len(hrefs), 500):
        s.execute(
            delete(ReminderItem).where(
                ReminderItem.collection_id == collection_id,
                ReminderItem.href.in_(hrefs[at : at + 500]),
            )
        )
    if tracked:
        s.execute(insert(ReminderItem), tracked)


def unschedule_item(s: Session, collection_id: int, href: str) -> None:
    """The item is gone: its pending reminders (repeats included) go with it."""
    schedule_items(s, "", collection_id, [(href, None)], utcnow())


def extend_horizon(s: Session, now: datetime, limit: int = 200) -> int:
    """Reschedule items whose scheduled window ends within half a horizon."""
    due = s.scalars(
        select(ReminderItem)
        .where(ReminderItem.scheduled_until < now + HORIZON / 2)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for tracked in due:
        text = items.live_text(s, tracked.collection_id, tracked.href)
        if text is None:
            unschedule_item(s, tracked.collection_id, tracked.href)
        else:
            schedule_item(s, tracked.owner, tracked.collection_id, tracked.href, text, now)
    return len(due)


def claimants(s: Session) -> Sequence[str]:
    """Workers currently holding claimed rows."""
    return s.scalars(
        select(Reminder.claimed_by).where(Reminder.status == "sending").distinct()
    ).all()


def claim(
    s: Session,
    worker: str,
    now: datetime,
    grace: timedelta,
    limit: int,
    dead_workers: Sequence[str] = (),
) -> Sequence[Reminder]:
    """Take up to ``limit`` due rows for this worker; too-late first sends become missed.

    Rows held by a worker whose lease ran out, or that is known dead, are due again.
    """
    s.execute(
        update(Reminder)
        .where(
            Reminder.status == "pending",
            Reminder.attempts == 0,
            Reminder.due_at <= now,
            Reminder.fire_at < now - grace,
        )
        .values(status="missed", last_error="the server was not running when it was due")
    )
    due = or_(
        and_(Reminder.status == "pending", Reminder.due_at <= now),
        and_(Reminder.status == "sending", Reminder.lease_until < now),
        and_(Reminder.status == "sending", Reminder.claimed_by.in_(dead_workers)),
    )
    return leases.claim_due(
        s, Reminder, due, limit, now + LEASE, status="sending", claimed_by=worker
    )


def record_sent(s: Session, reminder_id: int, now: datetime) -> None:
    """Mark one delivery done; a repeating reminder gets its next row."""
    row = s.get(Reminder, reminder_id)
    if row is None or row.status != "sending":
        return
    row.status, row.sent_at, row.lease_until = "sent", now, None
    if row.repeat in alarms.REPEATS:
        following = as_utc(row.fire_at) + alarms.REPEATS[row.repeat]
        while following <= now:
            following += alarms.REPEATS[row.repeat]
        s.add(
            Reminder(
                owner=row.owner,
                collection_id=row.collection_id,
                href=row.href,
                key=row.key if row.key.endswith(REPEAT_SUFFIX) else row.key + REPEAT_SUFFIX,
                channel=row.channel,
                fire_at=following,
                due_at=following,
                status="pending",
                attempts=0,
                last_error="",
                claimed_by="",
                repeat=row.repeat,
                title=row.title,
                starts_at=row.starts_at,
                location=row.location,
            )
        )
    s.flush()


def record_failure(s: Session, reminder_id: int, now: datetime, error: str) -> None:
    """Retry with exponential backoff (30 s, 1 min, 2 min, ...); give up after MAX_ATTEMPTS."""
    row = s.get(Reminder, reminder_id)
    if row is None or row.status != "sending":
        return
    row.attempts += 1
    row.last_error = error[:1000]
    row.lease_until = None
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
    else:
        row.status = "pending"
        row.due_at = now + timedelta(seconds=30 * 2 ** (row.attempts - 1))
    s.flush()


def release(s: Session, reminder_ids: Sequence[int]) -> None:
    """Hand claimed but undelivered rows back (a dispatcher stopping cleanly)."""
    if reminder_ids:
        s.execute(
            update(Reminder)
            .where(Reminder.id.in_(reminder_ids), Reminder.status == "sending")
            .values(status="pending", lease_until=None, claimed_by="")
        )


def stop_chain(s: Session, reminder: Reminder) -> None:
    """Stop a repeating reminder: every pending row of the same alarm occurrence."""
    base = reminder.key.removesuffix(REPEAT_SUFFIX)
    s.execute(
        update(Reminder)
        .where(
            Reminder.collection_id == reminder.collection_id,
            Reminder.href == reminder.href,
            Reminder.key.in_([base, base + REPEAT_SUFFIX]),
            Reminder.status.in_(["pending", "sending"]),
        )
        .values(status="stopped", lease_until=None)
    )


def list_for(
    s: Session, owner: str, status: str | None = None, limit: int = 200
) -> Sequence[Reminder]:
    query = select(Reminder).where(Reminder.owner == owner)
    if status:
        query = query.where(Reminder.status == status)
    return s.scalars(query.order_by(Reminder.fire_at.desc()).limit(limit)).all()
