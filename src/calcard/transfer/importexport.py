"""Import .ics/.vcf files into a collection and export a collection as one file.

Both directions stream: an import reads, parses and stores one entry at a time
and commits every ``BATCH`` entries (a file of tens of thousands of events
never sits parsed in memory, and DAV clients of the same user are not blocked
for the whole run); an export reads the collection in pages and yields text
as it goes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import icalendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from calcard import accounts, store
from calcard.core import recurrence
from calcard.core.db import Database
from calcard.core.errors import Kind
from calcard.core.models import Item
from calcard.sharing import access
from calcard.store import ItemData, StoreError, ical

DEFAULT_TARGET = {".ics": "calendar", ".vcf": "contacts"}
EXPECTED_TAG = {".ics": "VCALENDAR", ".vcf": "VADDRESSBOOK"}
BATCH = 200
EXPORT_PAGE = 200
Progress = Callable[[int, "ImportSummary"], None]  # entries read, counts so far


@dataclass
class ImportSummary:
    added: int = 0
    updated: int = 0
    skipped: list[str] = field(default_factory=list)  # one reason per skipped entry

    def __str__(self) -> str:
        return f"added {self.added}, updated {self.updated}, skipped {len(self.skipped)}"

    def as_json(self) -> dict:
        return {
            "added": self.added,
            "updated": self.updated,
            "skipped": [{"reason": reason} for reason in self.skipped],
        }


def kind_of(name: str) -> str:
    """The file kind (.ics or .vcf) from a file name or a media type."""
    lowered = name.lower()
    if lowered.endswith(".ics") or "calendar" in lowered:
        return ".ics"
    if lowered.endswith((".vcf", ".vcard")) or "vcard" in lowered:
        return ".vcf"
    raise StoreError("only .ics and .vcf files can be imported")


def target(s: Session, login: str, kind: str, into: str | None) -> store.CollectionData:
    """The collection an import writes to: the user's default one unless named."""
    login = accounts.get_user(s, login).login
    path = (into or f"{login}/{DEFAULT_TARGET[kind]}").strip("/")
    decision = access.stored(s, login, access.WRITE, path)
    collection = decision.collection
    if collection is None:
        raise StoreError(f"no collection {path!r}")
    if not decision.allowed:
        raise StoreError(f"{login!r} may not write to {path!r}")
    if collection.tag != EXPECTED_TAG[kind]:
        raise StoreError(f"{path!r} is not a {'calendar' if kind == '.ics' else 'address book'}")
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
        raise StoreError(str(exc)) from exc


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
            for entry in batch:
                _import_one(s, collection, kind, entry, summary, imported, login)
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


def _import_one(
    s: Session,
    collection: store.CollectionData,
    kind: str,
    entry: ical.Entry | ical.ParseError,
    summary: ImportSummary,
    imported: set[str],
    actor: str,
) -> None:
    if isinstance(entry, ical.ParseError):
        summary.skipped.append(str(entry))
        return
    too_many = recurrence.refusal(entry.text) if kind == ".ics" else None
    if too_many:
        summary.skipped.append(f"{entry.uid}: {too_many}")
        return
    existing = store.item_by_uid(s, collection.id, entry.uid)
    if existing is not None and entry.uid in imported:
        entry = ical.merge_entry(existing.text, entry)
    href = existing.href if existing else store.free_href(s, collection.id, entry.uid, kind)
    try:
        store.put_item(s, collection, ItemData.from_entry(href, entry), actor=actor)
    except StoreError as exc:
        summary.skipped.append(f"{entry.uid}: {exc}")
        return
    if entry.uid in imported:
        return  # a later part of an entry already counted
    imported.add(entry.uid)
    if existing is None:
        summary.added += 1
    else:
        summary.updated += 1


def readable(s: Session, login: str | None, path: str) -> store.CollectionData:
    """The calendar or address book at ``path``, if ``login`` may read it (None: admin)."""
    decision = access.stored(s, login, access.READ, path)
    collection = decision.collection
    if collection is None or collection.tag not in ("VCALENDAR", "VADDRESSBOOK"):
        raise StoreError(f"no calendar or address book at {path!r}", Kind.NOT_FOUND)
    if not decision.allowed:
        raise StoreError(f"no calendar or address book at {path!r}", Kind.NOT_FOUND)
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


def _export(db: Database, collection: store.CollectionData) -> Iterator[str]:
    with db.transaction() as s:
        texts = s.scalars(
            select(Item.text)
            .where(Item.collection_id == collection.id, Item.deleted_at.is_(None))
            .order_by(Item.id)
            .execution_options(yield_per=EXPORT_PAGE)
        )
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
