"""Checking the data derived from items against the items, and rebuilding it (``calcard check``).

Derived data is written in the transaction of the item it comes from (DESIGN.md
rule 3), so it only goes wrong outside the write path: a database pieced together
by a restore, a disk or a database that lost writes in a crash, hand edits. The
check recomputes every derived row with the functions the write path uses and
compares:

- each live item's ETag with its text (``ical.etag_of``: a torn write would not
  match), and its ``start``/``end`` columns, the time-range prefilter, with its
  occurrences (they must enclose them or a calendar-query misses the item);
- the occurrence index and busy time: the stored rows against an expansion of
  the span their stored window stands for (``busy.span_of``, ``busy.index_within``),
  not a fresh window: one written a month ago, or extended by a far query, is
  right although a save now would write another one;
- the reminder schedule (``reminders.alarms_for``): a pending row must be an
  alarm of the text within the scheduled span, and every alarm between now and
  the end of that span must have a row of any status (a sent, missed or stopped
  one counts: nothing already delivered is asked for again);
- the sync log (RFC 6578): every live item's href has a row, its latest not a
  removal, an item in the trash shows as removed, and no row is above the
  collection's revision (a client holding such a token would miss changes).

Repairing does what the write path does, with the same functions: it rewrites
an item's index (``busy.materialize``) or schedule (``reminders.schedule_item``,
which keeps rows already sent, missed or stopped, so no reminder goes out twice
and a stopped chain stays stopped), sets a wrong ETag from the text and logs the
change so clients fetch the item again. The texts are never changed. Each batch
is checked and repaired in one write transaction holding its owner's lock, so a
concurrent save is seen either whole or not at all.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, select, union, update
from sqlalchemy.orm import Session

from calcard import store
from calcard.core.db import Database, lock_owners
from calcard.core.models import (
    Collection,
    IndexedItem,
    Item,
    Occurrence,
    Reminder,
    ReminderItem,
    SyncLog,
)
from calcard.core.times import as_utc, utcnow
from calcard.store import busy, ical, reminders

BATCH = 200  # items (texts) in memory at once

# The tables the check reads whole (their planner statistics are refreshed first).
_READ = tuple(
    model.__tablename__
    for model in (Collection, Item, IndexedItem, Occurrence, Reminder, ReminderItem, SyncLog)
)

# What is wrong, which also says what repairing does.
ETAG = "etag"
RANGE = "range"
INDEX = "index"
SCHEDULE = "reminders"
SYNC = "sync"
REVISION = "revision"


@dataclass(frozen=True)
class Problem:
    path: str  # the collection's path, without slashes
    href: str  # "" for the collection itself
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"/{self.path}/ {self.href or '-'}: {self.detail}"


@dataclass
class Totals:
    collections: int = 0
    items: int = 0
    problems: int = 0


@dataclass
class _Derived:
    """The derived rows of one page of items of a calendar."""

    indexed: dict[str, IndexedItem] = field(default_factory=dict)
    occurrences: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    tracked: dict[str, ReminderItem] = field(default_factory=dict)
    reminders: dict[str, list] = field(default_factory=lambda: defaultdict(list))


def scan(db: Database, repair: bool = False, report: Callable[[Problem], None] = print) -> Totals:
    """Check everything, reporting each problem; with ``repair``, fix each batch as found.

    Returns the totals of what was found (before repairing): run it again to see
    whether a repair left everything consistent.
    """
    totals = Totals()
    db.refresh_statistics(*_READ)
    with db.transaction() as s:
        collections = s.execute(
            select(Collection.id, Collection.path, Collection.owner, Collection.tag)
            .where(Collection.deleted_at.is_(None), Collection.path != "")
            .order_by(Collection.path)
        ).all()
    for collection in collections:
        totals.collections += 1
        _scan_collection(db, collection, repair, report, totals)
    _scan_orphans(db, repair, report, totals)
    return totals


def _scan_collection(db: Database, collection, repair, report, totals: Totals) -> None:
    with db.transaction(write=repair, owners=[collection.owner]) as s:
        found = _sync_problems(s, collection)
        _handle(s, collection, found, repair, report, totals)
    after = ""
    while True:
        with db.transaction(write=repair, owners=[collection.owner]) as s:
            page = s.execute(
                select(Item.href, Item.etag, Item.text, Item.start, Item.end, Item.component)
                .where(
                    Item.collection_id == collection.id,
                    Item.deleted_at.is_(None),
                    Item.href > after,
                )
                .order_by(Item.href)
                .limit(BATCH)
            ).all()
            if not page:
                return
            totals.items += len(page)
            found = _item_problems(s, collection, page, utcnow())
            _handle(s, collection, found, repair, report, totals)
        after = page[-1].href


def _handle(s: Session, collection, found: list[Problem], repair, report, totals) -> None:
    for problem in found:
        report(problem)
    totals.problems += len(found)
    if repair and found:
        _repair(s, collection, found)


# --- items -----------------------------------------------------------------------------


def _item_problems(s: Session, collection, page, now: datetime) -> list[Problem]:
    found: list[Problem] = []

    def problem(href: str, kind: str, detail: str) -> None:
        found.append(Problem(collection.path, href, kind, detail))

    derived = _derived(s, collection.id, [row.href for row in page])
    zone = busy.user_zone(s, collection.owner) if collection.tag == "VCALENDAR" else None
    for row in page:
        if row.etag != ical.etag_of(row.text):
            problem(row.href, ETAG, "its ETag does not match its text")
        if zone is None:
            continue  # derived data exists only for calendars (store._derive)
        wrong, index = _index_problem(row, derived, zone, collection.owner, now)
        if wrong is not None:
            problem(row.href, INDEX, wrong)
        if index is not None and index.exact and index.rows and not _encloses(row, index):
            problem(row.href, RANGE, "its start/end columns do not enclose its occurrences")
        schedule = _schedule_problem(s, row, derived, collection.owner, now)
        if schedule is not None:
            problem(row.href, SCHEDULE, schedule)
    return found


def _derived(s: Session, collection_id: int, hrefs: list[str]) -> _Derived:
    derived = _Derived()
    for indexed in s.scalars(
        select(IndexedItem).where(
            IndexedItem.collection_id == collection_id, IndexedItem.href.in_(hrefs)
        )
    ):
        derived.indexed[indexed.href] = indexed
    for occurrence in s.execute(
        select(Occurrence.href, Occurrence.start, Occurrence.end, Occurrence.kind).where(
            Occurrence.collection_id == collection_id, Occurrence.href.in_(hrefs)
        )
    ):
        derived.occurrences[occurrence.href][occurrence[1:]] += 1
    for tracked in s.scalars(
        select(ReminderItem).where(
            ReminderItem.collection_id == collection_id, ReminderItem.href.in_(hrefs)
        )
    ):
        derived.tracked[tracked.href] = tracked
    for reminder in s.execute(
        select(
            Reminder.href, Reminder.key, Reminder.channel, Reminder.fire_at, Reminder.status
        ).where(Reminder.collection_id == collection_id, Reminder.href.in_(hrefs))
    ):
        derived.reminders[reminder.href].append(reminder)
    return derived


BAD_WINDOW = "its occurrence index window does not fit its text"


def _index_problem(
    row, derived: _Derived, zone, owner: str, now: datetime
) -> tuple[str | None, busy.Index | None]:
    """What is wrong with the item's occurrence index, and the index a save now writes.

    The stored rows must be what an expansion of the span the stored window stands
    for writes (``busy.span_of``: a window written at another moment, or extended
    by a far query, is right for its span), and the window's claims must hold: all
    of the past only for an item whose start is known, all of the future only for
    one that ends.
    """
    tracked = derived.indexed.get(row.href)
    stored = derived.occurrences.get(row.href, Counter())
    # What a save of the text writes: over its own range too, so that columns gone
    # stale (a text changed behind them) show as not enclosing its occurrences.
    own_start, own_end = _range_of(row.text)
    wide = (min(row.start, own_start), max(row.end, own_end))
    expected = busy.index_of(row.text, wide, zone, now, component=row.component)
    if expected is None:
        if tracked is not None or stored:
            return f"indexed ({sum(stored.values())} occurrence rows) but it has no events", None
        return None, None
    if tracked is None:
        return "its events are missing from the occurrence index", expected
    if tracked.owner != owner:
        return "its occurrence index names another owner", expected
    if busy.expired(tracked.window_end):
        return None, expected  # queries expand it until the dispatcher re-indexes it
    span = busy.span_of((row.start, row.end), tracked.window_start, tracked.window_end)
    if span is None:  # never answered from the index: its rows are not read
        unanswerable = expected.window_start == busy.FOREVER_AFTER
        return (None if unanswerable else BAD_WINDOW), expected
    if (tracked.window_start == busy.FOREVER_BEFORE and row.start <= ical.TIMESTAMP_MIN) or (
        tracked.window_end == busy.FOREVER_AFTER and row.end >= ical.TIMESTAMP_MAX
    ):
        return BAD_WINDOW, expected
    rows, exact = busy.index_within(row.text, *span, zone, row.component)
    wanted = Counter(rows)
    if wanted != stored:
        missing, extra = wanted - stored, stored - wanted
        return (
            f"its occurrence index differs from its text ({sum(missing.values())} rows "
            f"missing, {sum(extra.values())} wrong)"
        ), expected
    if tracked.exact != exact:
        return BAD_WINDOW, expected
    return None, expected


def _encloses(row, index: busy.Index) -> bool:
    """The columns are the time-range prefilter (store.filter_items): a range an
    occurrence overlaps must pass it, so they must enclose every occurrence."""
    return row.start <= min(r[0] for r in index.rows) and row.end >= max(r[1] for r in index.rows)


def _schedule_problem(s: Session, row, derived: _Derived, owner: str, now: datetime) -> str | None:
    """What is wrong with the item's reminder rows, compared with its alarms over the
    span ``schedule_item`` covered (``reminder_items.scheduled_until``)."""
    tracked = derived.tracked.get(row.href)
    rows = derived.reminders.get(row.href, [])
    pending = [
        r for r in rows if r.status == "pending" and not r.key.endswith(reminders.REPEAT_SUFFIX)
    ]
    if "BEGIN:VALARM" not in row.text.upper():
        if tracked is not None or pending:
            return f"{len(pending)} pending reminders but the item has no alarms"
        return None
    if tracked is None:
        return "its alarms are not scheduled"
    until = as_utc(tracked.scheduled_until)
    start = min([now - reminders.LATE_ON_SAVE, *(as_utc(r.fire_at) for r in pending)])
    wanted = {
        (a.key, a.channel, a.fire_at)
        for a in reminders.alarms_for(s, owner, row.text, start, max(start, until))
    }
    stale = [r for r in pending if (r.key, r.channel, as_utc(r.fire_at)) not in wanted]
    known = {(r.key, r.channel, as_utc(r.fire_at)) for r in rows}
    missing = [a for a in wanted if a[2] >= now and a not in known]
    if stale or missing or tracked.owner != owner:
        return (
            f"its reminder schedule differs from its alarms ({len(missing)} missing, "
            f"{len(stale)} pending for no alarm)"
        )
    return None


# --- the sync log ----------------------------------------------------------------------


def _sync_problems(s: Session, collection) -> list[Problem]:
    """RFC 6578: the log must report every live href as changed and every removed one
    as removed, at revisions a token can reach."""
    found: list[Problem] = []
    revision = s.scalar(select(Collection.revision).where(Collection.id == collection.id)) or 0
    top = s.scalar(select(func.max(SyncLog.revision)).where(SyncLog.collection_id == collection.id))
    if top is not None and top > revision:
        found.append(
            Problem(
                collection.path,
                "",
                REVISION,
                f"its sync log goes to revision {top}, past the collection's {revision}",
            )
        )
    latest = _latest_changes(s, collection.id)
    live = set(
        s.scalars(
            select(Item.href).where(Item.collection_id == collection.id, Item.deleted_at.is_(None))
        )
    )
    trashed = set(
        s.scalars(
            select(Item.href).where(
                Item.collection_id == collection.id, Item.deleted_at.is_not(None)
            )
        )
    )
    for href in sorted(live):
        if href not in latest:
            found.append(Problem(collection.path, href, SYNC, "no sync-log entry"))
        elif latest[href]:
            found.append(Problem(collection.path, href, SYNC, "the sync log says it was removed"))
    for href in sorted(trashed - live):
        if not latest.get(href, False):
            found.append(
                Problem(collection.path, href, SYNC, "in the trash but not logged as removed")
            )
    for href in sorted(h for h, removed in latest.items() if not removed):
        if href not in live and href not in trashed:
            found.append(Problem(collection.path, href, SYNC, "logged as present but gone"))
    return found


def _latest_changes(s: Session, collection_id: int) -> dict[str, bool]:
    """Whether each logged href's latest change was a removal."""
    last = (
        select(SyncLog.href, func.max(SyncLog.revision).label("revision"))
        .where(SyncLog.collection_id == collection_id)
        .group_by(SyncLog.href)
        .subquery()
    )
    rows = s.execute(
        select(SyncLog.href, SyncLog.deleted)
        .join(last, and_(SyncLog.href == last.c.href, SyncLog.revision == last.c.revision))
        .where(SyncLog.collection_id == collection_id)
        .order_by(SyncLog.id)
    )
    return {row.href: row.deleted for row in rows}  # the last row written wins


# --- derived rows of no live calendar item ---------------------------------------------


def _scan_orphans(db: Database, repair: bool, report, totals: Totals) -> None:
    """Index and schedule rows whose item is gone (deleted, moved, in a trashed
    collection, or never a calendar item): a pending reminder would fire for it."""
    seen: set[tuple[int, str, str]] = set()
    while True:
        with db.transaction(write=repair) as s:
            orphans = _orphans(s, BATCH if repair else None)
            if not orphans or seen.issuperset(orphans):
                return  # nothing (more) to remove
            seen.update(orphans)
            paths = dict(
                s.execute(
                    select(Collection.id, Collection.path).where(
                        Collection.id.in_({o[0] for o in orphans})
                    )
                ).all()
            )
            for collection_id, href, _owner in orphans:
                report(
                    Problem(
                        paths.get(collection_id, f"#{collection_id}"),
                        href,
                        INDEX,
                        "index or reminder rows of an item that is gone",
                    )
                )
            totals.problems += len(orphans)
            if not repair:
                return
            lock_owners(s, {o[2] for o in orphans})
            for collection_id, href, owner in orphans:
                reminders.unschedule_item(s, collection_id, href)
                busy.materialize(s, owner, collection_id, href, None, utcnow())


def _orphans(s: Session, limit: int | None) -> list[tuple[int, str, str]]:
    """(collection id, href, owner) of derived rows whose item is gone (``limit`` of them)."""

    def gone(table) -> ColumnElement[bool]:
        return ~exists(
            select(Item.id)
            .join(Collection, Collection.id == Item.collection_id)
            .where(
                Item.collection_id == table.collection_id,
                Item.href == table.href,
                Item.deleted_at.is_(None),
                Collection.deleted_at.is_(None),
                Collection.tag == "VCALENDAR",
            )
        )

    pending = Reminder.status == "pending"
    birthdays = Reminder.collection_id == 0  # contacts.birthdays: no item of their own
    query = union(
        *(
            select(t.collection_id, t.href, t.owner).where(gone(t))
            for t in (IndexedItem, Occurrence, ReminderItem)
        ),
        select(Reminder.collection_id, Reminder.href, Reminder.owner).where(
            pending, ~birthdays, gone(Reminder)
        ),
    )
    rows = s.execute(select(query.subquery()).limit(limit)).all()  # LIMIT NULL: all
    return [(row[0], row[1], row[2]) for row in rows]


# --- repairing -------------------------------------------------------------------------


def _repair(s: Session, collection, found: Iterable[Problem]) -> None:
    """Rebuild what ``found`` names, with the write path's functions."""
    by_kind: dict[str, set[str]] = defaultdict(set)
    for problem in found:
        by_kind[problem.kind].add(problem.href)
    if REVISION in by_kind:
        top = s.scalar(
            select(func.max(SyncLog.revision)).where(SyncLog.collection_id == collection.id)
        )
        s.execute(update(Collection).where(Collection.id == collection.id).values(revision=top))
    touched = by_kind[ETAG] | by_kind[RANGE] | by_kind[INDEX] | by_kind[SCHEDULE]
    rows = s.execute(
        select(Item.href, Item.text, Item.start, Item.end).where(
            Item.collection_id == collection.id,
            Item.deleted_at.is_(None),
            Item.href.in_(touched),
        )
    ).all()
    now = utcnow()
    for href, text, *stored in rows:
        if href in by_kind[ETAG]:
            s.execute(_item_update(collection.id, href).values(etag=ical.etag_of(text)))
        if href in by_kind[RANGE]:
            start, end = _range_of(text)
            widened = {"start": min(start, stored[0]), "end": max(end, stored[1])}
            s.execute(_item_update(collection.id, href).values(**widened))
        if href in by_kind[INDEX] | by_kind[RANGE]:  # the index's span comes from the range
            busy.materialize(s, collection.owner, collection.id, href, text, now)
        if href in by_kind[SCHEDULE]:
            reminders.schedule_item(s, collection.owner, collection.id, href, text, now)
    live = set(
        s.scalars(
            select(Item.href).where(
                Item.collection_id == collection.id,
                Item.deleted_at.is_(None),
                Item.href.in_(by_kind[SYNC]),
            )
        )
    )
    changes = [(href, False) for href in sorted(live | by_kind[ETAG])]
    changes += [(href, True) for href in sorted(by_kind[SYNC] - live)]
    if changes:
        store.log_changes(s, collection.id, changes)


def _item_update(collection_id: int, href: str):
    return update(Item).where(
        Item.collection_id == collection_id, Item.href == href, Item.deleted_at.is_(None)
    )


def _range_of(text: str) -> tuple[int, int]:
    """The time range the import path stores for the text (``ical``); the widest one
    when it cannot be read, which costs only the prefilter's precision.

    Repairing widens the stored range by it rather than replacing it: the stored one
    may come from Radicale (a DAV PUT), which reads a text's own VTIMEZONE where
    calcard reads the zone by its name, and Radicale filters with its reading.
    """
    try:
        item = store.ItemData.from_text("", text)
    except ical.ParseError:
        return ical.TIMESTAMP_MIN, ical.TIMESTAMP_MAX
    return item.start, item.end
