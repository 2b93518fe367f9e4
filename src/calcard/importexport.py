"""Import .ics/.vcf files into a collection and export a collection as one file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import icalendar
from sqlalchemy.orm import Session

from calcard import accounts, ical, store
from calcard.store import ItemData, StoreError

DEFAULT_TARGET = {".ics": "calendar", ".vcf": "contacts"}
EXPECTED_TAG = {".ics": "VCALENDAR", ".vcf": "VADDRESSBOOK"}


@dataclass
class ImportSummary:
    added: int = 0
    updated: int = 0
    skipped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"added {self.added}, updated {self.updated}, skipped {len(self.skipped)}"


def _target(s: Session, login: str, kind: str, into: str | None) -> store.CollectionData:
    path = (into or f"{login}/{DEFAULT_TARGET[kind]}").strip("/")
    if store.owner_of(path) != accounts.normalize_login(login):
        raise StoreError(f"{path!r} does not belong to {login!r}")
    collection = store.get_collection(s, path)
    if collection is None:
        raise StoreError(f"no collection {path!r}")
    if collection.tag != EXPECTED_TAG[kind]:
        raise StoreError(f"{path!r} is not a {'calendar' if kind == '.ics' else 'address book'}")
    return collection


def import_file(s: Session, login: str, file: Path, into: str | None = None) -> ImportSummary:
    """Add new UIDs, update known ones in place, skip broken entries with a reason."""
    kind = file.suffix.lower()
    if kind not in DEFAULT_TARGET:
        raise StoreError("only .ics and .vcf files can be imported")
    accounts.get_user(s, login)
    collection = _target(s, login, kind, into)
    text = file.read_text(encoding="utf-8", errors="replace")
    entries = ical.split_calendar(text) if kind == ".ics" else ical.split_vcards(text)
    existing = {i.uid: i.href for i in store.all_items(s, collection.id) if i.uid}
    taken = set(existing.values())
    summary = ImportSummary()
    for entry in entries:
        if isinstance(entry, ical.ParseError):
            summary.skipped.append(str(entry))
            continue
        href = existing.get(entry.uid) or store.href_for_uid(entry.uid, kind, taken)
        taken.add(href)
        data = ItemData(
            href, entry.uid, entry.etag, entry.text, entry.component, entry.start, entry.end
        )
        try:
            _, old = store.put_item(s, collection, data, actor=login)
        except StoreError as exc:
            summary.skipped.append(str(exc))
            continue
        existing[entry.uid] = href
        if old is None:
            summary.added += 1
        else:
            summary.updated += 1
    return summary


def export_collection(s: Session, path: str) -> str:
    """The whole collection as one .ics (time zones once each) or one .vcf."""
    collection = store.get_collection(s, path.strip("/"))
    if collection is None or not collection.tag:
        raise StoreError(f"no calendar or address book at {path!r}")
    items = store.all_items(s, collection.id)
    if collection.tag == "VADDRESSBOOK":
        return "".join(i.text for i in items)
    calendar = icalendar.Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", "-//calcard//export//EN")
    if collection.props.get("D:displayname"):
        calendar.add("X-WR-CALNAME", collection.props["D:displayname"])
    seen_tz: set[str] = set()
    for item in items:
        for component in icalendar.Calendar.from_ical(item.text).subcomponents:
            if component.name == "VTIMEZONE":
                if str(component["TZID"]) in seen_tz:
                    continue
                seen_tz.add(str(component["TZID"]))
            calendar.add_component(component)
    return calendar.to_ical().decode()
