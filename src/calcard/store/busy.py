"""Busy time and the occurrence index (RFC 4791 §7.10 and §9.9, RFC 5545 §3.6.1).

Occurrences of every VEVENT and VTODO are expanded once, when an item is written,
into ``occurrences`` rows, so free/busy and calendar-query time ranges are indexed
range lookups at any date, not re-expansions per request (a VTODO's rows, kind
``TODO``, only narrow a calendar-query down: Radicale's filter decides on them). The index covers
all of an item's past, from its first occurrence, and its future: all of it
for a series that ends (or a single event), up to a rolling horizon
(``WINDOW_AFTER`` ahead of now, moved on by ``extend_windows``) for one
without end. ``indexed_items`` records for each item which window its rows
cover (``FOREVER_BEFORE`` and ``FOREVER_AFTER`` when they cover all time on
that side); a range outside it expands that item alone (``cover``).

Every expansion is bounded (calcard.recurrence): an item keeps at most
``recurrence.MAX_OCCURRENCES`` occurrences, so a frequent rule of many years
is indexed for a shorter window (an hourly rule: about four months from
yesterday) and ranges outside it are expanded on the fly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from sqlalchemy import and_, delete, insert, or_, select, tuple_, update
from sqlalchemy.orm import Session

from calcard.core import recurrence, times
from calcard.core.models import IndexedItem, IndexExtension, Item, Occurrence, User
from calcard.store import ical, items
from calcard.store.ical import TIMESTAMP_MAX, TIMESTAMP_MIN

WINDOW_AFTER = timedelta(days=731)  # the horizon of series without end
WINDOW_BEFORE = timedelta(days=366)  # the past of an item of unknown range; room clashes
# indexed_items window bounds that mean "all time on this side"
FOREVER_BEFORE, FOREVER_AFTER = TIMESTAMP_MIN, TIMESTAMP_MAX
# No query extends the index further (a range without end is no reason to expand a
# series to the year 9700; the per-item cap would cut it anyway).
LAST_EXTENSION = datetime(2200, 1, 1, tzinfo=UTC)
# How many series one short write transaction of the dispatcher extends past the
# horizon (``extend_queued``: up to 3,000 rows each).
EXTEND_BATCH = 10
SLACK = timedelta(days=1)  # around an item's stored range: floating times, all-day dates
# Stored periods are cut into pieces of at most this length, so a range query can
# bound `start` from below too and stay a tight index range scan.
CHUNK_SECONDS = 7 * 24 * 3600
BUSY_KINDS = ("BUSY", "BUSY-TENTATIVE")
TODO = "TODO"  # the kind of a VTODO's rows: candidates of a calendar-query, never busy
INDEXED = ("VEVENT", "VTODO")  # the components the index holds

# (start, end) as POSIX seconds, and BUSY | BUSY-TENTATIVE | FREE | INSTANT | TODO
Period = tuple[int, int, str]


# An occurrence as the index reads it: its start and end (None when the component has
# none) and the component it comes from (TRANSP and STATUS say its kind)
Span = tuple[date | datetime | None, date | datetime | None, icalendar.Component]


def _expand(
    calendar: icalendar.Calendar, start: datetime, end: datetime, zone: ZoneInfo, component: str
) -> tuple[list[Span], bool]:
    """The ``component`` occurrences overlapping [start, end), and whether all of a clean
    recurrence set: a series recurring_ical_events has to skip makes it inexact."""
    single = _single(calendar, component)
    if single is not None:
        return ([_own_span(single)] if _overlaps(single, start, end, zone) else []), True
    window = (start.astimezone(zone), end.astimezone(zone))
    try:
        query = recurring_ical_events.of(calendar, components=[component])
        return _spans(query, *window), True
    except (ValueError, TypeError, KeyError, recurring_ical_events.InvalidCalendar):
        lenient = recurring_ical_events.of(calendar, components=[component], skip_bad_series=True)
        return _spans(lenient, *window), False


def _spans(query, start: datetime, end: datetime) -> list[Span]:
    """What ``query.between(start, end)`` says of each occurrence, without the copy of its
    component ``between`` makes for each (most of an expansion's cost): that copy's
    DTSTART and end (DTEND, or DUE of a VTODO) are the occurrence's start and end, its
    other properties the source component's (recurring-ical-events 3: ``between`` is
    ``_occurrences_between`` and ``Occurrence.as_component``)."""
    return [
        (found.start, found.end, found._adapter._component)
        for found in query._occurrences_between(start, end)
    ]


def _own_span(part) -> Span:
    """A lone component's span as the index reads it: a VEVENT ends at its DTEND, after
    its DURATION or, without either, a day after a date or at its start; a VTODO has
    its DTSTART and DUE, when it has them (``_todo_period``)."""
    begin = part["DTSTART"].dt if part.get("DTSTART") is not None else None
    if part.name == "VTODO":
        return begin, part["DUE"].dt if part.get("DUE") is not None else None, part
    if begin is None or part.get("DTEND") is not None:
        return begin, part["DTEND"].dt if part.get("DTEND") is not None else None, part
    duration = part["DURATION"].dt if part.get("DURATION") is not None else None
    day_long = not isinstance(begin, datetime)
    return begin, begin + (duration or (timedelta(days=1) if day_long else timedelta(0))), part


RECURRING = ("RRULE", "RDATE", "EXDATE", "RECURRENCE-ID")


def _single(calendar: icalendar.Calendar, component: str):
    """The calendar's one ``component`` when it does not recur (most events): it is its
    own only occurrence, and recurring_ical_events' set-up (about a millisecond an
    item, the largest part of indexing an import) is not needed for it."""
    found = calendar.walk(component)
    if len(found) != 1 or any(found[0].get(key) is not None for key in RECURRING):
        return None
    return found[0]


def _overlaps(part, start: datetime, end: datetime, zone: ZoneInfo) -> bool:
    """Whether a lone component is an occurrence in [start, end) as recurring_ical_events
    counts one: its span overlaps the range, or, taking no time, starts in it."""
    begin = part.get("DTSTART")
    if begin is None:
        return True  # the caller counts it as it counts such an occurrence
    first = times.localize(begin.dt, zone)
    finish = part.get("DTEND") or part.get("DUE")
    if finish is not None:
        last = times.localize(finish.dt, zone)
    elif part.get("DURATION") is not None:
        last = first + part["DURATION"].dt
    else:
        last = first + (timedelta(0) if isinstance(begin.dt, datetime) else timedelta(days=1))
    return first < end and (last > start or (last <= first and first >= start))


def _anchored_todos(calendar: icalendar.Calendar) -> bool:
    """Whether every VTODO has a DTSTART, or a DUE and no recurrence: then a time range
    matches an occurrence only if it reaches [its DTSTART, its DUE] widened by a second
    (RFC 4791 §9.9, the table's lines 1-4, as Radicale's filter reads them). A task
    matched by COMPLETED or CREATED alone, or by any range, stays out of the index."""
    return all(
        todo.get("DTSTART") is not None
        or (todo.get("DUE") is not None and not any(todo.get(k) for k in ("RRULE", "RDATE")))
        for todo in calendar.walk("VTODO")
    )


def _todo_period(begin, finish, zone: ZoneInfo) -> Period:
    """What an occurrence of an anchored VTODO may match (``_anchored_todos``), from its
    start and due date (a lone task may lack one; recurring_ical_events gives every
    occurrence both)."""
    moments = [int(times.localize(v, zone).timestamp()) for v in (begin, finish) if v is not None]
    return min(moments) - 1, max(moments) + 1, TODO


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
    text: str,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    now: datetime | None = None,
    calendar: icalendar.Calendar | None = None,
    component: str = "VEVENT",
) -> tuple[list[Period], bool, datetime]:
    """``occurrences`` with the end of what they cover: at most MAX_OCCURRENCES periods
    (of ``component``: a VTODO's are never exact, see ``_todo_period``).

    The span expanded is shortened by ``recurrence.window`` when the item's rules
    would give more (so the expansion itself stays cheap), and the periods are
    cut at the cap (long RDATE lists); the returned end is where coverage stops:
    ``start`` itself (nothing covered) when some occurrence could not be expanded
    (an unparsable item, a broken series), so the index never answers for it.
    ``calendar`` is ``ical.calendar_of(text)`` when the caller has it already.
    """
    start, end = recurrence.window(text, start, end, now or datetime.now(UTC))
    try:
        calendar = calendar or ical.calendar_of(text)
        if component == "VTODO" and not _anchored_todos(calendar):
            return [], False, start
        found, complete = _expand(calendar, start, end, zone, component)
    except (ValueError, TypeError, KeyError, recurring_ical_events.InvalidCalendar):
        return [], False, start  # an item Radicale accepted but we cannot expand counts as free
    periods: list[Period] = []
    exact = complete and component == "VEVENT"
    for begin, finish, source in found:
        if component == "VTODO":
            periods.append(_todo_period(begin, finish, zone))
            continue
        if begin is None or finish is None:
            complete = False
            continue
        exact = exact and all(isinstance(v, datetime) and v.tzinfo for v in (begin, finish))
        first, last = (
            int(times.localize(begin, zone).timestamp()),
            int(times.localize(finish, zone).timestamp()),
        )
        kind = _kind(source) if last > first else _zero_kind(calendar)
        if last < first or kind is None:
            complete = False
            continue
        periods.append((first, last, kind))
    if not complete:
        return periods, False, start
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


def index_of(
    text: str,
    stored: tuple[int, int],
    zone: ZoneInfo,
    now: datetime,
    until: datetime | None = None,
    calendar: icalendar.Calendar | None = None,
    component: str = "VEVENT",
) -> Index | None:
    """The occurrence index of an item of ``component`` with occurrences within
    ``stored`` (its start and end columns) saved at ``now``; None for an item the index
    does not hold (a VJOURNAL, a calendar without its component).

    The one computation of it: ``materialize`` stores it, ``store.consistency``
    compares stored rows with it. A series without end is expanded to the horizon,
    or to ``until`` when later (a query that reached past the horizon, ``extend``).
    """
    if component not in INDEXED or component not in text:
        return None
    first, last, all_past, all_future = _span(stored, now, until)
    begin, finish = recurrence.window(text, first, last, now)
    periods, exact, finish = bounded_occurrences(
        text, begin, finish, zone, now, calendar, component
    )
    if finish <= begin:  # nothing covered: every query expands it; never due for extension
        return Index(_pieces(periods), FOREVER_AFTER, FOREVER_AFTER, exact)
    return Index(
        _pieces(periods),
        FOREVER_BEFORE if all_past and begin <= first else int(begin.timestamp()),
        FOREVER_AFTER if all_future and finish >= last else int(finish.timestamp()),
        exact,
    )


def span_of(
    stored: tuple[int, int], window_start: int, window_end: int
) -> tuple[datetime, datetime] | None:
    """The span a stored window stands for, what ``index_of`` expanded to write it (its
    FOREVER ends read back from the item's start and end columns); None for the
    window of an item the index does not answer for."""
    if window_start == FOREVER_AFTER:
        return None
    start, end = stored
    begin = window_start if window_start != FOREVER_BEFORE else start - int(SLACK.total_seconds())
    finish = window_end if window_end != FOREVER_AFTER else end + int(SLACK.total_seconds())
    return times.from_posix(begin), times.from_posix(finish)


def index_within(
    text: str, begin: datetime, finish: datetime, zone: ZoneInfo, component: str
) -> tuple[tuple[Period, ...], bool]:
    """The rows and exact flag an expansion of exactly [begin, finish) writes (``span_of``:
    a span ``index_of`` chose fits the per-item cap, so nothing is cut again)."""
    periods, exact, _ = bounded_occurrences(text, begin, finish, zone, begin, None, component)
    return _pieces(periods), exact


def _pieces(periods: list[Period]) -> tuple[Period, ...]:
    """Periods cut into rows of at most CHUNK_SECONDS (see CHUNK_SECONDS)."""
    return tuple(
        (begin, min(begin + CHUNK_SECONDS, finish), kind)
        for first_second, finish, kind in periods
        for begin in range(first_second, max(finish, first_second + 1), CHUNK_SECONDS)
    )


def materialize(
    s: Session,
    owner: str,
    collection_id: int,
    href: str,
    text: str | None,
    now: datetime,
    until: datetime | None = None,
) -> None:
    """Replace an item's occurrence rows (none when ``text`` is None: the item is gone)."""
    materialize_items(s, owner, collection_id, [(href, text)], now, until)


def materialize_items(
    s: Session,
    owner: str,
    collection_id: int,
    changes: Sequence[tuple[str, str | None]],
    now: datetime,
    until: datetime | None = None,
    parsed: Mapping[str, icalendar.Calendar] | None = None,
) -> None:
    """Replace the occurrence rows of each (href, text), distinct hrefs (none for a text
    None: the item is gone), in a few multi-row statements for all of them. ``parsed``
    holds ``ical.calendar_of(text)`` of hrefs whose text the caller parsed already."""
    hrefs = [href for href, _ in changes]
    for at in range(0, len(hrefs), 500):
        chunk = hrefs[at : at + 500]
        s.execute(
            delete(Occurrence).where(
                Occurrence.collection_id == collection_id, Occurrence.href.in_(chunk)
            )
        )
        # an ORM delete: IndexedItem rows loaded in this session (extend_windows) go too
        s.execute(
            delete(IndexedItem).where(
                IndexedItem.collection_id == collection_id, IndexedItem.href.in_(chunk)
            )
        )
    evented = [(h, t) for h, t in changes if t and any(c in t for c in INDEXED)]
    if not evented:
        return
    stored = items.time_ranges(s, collection_id, [h for h, _ in evented])
    zone = user_zone(s, owner)  # the zone costs a query: only for items with events
    rows: list[dict] = []
    tracked: list[dict] = []
    for href, text in evented:
        calendar = (parsed or {}).get(href)
        if href not in stored:
            continue
        start, end, component = stored[href]
        index = index_of(text, (start, end), zone, now, until, calendar, component)
        if index is None:
            continue
        rows += [
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
        tracked.append(
            {
                "collection_id": collection_id,
                "href": href,
                "owner": owner,
                "window_start": index.window_start,
                "window_end": index.window_end,
                "exact": index.exact,
            }
        )
    if rows:
        s.execute(Occurrence.__table__.insert(), rows)
    if tracked:
        s.execute(insert(IndexedItem), tracked)


def _span(
    stored: tuple[int, int], now: datetime, until: datetime | None
) -> tuple[datetime, datetime, bool, bool]:
    """What to expand for an item whose occurrences lie within ``stored``: from its first
    occurrence to its last, or to the horizon when it has none; and whether that span
    holds all of its past and all of its future."""
    start, end = stored
    known = start > TIMESTAMP_MIN  # else a year back, as for a query's unknown
    first = times.from_posix(start) - SLACK if known else now - WINDOW_BEFORE
    if end < TIMESTAMP_MAX:
        return first, times.from_posix(end) + SLACK, known, True
    # a series that starts after the horizon is indexed for as long from its start
    return first, max(now + WINDOW_AFTER, until or now, first + WINDOW_AFTER), known, False


def uncovered(s: Session, collection_ids: list[int], first: int, last: int) -> set[tuple[int, str]]:
    """(collection id, href) of the indexed items whose window does not hold [first, last):
    a series without end past its horizon, a rule cut at the cap, an item the index
    cannot answer for. Two index range scans (migration 0019), never every item."""
    if not collection_ids:
        return set()
    keys = (IndexedItem.collection_id, IndexedItem.href)
    within = IndexedItem.collection_id.in_(collection_ids)
    early = select(*keys).where(within, IndexedItem.window_start > first)
    late = select(*keys).where(within, IndexedItem.window_end < last)
    return {(row[0], row[1]) for query in (early, late) for row in s.execute(query)}


def due_for_extension(
    s: Session, collection_id: int, last: int, after: str = "", limit: int | None = None
) -> list[str]:
    """The hrefs of a calendar's series without end whose index stops before ``last``
    and that ``extend`` would extend: the ones a query reaching ``last`` expands per
    query until they are; in href order from after ``after``, at most ``limit`` of them.
    Only names are read, not the texts (a calendar in the trash has no index rows)."""
    return list(
        s.scalars(
            select(IndexedItem.href)
            .join(
                Item,
                and_(
                    Item.collection_id == IndexedItem.collection_id,
                    Item.href == IndexedItem.href,
                    Item.deleted_at.is_(None),
                ),
            )
            .where(
                IndexedItem.collection_id == collection_id,
                IndexedItem.href > after,
                IndexedItem.window_end < last,
                IndexedItem.window_start == FOREVER_BEFORE,
                or_(IndexedItem.refused_last.is_(None), IndexedItem.refused_last > last),
                Item.end == TIMESTAMP_MAX,
                Item.start < last,
            )
            .order_by(IndexedItem.href)
            .limit(limit)
        )
    )


def extension_end(end: int) -> int:
    """How far a query ending at ``end`` past the horizon has the index extended: up to
    the next step of ``WINDOW_AFTER`` (at most ``LAST_EXTENSION``), so that queries
    ending a second earlier or later ask for the same extension, and widening it step
    by step ends after a bounded number of passes."""
    step = int(WINDOW_AFTER.total_seconds())
    return min(-(-end // step) * step, int(LAST_EXTENSION.timestamp()))


def wants_extension(s: Session, collection_id: int, last: int) -> bool:
    """Whether a query reaching ``last`` finds series of the calendar to extend that far
    that nobody has queued yet (``queue_extension``): one indexed lookup, no texts."""
    until = s.scalar(
        select(IndexExtension.until).where(IndexExtension.collection_id == collection_id)
    )
    if until is not None and until >= last:
        return False
    return bool(due_for_extension(s, collection_id, last, limit=1))


def queue_extension(s: Session, owner: str, collection_id: int, last: int, now: datetime) -> None:
    """Queue the calendar's series without end for the dispatcher to extend to ``last``
    (``extend_queued``), when a query reaches past the horizon. One row per calendar:
    a further ``last`` widens it and starts its pass again from the first series, a
    nearer one changes nothing, so however many queries ask, the work is bounded by the
    calendar. Callers hold the owner's write lock (``Database.transaction``): two
    queries cannot both insert it."""
    if not wants_extension(s, collection_id, last):
        return
    queued = s.get(IndexExtension, collection_id)
    if queued is None:
        s.add(
            IndexExtension(
                collection_id=collection_id, owner=owner, until=last, after="", requested_at=now
            )
        )
    else:
        queued.until, queued.after, queued.requested_at = last, "", now


def queued_extension(s: Session) -> tuple[int, str] | None:
    """The queued calendar (id, owner) whose turn it is: the one waiting longest."""
    row = s.execute(
        select(IndexExtension.collection_id, IndexExtension.owner)
        .order_by(IndexExtension.requested_at, IndexExtension.collection_id)
        .limit(1)
    ).first()
    return None if row is None else (row[0], row[1])


def drop_extension(s: Session, collection_id: int) -> None:
    """Take a calendar out of the queue (its batch failed: the next far query queues it
    again, and the others' turns are not held up by it)."""
    s.execute(delete(IndexExtension).where(IndexExtension.collection_id == collection_id))


def extend_queued(s: Session, collection_id: int, now: datetime) -> int:
    """Extend the next ``EXTEND_BATCH`` series of a queued calendar (the dispatcher's
    share of a round), then put the calendar at the back of the queue; the row goes
    when its pass finds no series left. Returns how many series were read. Callers hold
    the owner's write lock: two nodes' dispatchers take turns on a calendar, each
    going on from the ``after`` the other left."""
    queued = s.get(IndexExtension, collection_id)
    if queued is None:  # its pass ended meanwhile, or its calendar went
        return 0
    due = due_for_extension(s, collection_id, queued.until, queued.after, EXTEND_BATCH)
    if not due:
        s.delete(queued)
        return 0
    extend(s, queued.owner, collection_id, due, queued.until, now)
    queued.after, queued.requested_at = due[-1], now
    return len(due)


def extend(
    s: Session, owner: str, collection_id: int, hrefs: Sequence[str], last: int, now: datetime
) -> None:
    """Index the series without end at ``hrefs`` (``due_for_extension``) up to ``last``
    (a year more), when a query reaches past their horizon, so that the queries after
    it are index lookups; in a few statements for all of them (``materialize_items``).

    Only series whose whole past stays indexed within the per-item cap are extended;
    the others keep their window and are expanded per query. Both those and the ones
    whose end the cap cuts are marked refused that far (``refused_last``), so that no
    query to that end (``extension_end``: in steps) queues them again.
    """
    until = min(times.from_posix(last) + WINDOW_AFTER / 2, LAST_EXTENSION)
    still = s.scalars(  # another query may have extended some since ``hrefs`` were read
        select(IndexedItem.href).where(
            IndexedItem.collection_id == collection_id,
            IndexedItem.href.in_(list(hrefs)),
            IndexedItem.window_end < last,
        )
    ).all()
    texts = items.live_texts(s, collection_id, list(still))
    stored = items.time_ranges(s, collection_id, list(texts))
    whole: list[tuple[str, str | None]] = []
    refused: list[str] = []
    for href, text in texts.items():
        first_start = times.from_posix(stored[href][0]) - SLACK
        first, end = recurrence.window(text, first_start, until, now)
        if first > first_start:
            refused.append(href)  # the cap would cut its past: per-query expansion
            continue
        whole.append((href, text))
        if end < until:  # the cap cuts its end: extended this once, as far as it allows
            refused.append(href)
    materialize_items(s, owner, collection_id, whole, now, until)
    if refused:  # not due again that far (``due_for_extension``); a new text forgets it
        s.execute(
            update(IndexedItem)
            .where(IndexedItem.collection_id == collection_id, IndexedItem.href.in_(refused))
            .values(refused_last=last)
        )


def extend_windows(s: Session, now: datetime, limit: int = 200) -> int:
    """Re-expand items whose window ends within a year (periodic, from the dispatcher).

    An item whose index was cut short (MAX_OCCURRENCES) is re-expanded once half
    of its window lies behind (from its first occurrence when all its past is
    indexed), not on every run: re-expanding it sooner gives the same window.
    """
    full = int((WINDOW_BEFORE + WINDOW_AFTER).total_seconds())
    moment = int(now.timestamp())
    whole_past = IndexedItem.window_start == FOREVER_BEFORE
    due = s.scalars(
        select(IndexedItem)
        .join(
            Item,
            and_(Item.collection_id == IndexedItem.collection_id, Item.href == IndexedItem.href),
        )
        .where(
            IndexedItem.window_end < int((now + WINDOW_AFTER / 2).timestamp()),
            or_(
                and_(
                    ~whole_past,
                    or_(
                        IndexedItem.window_end - IndexedItem.window_start >= full,
                        IndexedItem.window_start + IndexedItem.window_end < 2 * moment,
                    ),
                ),
                # all its past indexed: the middle from its first occurrence on (a rule
                # the cap cut from a start ahead moves on only once that is behind)
                and_(whole_past, Item.start + IndexedItem.window_end < 2 * moment),
            ),
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for tracked in due:
        text = items.live_text(s, tracked.collection_id, tracked.href)
        materialize(s, tracked.owner, tracked.collection_id, tracked.href, text, now)
    return len(due)


def expired(window_end: int) -> bool:
    """Whether a window was expired (``window_end`` 0: migration 0019, ``expire_zoned``):
    it holds no range, so its rows are never read, and ``extend_windows`` re-indexes
    the item soon."""
    return window_end == 0


def expire_zoned(s: Session, owner: str) -> None:
    """Forget what ``owner``'s items with floating times or dates cover, when the owner's
    zone changes: they are indexed in it (RFC 5545 §3.3.5 form 1, §3.3.4: such times
    are the calendar user's local ones). Their window (0, 0) covers no range, so
    queries expand them in the new zone until ``extend_windows`` re-indexes them, as
    after migration 0019; items with fixed instants keep their rows."""
    zoned = select(IndexedItem.collection_id, IndexedItem.href).where(
        IndexedItem.owner == owner, IndexedItem.exact.is_(False)
    )
    s.execute(
        delete(Occurrence).where(
            Occurrence.owner == owner,
            tuple_(Occurrence.collection_id, Occurrence.href).in_(zoned),
        )
    )
    s.execute(
        update(IndexedItem)
        .where(IndexedItem.owner == owner, IndexedItem.exact.is_(False))
        .values(window_start=0, window_end=0)
    )


def day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)
