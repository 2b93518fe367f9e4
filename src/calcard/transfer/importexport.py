"""Import .ics/.vcf files into a collection and export a collection as one file.

Both directions stream: an import reads, parses and stores one entry at a time
and commits every ``BATCH`` entries (a file of tens of thousands of events
never sits parsed in memory, and DAV clients of the same user are not blocked
for the whole run); an export reads the collection in pages and yields text
as it goes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import icalendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from calcard import accounts, store
from calcard.core import recurrence
from calcard.core.catalogs import N_, SOURCE, Message
from calcard.core.db import Database
from calcard.core.errors import Kind, Refusal
from calcard.core.models import Collection, Item
from calcard.sharing import access
from calcard.store import ItemData, StoreError, ical

DEFAULT_TARGET = {".ics": "calendar", ".vcf": "contacts"}
EXPECTED_TAG = {".ics": "VCALENDAR", ".vcf": "VADDRESSBOOK"}
NOT_OF_KIND = {
    ".ics": N_("{path!r} is not a calendar"),
    ".vcf": N_("{path!r} is not an address book"),
}
BATCH = 200
EXPORT_PAGE = 200
Progress = Callable[[int, "ImportSummary"], None]  # entries read, counts so far


@dataclass
class ImportSummary:
    added: int = 0
    updated: int = 0
    skipped: list[Message] = field(default_factory=list)  # one reason per skipped entry

    def __str__(self) -> str:
        return f"added {self.added}, updated {self.updated}, skipped {len(self.skipped)}"

    def as_json(self, language: str = SOURCE) -> dict:
        """The counts, and each skipped entry's reason said in ``language``."""
        return {
            "added": self.added,
            "updated": self.updated,
            "skipped": [{"reason": reason.said(language)} for reason in self.skipped],
        }


def skip_reason(uid: str, refusal: Refusal) -> Message:
    """Why the entry of ``uid`` was skipped: the refusal, said later, after its UID."""
    return Message(N_("{uid}: {reason}"), {"uid": uid, "reason": refusal.reason})


def kind_of(name: str) -> str:
    """The file kind (.ics or .vcf) from a file name or a media type."""
    lowered = name.lower()
    if lowered.endswith(".ics") or "calendar" in lowered:
        return ".ics"
    if lowered.endswith((".vcf", ".vcard")) or "vcard" in lowered:
        return ".vcf"
    raise StoreError(N_("only .ics and .vcf files can be imported"))


def target(s: Session, login: str, kind: str, into: str | None) -> store.CollectionData:
    """The collection an import writes to: the user's default one unless named."""
    login = accounts.get_user(s, login).login
    path = (into or f"{login}/{DEFAULT_TARGET[kind]}").strip("/")
    decision = access.stored(s, login, access.WRITE, path)
    collection = decision.collection
    if collection is None:
        raise StoreError(N_("no collection {path!r}"), values={"path": path})
    if not decision.allowed:
        raise StoreError(
            N_("{login!r} may not write to {path!r}"), values={"login": login, "path": path}
        )
    if collection.tag != EXPECTED_TAG[kind]:
        raise StoreError(NOT_OF_KIND[kind], values={"path": path})
    return collection


def entries(kind: str, lines: Iterable[str]) -> Iterator[ical.Entry | ical.ParseError]:
    return ical.iter_calendar(lines) if kind == ".ics" else ical.iter_vcards(lines)


def check_start(kind: str, head: str) -> None:
    """Refuse a file that does not start as its kind says, before anything is stored.

    The parser itself judges the first non-blank line: an .ics must open with
    BEGIN:VCALENDAR, a .vcf with BEGIN:VCARD.
    """
    first = next((line for line in head.splitlines() if line.strip()), "")
    try:
        for _ in entries(kind, [first]):
            pass
    except ical.ParseError as exc:
        raise StoreError(exc.template, values=exc.values) from exc


def import_lines(
    db: Database,
    login: str,
    kind: str,
    lines: Iterable[str],
    into: str | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Add new UIDs, update known ones in place, skip broken entries with a reason.

    The target is checked before anything is read; each batch is its own write
    transaction, so a failure stops at a batch boundary with earlier batches kept.
    """
    with db.transaction() as s:
        collection = target(s, login, kind, into)
    summary = ImportSummary()
    imported: set[str] = set()  # UIDs met earlier in this file (overrides come apart)
    stream = entries(kind, lines)
    done = 0
    while batch := list(islice(stream, BATCH)):
        with db.transaction(write=True, owners=[collection.owner]) as s:
            _Batch(s, collection, kind, summary, imported, login, batch).run()
        done += len(batch)
        if progress:
            progress(done, summary)
    return summary


def import_file(
    db: Database,
    login: str,
    file: Path,
    into: str | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    kind = kind_of(file.name)
    with file.open(encoding="utf-8-sig", errors="replace") as handle:
        return import_lines(db, login, kind, handle, into, progress)


@dataclass
class _Batch:
    """One batch of an import, stored with ``store.put_items``: the same hrefs, merges,
    counts and skip reasons as storing its entries one by one.

    Entries wait in ``pending`` until the batch ends or an entry depends on one of
    them (its UID, or an href it could get, is waiting): the waiting ones are stored
    first, so every entry sees what the entries before it stored. The UIDs and
    candidate hrefs of the batch are looked up once; what the batch stores updates
    those answers in memory.
    """

    s: Session
    collection: store.CollectionData
    kind: str
    summary: ImportSummary
    imported: set[str]  # UIDs met earlier in this file (overrides come apart)
    actor: str
    batch: list[ical.Entry | ical.ParseError]
    pending: list[Message | tuple[ical.Entry, ItemData, bool]] = field(default_factory=list)
    waiting: set[str] = field(default_factory=set)  # UIDs and hrefs in pending
    known: dict[str, str] = field(default_factory=dict)  # UID -> href of live items
    taken: set[str] = field(default_factory=set)  # live hrefs among the candidates

    def run(self) -> None:
        entries = [e for e in self.batch if isinstance(e, ical.Entry)]
        cid = self.collection.id
        self.known = store.uids_at(self.s, cid, [e.uid for e in entries])
        candidates = [h for e in entries for h in store.href_candidates(e.uid, self.kind)]
        self.taken = store.hrefs_in_use(self.s, cid, candidates)
        for entry in self.batch:
            self.add(entry)
        self.flush()

    def add(self, entry: ical.Entry | ical.ParseError) -> None:
        if isinstance(entry, ical.ParseError):
            self.pending.append(entry.reason)
            return
        too_many = recurrence.refusal(entry.text) if self.kind == ".ics" else None
        if too_many:
            self.pending.append(skip_reason(entry.uid, too_many))
            return
        candidates = store.href_candidates(entry.uid, self.kind)
        if entry.uid in self.waiting or self.waiting.intersection(candidates):
            self.flush()
        existing = self.known.get(entry.uid)
        if existing is not None and entry.uid in self.imported:
            stored = store.get_item(self.s, self.collection.id, existing)
            entry = ical.merge_entry(stored.text, entry)  # type: ignore[union-attr]  # live
        href = existing or next(
            (h for h in candidates if h not in self.taken), f"{uuid.uuid4()}{self.kind}"
        )
        self.pending.append((entry, ItemData.from_entry(href, entry), existing is not None))
        self.waiting.update((entry.uid, href))

    def flush(self) -> None:
        """Store the waiting entries and count them, in the order they came."""
        waiting = [p for p in self.pending if not isinstance(p, Message)]
        parsed = {item.href: entry.calendar for entry, item, _ in waiting if entry.calendar}
        items = [item for _, item, _ in waiting]
        results = iter(store.put_items(self.s, self.collection, items, self.actor, parsed))
        for one in self.pending:
            if isinstance(one, Message):
                self.summary.skipped.append(one)
                continue
            entry, item, existed = one
            result = next(results)
            if isinstance(result, StoreError):
                self.summary.skipped.append(skip_reason(entry.uid, result))
                continue
            self.known[entry.uid] = item.href
            self.taken.add(item.href)
            if entry.uid in self.imported:
                continue  # a later part of an entry already counted
            self.imported.add(entry.uid)
            if existed:
                self.summary.updated += 1
            else:
                self.summary.added += 1
        self.pending, self.waiting = [], set()


def readable(s: Session, login: str | None, path: str) -> store.CollectionData:
    """The calendar or address book at ``path``, if ``login`` may read it (None: admin)."""
    decision = access.stored(s, login, access.READ, path)
    collection = decision.collection
    if (
        collection is None
        or collection.tag not in ("VCALENDAR", "VADDRESSBOOK")
        or not decision.allowed
    ):
        raise StoreError(
            N_("no calendar or address book at {path!r}"), Kind.NOT_FOUND, values={"path": path}
        )
    return collection


@dataclass(frozen=True)
class Export:
    collection: store.CollectionData
    chunks: Iterator[str]

    @property
    def suffix(self) -> str:
        return ".ics" if self.collection.tag == "VCALENDAR" else ".vcf"


def export(db: Database, path: str, login: str | None = None) -> Export:
    """The collection as one .ics (time zones once each) or one .vcf, piece by piece.

    Raises before anything is streamed when the path is wrong, so callers can
    answer with an error instead of a broken stream. One read transaction
    (a snapshot on PostgreSQL) serves the whole export.
    """
    with db.transaction() as s:
        collection = readable(s, login, path)
    return Export(collection, _export(db, collection))


@dataclass(frozen=True)
class Snapshot:
    """One read transaction over a collection (a snapshot on PostgreSQL; on SQLite in WAL
    mode from its first read): the collection as it stands there, and its item texts
    read a page at a time, as often as the reader needs them."""

    s: Session
    collection: store.CollectionData | None

    def texts(self, order=Item.id) -> Iterator[str]:
        """The live items' texts, EXPORT_PAGE rows at a time (never all in memory)."""
        if self.collection is None:
            return iter(())
        return iter(
            self.s.scalars(
                select(Item.text)
                .where(Item.collection_id == self.collection.id, Item.deleted_at.is_(None))
                .order_by(order)
                .execution_options(yield_per=EXPORT_PAGE)
            )
        )


@contextmanager
def snapshot(db: Database, collection_id: int) -> Iterator[Snapshot]:
    """A ``Snapshot`` of the collection (None when it is gone), for the time of the
    block. Callers have decided access already (a DAV GET: the rights plugin)."""
    with db.transaction() as s:
        row = s.get(Collection, collection_id)
        live = row is not None and row.deleted_at is None
        yield Snapshot(s, store.collection_data(row) if live else None)  # type: ignore[arg-type]


def _export(db: Database, collection: store.CollectionData) -> Iterator[str]:
    with snapshot(db, collection.id) as taken:
        texts = taken.texts()
        if collection.tag == "VADDRESSBOOK":
            yield from texts
            return
        yield _calendar_head(collection)
        seen_tz: set[str] = set()
        for text in texts:
            yield _calendar_body(text, seen_tz)
        yield "END:VCALENDAR\r\n"


def _calendar_head(collection: store.CollectionData) -> str:
    calendar = icalendar.Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", "-//calcard//export//EN")
    if collection.props.get("D:displayname"):
        calendar.add("X-WR-CALNAME", collection.props["D:displayname"])
    return calendar.to_ical().decode().removesuffix("END:VCALENDAR\r\n")


def _calendar_body(text: str, seen_tz: set[str]) -> str:
    parts: list[str] = []
    for component in icalendar.Calendar.from_ical(text).subcomponents:
        if component.name == "VTIMEZONE":
            if str(component["TZID"]) in seen_tz:
                continue
            seen_tz.add(str(component["TZID"]))
        parts.append(component.to_ical().decode())
    return "".join(parts)
