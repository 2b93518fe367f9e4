"""Collections, items and their sync log in SQL, and the data derived from items.

The derived data (the occurrence index, ``store.busy``; the alarm schedule,
``store.alarms`` and ``store.reminders``) is written in the same transaction as
the item it comes from (DESIGN.md rule 3), which is why it lives here.

Every change bumps the collection's revision and writes one sync-log row per
changed href in the same transaction, so the collection ETag is O(1) and a
sync (RFC 6578) costs O(changes since the token), never O(collection).
Deleted things are only marked (``deleted_at``) so they stay restorable for the
plan's retention; every query here that serves DAV filters them out.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import icalendar
from sqlalchemy import BindParameter, and_, bindparam, case, delete, func, or_, select, update
from sqlalchemy.orm import Session

from calcard.core import backup, timebounds
from calcard.core.catalogs import N_
from calcard.core.db import rowcount
from calcard.core.errors import Kind, Refusal
from calcard.core.models import (
    Collection,
    HolidaySubscription,
    IndexedItem,
    Item,
    Occurrence,
    SyncLog,
)
from calcard.core.times import utcnow
from calcard.store import busy, ical, push, reminders
from calcard.store.ical import TIMESTAMP_MAX, TIMESTAMP_MIN, etag_of


@dataclass(frozen=True)
class ItemData:
    """A fully loaded item: nothing is read lazily after the transaction ends.

    Built by the constructors below (or by keyword where another parser, Radicale's,
    already computed the fields), so a field is never taken for its neighbour.
    """

    href: str
    uid: str
    etag: str
    text: str
    component: str
    start: int
    end: int
    last_modified: datetime | None = None

    @classmethod
    def from_entry(cls, href: str, entry: ical.Entry) -> ItemData:
        """A parsed object (``ical.Entry``) to be stored at ``href``."""
        return cls(href, entry.uid, entry.etag, entry.text, entry.component, entry.start, entry.end)

    @classmethod
    def from_text(cls, href: str, text: str | bytes) -> ItemData:
        """One calendar object's text as stored: UID, component and time range computed
        by ``ical.split_calendar`` (the text comes back in its normalized form).

        Raises ``ical.ParseError`` when the text holds no storable object.
        """
        entry = next(ical.split_calendar(text), None)
        if entry is None:
            raise ical.ParseError(N_("no calendar object"))
        if isinstance(entry, ical.ParseError):
            raise entry
        return cls.from_entry(href, entry)

    @classmethod
    def placeholder(cls, href: str, uid: str, component: str = "") -> ItemData:
        """An item whose text is still to come (``with_text``): a new card's place.

        Its time range is "no limit", what Radicale gives every vCard.
        """
        return cls(href, uid, "", "", component, TIMESTAMP_MIN, TIMESTAMP_MAX)

    @classmethod
    def from_row(cls, row: Item) -> ItemData:
        """The plain form of an item row (live or in the trash)."""
        return cls(
            href=row.href,
            uid=row.uid,
            etag=row.etag,
            text=row.text,
            component=row.component,
            start=row.start,
            end=row.end,
            last_modified=row.last_modified,
        )

    def with_text(self, text: str) -> ItemData:
        """The same item with another text and its ETag; UID, component and time range
        are kept, so the text must not change them (an acknowledged alarm, an edited card)."""
        return replace(self, text=text, etag=etag_of(text))

    def at(self, href: str, uid: str | None = None) -> ItemData:
        """The same object under another href (and UID, when given: a copy or a restore)."""
        return replace(self, href=href, uid=self.uid if uid is None else uid)


@dataclass(frozen=True)
class CollectionData:
    id: int
    path: str
    owner: str
    tag: str
    props: Mapping[str, str]
    revision: int
    updated_at: datetime
    lineage: str = ""  # new after a restore (migration 0018): in sync tokens and the ETag


SYNC_PREFIX = "http://calcard.org/ns/sync/"
# The components a calendar takes (RFC 4791 §5.2.3), as Radicale keeps the property.
COMPONENTS_PROP = "C:supported-calendar-component-set"


def sync_token(collection: CollectionData) -> str:
    """The collection's current sync token (RFC 6578 §3.2), as DAV hands it out and a
    WebDAV-Push message carries it: ``{lineage}{id}-{revision}`` after SYNC_PREFIX."""
    return f"{SYNC_PREFIX}{collection.lineage}{collection.id}-{collection.revision}"


class StoreError(Refusal):
    """A change the store refuses; nothing of it is written. Its own type because an
    import catches it to skip that one entry and go on (calcard.transfer)."""


def owner_of(path: str) -> str:
    return path.split("/", 1)[0]


def parent_of(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def collection_data(row: Collection) -> CollectionData:
    """The plain, fully loaded form of a collection row."""
    return CollectionData(
        id=row.id,
        path=row.path,
        owner=row.owner,
        tag=row.tag,
        props=json.loads(row.props),
        revision=row.revision,
        updated_at=row.updated_at,
        lineage=row.lineage,
    )


ITEM_COLUMNS = (
    Item.href,
    Item.uid,
    Item.etag,
    Item.text,
    Item.component,
    Item.start,
    Item.end,
    Item.last_modified,
)


def _live_items(collection_id: int | BindParameter[int]):
    """Rows in ItemData's field order: plain rows cost a fraction of ORM objects."""
    return select(*ITEM_COLUMNS).where(
        Item.collection_id == collection_id, Item.deleted_at.is_(None)
    )


# Lookups that run several times in every DAV request, built once: building a
# select costs SQLAlchemy about 0.17 ms, fifty times what SQLite takes to run it.
_LIVE_COLLECTION = select(Collection).where(
    Collection.path == bindparam("path"), Collection.deleted_at.is_(None)
)
_LIVE_ITEMS = _live_items(bindparam("collection_id"))
_ITEMS_AT = _LIVE_ITEMS.where(Item.href.in_(bindparam("hrefs", expanding=True)))
# "uid <> ''" lets SQLite use the partial unique index uq_items_live_uid.
_ITEM_WITH_UID = _LIVE_ITEMS.where(Item.uid == bindparam("uid"), Item.uid != "").limit(1)


def _live_collection(s: Session, path: str) -> Collection | None:
    return s.scalars(_LIVE_COLLECTION, {"path": path}).first()


def get_collection(s: Session, path: str) -> CollectionData | None:
    row = _live_collection(s, path)
    return collection_data(row) if row else None


def child_collections(s: Session, path: str) -> list[CollectionData]:
    rows = s.scalars(
        select(Collection)
        .where(Collection.parent == path, Collection.deleted_at.is_(None), Collection.path != "")
        .order_by(Collection.path)
    )
    return [collection_data(r) for r in rows]


def all_items(s: Session, collection_id: int) -> list[ItemData]:
    return [ItemData(*r) for r in s.execute(_live_items(collection_id).order_by(Item.href))]


def get_items(s: Session, collection_id: int, hrefs: Iterable[str]) -> dict[str, ItemData]:
    wanted = list(dict.fromkeys(hrefs))
    found: dict[str, ItemData] = {}
    for chunk_start in range(0, len(wanted), 500):
        chunk = wanted[chunk_start : chunk_start + 500]
        for row in s.execute(_ITEMS_AT, {"collection_id": collection_id, "hrefs": chunk}):
            found[row.href] = ItemData(*row)
    return found


@dataclass(frozen=True)
class Listed:
    """What a listing of members answers with: no time range, and the text only when
    asked for (a PROPFIND of ETags over thousands of items need not read them)."""

    href: str
    etag: str
    component: str
    last_modified: datetime | None
    text: str | None = None


_LISTED = (Item.href, Item.etag, Item.component, Item.last_modified)


def listing(
    s: Session, collection_id: int, hrefs: Iterable[str] | None = None, text: bool = False
) -> list[Listed]:
    """The live members of a collection (those at ``hrefs`` when given), by href.

    One indexed query for the whole collection, or one per 500 hrefs.
    """
    columns = (*_LISTED, Item.text) if text else _LISTED
    query = select(*columns).where(Item.collection_id == collection_id, Item.deleted_at.is_(None))
    if hrefs is None:
        return [Listed(**row._mapping) for row in s.execute(query.order_by(Item.href))]
    wanted = list(dict.fromkeys(hrefs))
    chunked = query.where(Item.href.in_(bindparam("hrefs", expanding=True)))
    found = []
    for start in range(0, len(wanted), 500):
        found += [
            Listed(**row._mapping)
            for row in s.execute(chunked, {"hrefs": wanted[start : start + 500]})
        ]
    return found


def get_item(s: Session, collection_id: int, href: str) -> ItemData | None:
    return get_items(s, collection_id, [href]).get(href)


def filter_items(
    s: Session, collection_id: int, component: str | None, start: int, end: int
) -> list[ItemData]:
    """Items of ``component`` whose time range overlaps [start, end) (ix_items_time)."""
    query = _live_items(collection_id).where(Item.start < end, Item.end > start)
    if component:
        query = query.where(Item.component == component)
    return [ItemData(*r) for r in s.execute(query.order_by(Item.href))]


# How far an inexact item's indexed occurrences (computed in the owner's zone) may lie
# from where a reader in another zone sees them: two of the widest UTC offsets.
ZONE_SLACK = 2 * int(ical.FLOATING_SLACK.total_seconds())
BY_HREF_MAX = 1000  # candidates fetched by href; more read the time-range index instead


def filter_events(
    s: Session, collection_id: int, start: int, end: int
) -> list[tuple[ItemData, bool]]:
    """VEVENT items that may overlap [start, end), each with whether it surely does.

    The occurrence index decides the items whose window holds the range and
    whose occurrences have fixed instants (RFC 4791 §9.9: an instant matches a
    range starting at it); floating ones it narrows down to those with an
    occurrence near the range (ZONE_SLACK). Only those, and the few items whose
    window does not hold the range (``busy.uncovered``), are read: a query costs
    O(what it finds), at any date.
    """
    # One row per item, decided by the database: a decade of a big calendar is millions
    # of occurrence rows, which Python took seconds to read one by one.
    hit = case(
        (
            and_(
                Occurrence.start < end,
                or_(
                    Occurrence.end > start,
                    and_(Occurrence.kind == "INSTANT", Occurrence.start >= start),
                ),
            ),
            1,
        ),
        else_=0,
    )
    hits: set[str] = set()
    near: set[str] = set()
    for href, surely in s.connection().execute(  # Core rows: the ORM's doubled a week's cost
        select(Occurrence.href, func.max(hit))
        .where(
            Occurrence.collection_id == collection_id,  # ix_occurrences_collection_time
            Occurrence.start < end + ZONE_SLACK,
            Occurrence.start >= start - ZONE_SLACK - busy.CHUNK_SECONDS,
        )
        .group_by(Occurrence.href)
    ):
        near.add(href)
        if surely:
            hits.add(href)
    opened = {href for _, href in busy.uncovered(s, [collection_id], start, end)}
    found = [
        (item, exact and item.href not in opened)
        for item, exact in _candidates(s, collection_id, near | opened, start, end)
        if not exact or item.href in opened or item.href in hits
    ]
    # Sorted here: an ORDER BY would drag every calendar text through a temporary B-tree.
    found.sort(key=lambda pair: pair[0].href)
    return found


def filter_todos(s: Session, collection_id: int, start: int, end: int) -> list[ItemData]:
    """VTODO items that may match a time range [start, end) (RFC 4791 §9.9), for
    Radicale's filter to decide on: those with an indexed occurrence near the range
    (``busy.TODO`` rows, in the owner's zone, hence ZONE_SLACK), and the few whose
    window does not hold it. Never every task of the list, at any date."""
    near = {
        href
        for (href,) in s.connection().execute(
            select(Occurrence.href).where(
                Occurrence.collection_id == collection_id,  # ix_occurrences_collection_time
                Occurrence.start < end + ZONE_SLACK,
                Occurrence.start >= start - ZONE_SLACK - busy.CHUNK_SECONDS,
                Occurrence.end > start - ZONE_SLACK,
                Occurrence.kind == busy.TODO,
            )
        )
    }
    opened = {href for _, href in busy.uncovered(s, [collection_id], start, end)}
    found = [item for item, _ in _candidates(s, collection_id, near | opened, start, end, "VTODO")]
    return sorted(found, key=lambda item: item.href)


def _candidates(
    s: Session,
    collection_id: int,
    hrefs: set[str],
    start: int,
    end: int,
    component: str = "VEVENT",
) -> list[tuple[ItemData, bool]]:
    """The live ``component`` items among ``hrefs`` whose stored range overlaps
    [start, end), each with whether its index rows are exact."""
    query = (
        _live_items(collection_id)
        .add_columns(func.coalesce(IndexedItem.exact, False).label("exact"))
        .outerjoin(
            IndexedItem,
            and_(IndexedItem.collection_id == Item.collection_id, IndexedItem.href == Item.href),
        )
        .where(Item.component == component, Item.start < end, Item.end > start)
    )
    conn = s.connection()
    if len(hrefs) > BY_HREF_MAX:  # a wide range: the time-range index, filtered here
        rows = [r for r in conn.execute(query).all() if r.href in hrefs]
    else:
        wanted, rows = sorted(hrefs), []
        for at in range(0, len(wanted), 500):
            rows += conn.execute(query.where(Item.href.in_(wanted[at : at + 500]))).all()
    return [(ItemData(*row[:-1]), bool(row[-1])) for row in rows]


def uncovered_events(
    s: Session, collection_ids: list[int], start: int, end: int
) -> list[tuple[int, ItemData]]:
    """(collection id, item) of the VEVENT items overlapping [start, end) whose
    occurrence index does not hold the range: free/busy expands these alone."""
    by_collection: dict[int, set[str]] = {}
    for collection_id, href in busy.uncovered(s, collection_ids, start, end):
        by_collection.setdefault(collection_id, set()).add(href)
    return [
        (collection_id, item)
        for collection_id, hrefs in by_collection.items()
        for item, _ in _candidates(s, collection_id, hrefs, start, end)
    ]


def uids_at(s: Session, collection_id: int, uids: Iterable[str]) -> dict[str, str]:
    """The href of each live item carrying one of ``uids`` (one query per 500)."""
    wanted = sorted(set(uids) - {""})
    found: dict[str, str] = {}
    for at in range(0, len(wanted), 500):
        found.update(
            s.execute(
                select(Item.uid, Item.href).where(
                    Item.collection_id == collection_id,
                    Item.deleted_at.is_(None),
                    Item.uid != "",  # uq_items_live_uid's condition: SQLite uses it only so
                    Item.uid.in_(wanted[at : at + 500]),
                )
            ).all()
        )
    return found


def hrefs_in_use(s: Session, collection_id: int, hrefs: Iterable[str]) -> set[str]:
    """Which of ``hrefs`` live items of the collection use (one query per 500)."""
    wanted = sorted(set(hrefs))
    found: set[str] = set()
    for at in range(0, len(wanted), 500):
        found.update(
            s.scalars(
                select(Item.href).where(
                    Item.collection_id == collection_id,
                    Item.deleted_at.is_(None),
                    Item.href.in_(wanted[at : at + 500]),
                )
            )
        )
    return found


def has_uid(s: Session, collection_id: int, uid: str) -> bool:
    return item_by_uid(s, collection_id, uid) is not None


def item_by_uid(s: Session, collection_id: int, uid: str) -> ItemData | None:
    """The live item with this UID (uq_items_live_uid makes it at most one); none for ""."""
    row = s.execute(_ITEM_WITH_UID, {"collection_id": collection_id, "uid": uid}).first()
    return ItemData(*row) if row else None


def _bump(s: Session, collection_id: int, changes: Iterable[tuple[str, bool]]) -> int:
    """Advance the revision and log each (href, deleted) change under it."""
    revision = s.execute(
        update(Collection)
        .where(Collection.id == collection_id)
        .values(revision=Collection.revision + 1, updated_at=utcnow())
        .returning(Collection.revision, Collection.owner)
    ).one()
    rows = [
        {
            "collection_id": collection_id,
            "owner": revision.owner,
            "revision": revision.revision,
            "href": href,
            "deleted": deleted,
        }
        for href, deleted in changes
    ]
    if rows:
        s.execute(SyncLog.__table__.insert(), rows)
    push.collection_changed(s, collection_id)
    return revision.revision


def log_changes(s: Session, collection_id: int, changes: Iterable[tuple[str, bool]]) -> int:
    """Log (href, deleted) changes under a new revision without touching the items, so
    every sync reports them again (``store.consistency`` repairing a lost log)."""
    return _bump(s, collection_id, changes)


def _mark_item_deleted(s: Session, collection_id: int, href: str, actor: str) -> bool:
    result = s.execute(
        update(Item)
        .where(Item.collection_id == collection_id, Item.href == href, Item.deleted_at.is_(None))
        .values(deleted_at=utcnow(), deleted_by=actor)
    )
    return bool(rowcount(result))


def _insert_items(s: Session, collection: CollectionData, items: Iterable[ItemData]) -> None:
    now = utcnow()
    rows = [
        {
            "collection_id": collection.id,
            "owner": collection.owner,
            "href": i.href,
            "uid": i.uid,
            "etag": i.etag,
            "text": i.text,
            "component": i.component,
            "start": i.start,
            "end": i.end,
            "last_modified": now,
        }
        for i in items
    ]
    if rows:
        s.execute(Item.__table__.insert(), rows)


def put_item(
    s: Session, collection: CollectionData, item: ItemData, actor: str = ""
) -> tuple[ItemData, ItemData | None]:
    """Create or replace the item at ``item.href``; returns (stored, replaced)."""
    result = put_items(s, collection, [item], actor)[0]
    if isinstance(result, StoreError):
        raise result
    return result


Put = tuple[ItemData, ItemData | None] | StoreError  # (stored, replaced), or why refused


def put_items(
    s: Session,
    collection: CollectionData,
    items: Sequence[ItemData],
    actor: str = "",
    parsed: Mapping[str, icalendar.Calendar] | None = None,
) -> list[Put]:
    """Create or replace each item at its href, in order, as that many ``put_item`` calls
    would, but written together: one revision and one sync-log insert, the items, their
    occurrence rows and reminder rows in a few multi-row statements (an import batch).

    Each result is (stored, replaced) or the StoreError that refused that item alone
    (nothing of it written). Hrefs and UIDs must be distinct within one call: a caller
    that puts an href or UID twice stores the first before it builds the second.
    ``parsed`` may hold, by href, the calendar of an entry ``ical``'s reader parsed (an
    import's ``Entry.calendar``): the reader has checked that text's dates already.
    """
    _check_unique(list(items))
    checked = parsed or {}
    with s.begin_nested():
        olds = get_items(s, collection.id, [i.href for i in items])
        results: list[Put | None] = [
            None if i.href in checked else _refusal(collection, i) for i in items
        ]
        in_use = uids_at(s, collection.id, [i.uid for i in items if i.uid])
        for n, item in enumerate(items):
            old = olds.get(item.href)
            if results[n] is None and in_use.get(item.uid, item.href) != item.href:
                results[n] = StoreError(
                    N_("UID {uid!r} already exists in {path!r}"),
                    values={"uid": item.uid, "path": collection.path},
                )
            if results[n] is None:
                if old is not None and in_use.get(old.uid) == item.href:
                    del in_use[old.uid]  # the UID leaves this href: free for a later item
                if item.uid:
                    in_use[item.uid] = item.href
        accepted = [i for n, i in enumerate(items) if results[n] is None]
        _insert_items(s, collection, [i for i in accepted if i.href not in olds])
        for item in accepted:
            if item.href in olds:
                _update_item(s, collection, item)
        if accepted:
            _bump(s, collection.id, [(i.href, False) for i in accepted])
        _derive(s, collection, [(i.href, i.text) for i in accepted], parsed)
        stored = get_items(s, collection.id, [i.href for i in accepted])
    return [
        result if result is not None else (stored[item.href], olds.get(item.href))
        for item, result in zip(items, results, strict=True)
    ]


def _refusal(collection: CollectionData, item: ItemData) -> StoreError | None:
    try:
        _check_dates(collection, item.text)
    except StoreError as exc:
        return exc
    return None


def check_component(collection: CollectionData, component: str, before: str | None) -> None:
    """Refuse a client's object of a component the calendar's
    supported-calendar-component-set leaves out (RFC 4791 §5.3.2.1, precondition
    CALDAV:supported-calendar-component): a new one, or one whose component changes
    (``before``: the component at its href now, None when new). Objects stored before
    the set was enforced or narrowed stay editable, and the server's own writes
    (scheduling, reminders, imports, restores) are not checked."""
    if collection.tag != "VCALENDAR" or not component or component == before:
        return
    allowed = collection.props.get(COMPONENTS_PROP, "")
    taken = {name.strip().upper() for name in allowed.split(",") if name.strip()}
    if taken and component.upper() not in taken:
        raise StoreError(
            N_("{path!r} takes only {components}, not {component}"),
            Kind.FORBIDDEN,
            values={"path": collection.path, "components": allowed, "component": component},
        )


def _update_item(s: Session, collection: CollectionData, item: ItemData) -> None:
    s.execute(
        update(Item)
        .where(
            Item.collection_id == collection.id,
            Item.href == item.href,
            Item.deleted_at.is_(None),
        )
        .values(
            uid=item.uid,
            etag=item.etag,
            text=item.text,
            component=item.component,
            start=item.start,
            end=item.end,
            last_modified=utcnow(),
        )
    )


def delete_item(s: Session, collection: CollectionData, href: str, actor: str = "") -> None:
    if _mark_item_deleted(s, collection.id, href, actor):
        _bump(s, collection.id, [(href, True)])
        _derive(s, collection, [(href, None)])


def discard_item(s: Session, collection: CollectionData, href: str) -> None:
    """Delete for good, bypassing the trash (what nobody would restore: inbox messages)."""
    removed = rowcount(
        s.execute(
            delete(Item).where(
                Item.collection_id == collection.id, Item.href == href, Item.deleted_at.is_(None)
            )
        )
    )
    if removed:
        _bump(s, collection.id, [(href, True)])
        _derive(s, collection, [(href, None)])


def _derive(
    s: Session,
    collection: CollectionData,
    changes: Sequence[tuple[str, str | None]],
    parsed: Mapping[str, icalendar.Calendar] | None = None,
) -> None:
    """Reminder rows and busy time are part of every calendar change (DESIGN.md rule 3).

    ``changes`` are (href, text) of distinct hrefs; a text None means the item left
    this collection. One call writes the derived rows of all of them together.
    """
    if collection.tag != "VCALENDAR" or not changes:
        return
    reminders.schedule_items(s, collection.owner, collection.id, changes, utcnow(), parsed)
    busy.materialize_items(s, collection.owner, collection.id, changes, utcnow(), parsed=parsed)


def delete_collection(s: Session, collection: CollectionData, actor: str = "") -> None:
    """Move a collection and everything below it to the trash (the root: everything)."""
    scope = (
        (Collection.path == collection.path)
        | Collection.path.startswith(collection.path + "/", autoescape=True)
        if collection.path
        else Collection.path != ""
    )
    ids = list(s.scalars(select(Collection.id).where(scope, Collection.deleted_at.is_(None))))
    s.execute(
        update(Collection)
        .where(Collection.id.in_(ids))
        .values(deleted_at=utcnow(), deleted_by=actor)
    )
    rows = s.execute(
        select(Item.collection_id, Item.href).where(
            Item.collection_id.in_(ids), Item.deleted_at.is_(None)
        )
    ).all()
    gone: dict[int, list[tuple[str, str | None]]] = {}
    for row in rows:
        gone.setdefault(row.collection_id, []).append((row.href, None))
    for collection_id, changes in gone.items():
        reminders.schedule_items(s, "", collection_id, changes, utcnow())
        busy.materialize_items(s, "", collection_id, changes, utcnow())
    for collection_id in ids:  # a removal is a content update (draft "Push for WebDAV")
        push.collection_changed(s, collection_id)


def create_collection(
    s: Session,
    path: str,
    props: Mapping[str, str] | None = None,
    items: Iterable[ItemData] | None = None,
    actor: str = "",
) -> tuple[CollectionData, dict[str, ItemData], list[str]]:
    """Create (or, with props, replace the contents of) the collection at ``path``.

    Returns the collection, the replaced items by href and the new hrefs, the
    shape Radicale's ``create_collection`` promises.
    """
    with s.begin_nested():
        return _create_collection(s, path, props, items, actor)


def _create_collection(
    s: Session,
    path: str,
    props: Mapping[str, str] | None,
    items: Iterable[ItemData] | None,
    actor: str,
) -> tuple[CollectionData, dict[str, ItemData], list[str]]:
    existing = _live_collection(s, path)
    if existing is not None and props is None:
        return collection_data(existing), {}, []
    if existing is None:
        _ensure_parents(s, path)
        existing = Collection(
            path=path,
            parent=parent_of(path),
            owner=owner_of(path),
            tag=(props or {}).get("tag", ""),
            props=json.dumps(dict(props or {}), sort_keys=True),
            revision=0,
            lineage=backup.lineage(s),
        )
        s.add(existing)
        s.flush()
        old_items: dict[str, ItemData] = {}
    else:
        old_items = {i.href: i for i in all_items(s, existing.id)}
        existing.tag = (props or {}).get("tag", "")
        existing.props = json.dumps(dict(props or {}), sort_keys=True)
        s.flush()
    collection = collection_data(existing)
    new_items = list(items or [])
    _check_unique(new_items)
    for new_item in new_items:
        _check_dates(collection, new_item.text)
    for href in old_items:
        _mark_item_deleted(s, collection.id, href, actor)
    _insert_items(s, collection, new_items)
    _derive(s, collection, [(h, None) for h in old_items])
    _derive(s, collection, [(i.href, i.text) for i in new_items])
    new_hrefs = {i.href for i in new_items}
    changes = [(h, False) for h in new_hrefs] + [(h, True) for h in old_items if h not in new_hrefs]
    _bump(s, collection.id, changes)
    replaced = {h: old_items[h] for h in new_hrefs if h in old_items}
    # the collection exists: it was just written
    return get_collection(s, path), replaced, sorted(new_hrefs - old_items.keys())  # type: ignore[return-value]


def _check_dates(collection: CollectionData, text: str) -> None:
    """Refuse a calendar item whose dates no computation could handle (timebounds)."""
    if collection.tag == "VCALENDAR":
        try:
            timebounds.check_item(text)
        except timebounds.OutOfRange as exc:
            raise StoreError(exc.template, values=exc.values) from exc


def _check_unique(items: list[ItemData]) -> None:
    seen_hrefs: set[str] = set()
    seen_uids: set[str] = set()
    for item in items:
        if item.href in seen_hrefs or (item.uid and item.uid in seen_uids):
            raise StoreError(f"duplicate href or UID in collection upload: {item.href!r}")
        seen_hrefs.add(item.href)
        if item.uid:
            seen_uids.add(item.uid)


def _ensure_parents(s: Session, path: str) -> None:
    parent = parent_of(path)
    if parent and _live_collection(s, parent) is None:
        _create_collection(s, parent, None, None, "")


def set_props(s: Session, collection: CollectionData, props: Mapping[str, str]) -> None:
    s.execute(
        update(Collection)
        .where(Collection.id == collection.id)
        .values(props=json.dumps(dict(props), sort_keys=True), tag=props.get("tag", ""))
    )
    _bump(s, collection.id, [])


def move_item(
    s: Session,
    source: CollectionData,
    href: str,
    target: CollectionData,
    to_href: str,
    actor: str = "",
) -> None:
    """Move an item, replacing whatever lives at the target href."""
    if source.id == target.id and href == to_href:
        return
    _mark_item_deleted(s, target.id, to_href, actor)  # an overwritten target goes to the trash
    s.execute(
        update(Item)
        .where(Item.collection_id == source.id, Item.href == href, Item.deleted_at.is_(None))
        .values(collection_id=target.id, owner=target.owner, href=to_href, last_modified=utcnow())
    )
    _derive(s, source, [(href, None)])
    moved = get_item(s, target.id, to_href)
    if moved is not None:
        _derive(s, target, [(to_href, moved.text)])
    if source.id == target.id:
        _bump(s, source.id, [(href, True), (to_href, False)])
    else:
        _bump(s, source.id, [(href, True)])
        _bump(s, target.id, [(to_href, False)])


def changes_since(s: Session, collection_id: int, revision: int) -> list[str]:
    """Hrefs changed after ``revision``."""
    return [href for _, href in changes_page(s, collection_id, SyncPosition(revision))]


@dataclass(frozen=True)
class SyncPosition:
    """Where a client's sync stands in the order of last changes (RFC 6578 §3.6).

    Hrefs are ordered by (revision of their last change, href). A client at
    ``(revision, None)`` has seen every change up to ``revision``; one at
    ``(revision, href)`` saw a truncated page that ended at that href, so it has
    also seen the hrefs last changed in ``revision`` up to it. An href changed
    again moves past every position already handed out (revisions only grow),
    so paging from position to position reports each change once and loses none.
    """

    revision: int
    href: str | None = None


def changes_page(
    s: Session,
    collection_id: int,
    after: SyncPosition,
    limit: int | None = None,
    live_only: bool = False,
) -> list[tuple[int, str]]:
    """The (revision, href) of hrefs last changed past ``after``, in that order; the
    first ``limit`` of them when given.

    ``live_only`` keeps the hrefs of live items only: an initial sync lists
    members, never removals (RFC 6578 §3.4). Costs O(changes since ``after``)
    (ix_sync_log_collection_revision), every change of an href writing a
    sync-log row (``_bump``).
    """
    last = (
        select(SyncLog.href, func.max(SyncLog.revision).label("revision"))
        .where(SyncLog.collection_id == collection_id, SyncLog.revision >= after.revision)
        .group_by(SyncLog.href)
        .subquery()
    )
    later = last.c.revision > after.revision
    if after.href is not None:
        later = or_(later, and_(last.c.revision == after.revision, last.c.href > after.href))
    query = select(last.c.revision, last.c.href).where(later)
    if live_only:
        live = select(Item.href).where(
            Item.collection_id == collection_id, Item.deleted_at.is_(None)
        )
        query = query.where(last.c.href.in_(live))
    query = query.order_by(last.c.revision, last.c.href)
    rows = s.execute(query if limit is None else query.limit(limit))
    return [(row.revision, row.href) for row in rows]


def item_etags(s: Session, collection_id: int) -> dict[str, str]:
    """href -> ETag of the live items: a listing that reads no item's text."""
    return dict(
        s.execute(
            select(Item.href, Item.etag).where(
                Item.collection_id == collection_id, Item.deleted_at.is_(None)
            )
        ).all()
    )


def live_hrefs(s: Session, collection_id: int) -> list[str]:
    return list(
        s.scalars(
            select(Item.href)
            .where(Item.collection_id == collection_id, Item.deleted_at.is_(None))
            .order_by(Item.href)  # as ``listing``: an initial sync reads the same either way
        )
    )


SAFE_HREF_RE = re.compile(r"^[A-Za-z0-9@._+-]{1,200}$")


def href_candidates(uid: str, suffix: str) -> list[str]:
    """The hrefs an item without one may get from its UID, in order of preference."""
    candidates = [uid if uid.lower().endswith(suffix) else uid + suffix]
    candidates.append(hashlib.sha256(uid.encode()).hexdigest() + suffix)
    return [h for h in candidates if SAFE_HREF_RE.match(h) and not h.startswith(".")]


def href_for_uid(uid: str, suffix: str, taken: set[str]) -> str:
    """A safe, free href for an item that arrives without one (bulk upload, import)."""
    for href in href_candidates(uid, suffix):
        if href not in taken:
            return href
    return f"{uuid.uuid4()}{suffix}"


def free_href(s: Session, collection_id: int, uid: str, suffix: str) -> str:
    """An href from the UID (as ``href_for_uid``) that no live item of the collection uses."""
    taken: set[str] = set()
    while True:
        href = href_for_uid(uid, suffix, taken)
        if get_item(s, collection_id, href) is None:
            return href
        taken.add(href)


def verify(s: Session) -> bool:
    """Offline check: every live item's ETag matches its text (a torn write would not)."""
    ok = True
    for row in s.execute(select(Item.etag, Item.text).where(Item.deleted_at.is_(None))):
        ok = ok and row.etag == etag_of(row.text)
    return ok


def restore_item(s: Session, collection: CollectionData, item_id: int) -> ItemData:
    """Bring a trashed item back under its href and UID, refusing any clash."""
    row = s.get(Item, item_id)
    if row is None or row.deleted_at is None or row.collection_id != collection.id:
        raise StoreError(f"no deleted item {item_id} in {collection.path!r}")
    if get_item(s, collection.id, row.href) is not None:
        raise StoreError(f"{collection.path}/{row.href} exists again; restore it elsewhere")
    if row.uid and has_uid(s, collection.id, row.uid):
        raise StoreError(f"UID {row.uid!r} is in use again in {collection.path!r}")
    row.deleted_at = None
    row.deleted_by = ""
    s.flush()
    _bump(s, collection.id, [(row.href, False)])
    _derive(s, collection, [(row.href, row.text)])
    return ItemData.from_row(row)


def restore_collection(
    s: Session, collection_id: int, new_path: str | None = None
) -> CollectionData:
    """Bring back a trashed collection with everything trashed together with it.

    ``new_path`` restores it under another name when its path is in use again.
    """
    row = s.get(Collection, collection_id)
    if row is None or row.deleted_at is None:
        raise StoreError(f"no deleted collection {collection_id}")
    together = (
        (Collection.path == row.path) | Collection.path.startswith(row.path + "/", autoescape=True)
    ) & (Collection.deleted_at == row.deleted_at)
    if new_path is not None and new_path != row.path:
        _rename_trashed(s, row, together, new_path)
        together = (
            (Collection.path == new_path)
            | Collection.path.startswith(new_path + "/", autoescape=True)
        ) & (Collection.deleted_at == row.deleted_at)
    if _live_collection(s, row.path) is not None:
        raise StoreError(f"{row.path!r} exists again; remove or rename it first")
    _ensure_parents(s, row.path)
    s.execute(update(Collection).where(together).values(deleted_at=None, deleted_by=""))
    _bump(s, row.id, [])
    restored = get_collection(s, row.path)  # live again, so found
    texts = s.execute(
        select(Item.href, Item.text).where(Item.collection_id == row.id, Item.deleted_at.is_(None))
    )
    _derive(s, restored, [(href, text) for href, text in texts])  # type: ignore[arg-type]  # found
    return restored  # type: ignore[return-value]  # found


def count_collections(s: Session, owner: str, tag: str) -> int:
    """Live calendars (or address books) owned by ``owner``, for plan limits.

    Subscribed holiday calendars are a service of the server and do not count.
    """
    holidays = select(HolidaySubscription.collection_id).where(HolidaySubscription.owner == owner)
    return (
        s.scalar(
            select(func.count())
            .select_from(Collection)
            .where(
                Collection.owner == owner,
                Collection.tag == tag,
                Collection.deleted_at.is_(None),
                Collection.id.not_in(holidays),
            )
        )
        or 0
    )


def _rename_trashed(s: Session, row: Collection, together, new_path: str) -> None:
    if owner_of(new_path) != row.owner or not all(
        SAFE_HREF_RE.match(part) for part in new_path.split("/")
    ):
        raise StoreError(f"cannot restore to {new_path!r}: not a free path of {row.owner!r}")
    if _live_collection(s, new_path) is not None:
        raise StoreError(f"{new_path!r} exists; choose another name")
    old_path = row.path
    for moved in s.scalars(select(Collection).where(together)):
        moved.path = new_path + moved.path[len(old_path) :]
        moved.parent = parent_of(moved.path)
    s.flush()


def purge_trash(s: Session, owner: str, cutoff: datetime) -> tuple[int, int]:
    """Delete for good what ``owner`` trashed before ``cutoff``: (items, collections).

    Items of a purged collection go with it (ON DELETE CASCADE), as do their
    sync-log rows: the collection no longer exists for any client.
    """
    cutoff = cutoff.astimezone(UTC)  # SQLite compares stored datetimes as text
    items = rowcount(s.execute(delete(Item).where(Item.owner == owner, Item.deleted_at < cutoff)))
    collections = rowcount(
        s.execute(
            delete(Collection).where(Collection.owner == owner, Collection.deleted_at < cutoff)
        )
    )
    return items, collections
