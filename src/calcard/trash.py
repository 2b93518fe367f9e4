"""The user's trash: deleted items and collections, listed, restored and purged.

Deleting only marks rows (``deleted_at``); the trash shows them with when and
from where, restores them to where they were with the same UID (so every
client sees them again on its next sync), and a periodic purge deletes for
good what is older than the plan's retention (7 or 30 days).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from calcard import accounts, store
from calcard.core import times
from calcard.core.catalogs import N_
from calcard.core.db import Database
from calcard.core.errors import Kind
from calcard.core.models import Collection, Item, as_id
from calcard.sharing import access
from calcard.store import ItemData, StoreError, ical, inbox

SUFFIX = {"VCALENDAR": ".ics", "VADDRESSBOOK": ".vcf"}
TITLE_RE = re.compile(r"^(?:SUMMARY|FN)(?:;[^:\r\n]*)?:(.*?)\r?$", re.MULTILINE)


@dataclass(frozen=True)
class TrashEntry:
    id: str  # "item-<n>" or "collection-<n>"
    kind: str  # vevent, vtodo, vcard, vcalendar, vaddressbook
    path: str
    uid: str
    title: str
    source: str  # the calendar or address book it was deleted from
    deleted_at: datetime
    deleted_by: str
    purge_at: datetime

    def __str__(self) -> str:
        return "\t".join(
            [
                self.id,
                self.kind,
                self.path,
                self.uid,
                f"{self.deleted_at:%Y-%m-%d %H:%M}",
                self.title,
            ]
        )

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "path": self.path,
            "uid": self.uid,
            "title": self.title,
            "from": self.source,
            "deleted_at": self.deleted_at.isoformat(),
            "deleted_by": self.deleted_by,
            "purge_at": self.purge_at.isoformat(),
        }


class RestoreConflict(StoreError):
    """Restoring would clash with something live; ``options`` say how to restore anyway
    (the JSON answer carries them, the CLI turns them into a hint)."""

    def __init__(self, message: str, options: dict, values: dict | None = None) -> None:
        super().__init__(message, Kind.CONFLICT, {"options": options}, values)
        self.options = options


@dataclass(frozen=True)
class Restored:
    path: str
    uid: str

    def __str__(self) -> str:
        return self.path


def _title(text: str) -> str:
    found = TITLE_RE.search(text)
    return found.group(1).replace("\\,", ",").replace("\\;", ";") if found else ""


def list_trash(s: Session, login: str) -> list[TrashEntry]:
    owner = accounts.get_user(s, login).login
    keep = timedelta(days=accounts.retention_days(s, owner))
    entries = [_collection_entry(c, keep) for c in _trashed_collections(s, owner)]
    rows = s.execute(
        select(Item, Collection.path, Collection.tag)
        .join(Collection, Collection.id == Item.collection_id)
        .where(Item.owner == owner, Item.deleted_at.is_not(None), Collection.deleted_at.is_(None))
    )
    entries += [_item_entry(item, path, tag, keep) for item, path, tag in rows]
    return sorted(entries, key=lambda e: e.deleted_at, reverse=True)


def _trashed_collections(s: Session, owner: str) -> list[Collection]:
    """Not the schedule boxes: they only come back with their home."""
    return list(
        s.scalars(
            select(Collection).where(
                Collection.owner == owner,
                Collection.deleted_at.is_not(None),
                Collection.tag.not_in(list(inbox.KINDS)),
            )
        )
    )


def _collection_entry(row: Collection, keep: timedelta) -> TrashEntry:
    deleted = times.as_utc(row.deleted_at)  # type: ignore[arg-type]  # in the trash: set
    return TrashEntry(
        id=f"collection-{row.id}",
        kind=row.tag.lower() or "folder",
        path=f"/{row.path}/",
        uid="",
        title=json.loads(row.props or "{}").get("D:displayname", ""),
        source=f"/{store.parent_of(row.path)}/",
        deleted_at=deleted,
        deleted_by=row.deleted_by,
        purge_at=deleted + keep,
    )


def _item_entry(row: Item, collection_path: str, tag: str, keep: timedelta) -> TrashEntry:
    """Radicale stores no component name for vCards; the address book says what it is."""
    deleted = times.as_utc(row.deleted_at)  # type: ignore[arg-type]  # in the trash: set
    return TrashEntry(
        id=f"item-{row.id}",
        kind=row.component.lower() or ("vcard" if tag == "VADDRESSBOOK" else "item"),
        path=f"/{collection_path}/{row.href}",
        uid=row.uid,
        title=_title(row.text),
        source=f"/{collection_path}/",
        deleted_at=deleted,
        deleted_by=row.deleted_by,
        purge_at=deleted + keep,
    )


def restore(
    s: Session, login: str, entry_id: str, into: str | None = None, new_uid: bool = False
) -> Restored:
    """Restore one trash entry to where it was, never overwriting anything live.

    A clash (its href or UID is in use again, or its collection is gone) raises
    RestoreConflict unless ``into`` names another target (a collection for an
    item, a new path for a collection) or ``new_uid`` asks for a fresh UID.
    """
    owner = accounts.get_user(s, login).login
    kind, _, number = entry_id.partition("-")
    row_id = as_id(number)
    if row_id is None or kind not in ("item", "collection"):
        raise StoreError(
            N_("not a trash id: {entry_id!r} (see 'calcard trash list')"),
            values={"entry_id": entry_id},
        )
    row = s.get(Collection, row_id) if kind == "collection" else s.get(Item, row_id)
    if row is None or row.owner != owner or row.deleted_at is None:
        raise StoreError(
            N_("no trash entry {entry_id!r} for {login!r}"),
            Kind.NOT_FOUND,
            values={"entry_id": entry_id, "login": login},
        )
    if isinstance(row, Collection):
        return _restore_collection(s, row, into)
    return _restore_item(s, row, into, new_uid)


def _restore_collection(s: Session, row: Collection, into: str | None) -> Restored:
    new_path = into.strip("/") if into else None
    if new_path is None and store.get_collection(s, row.path) is not None:
        raise RestoreConflict(
            N_("/{path}/ exists again; restore it under another path"),
            {"into": [f"/{row.path}-restored/"]},
            values={"path": row.path},
        )
    return Restored(f"/{store.restore_collection(s, row.id, new_path).path}/", "")


def _restore_item(s: Session, row: Item, into: str | None, new_uid: bool) -> Restored:
    source = s.get(Collection, row.collection_id)
    tag = source.tag if source else ""
    target = _item_target(s, row, tag, into)
    clash, values = _clash(s, target, row)
    if clash and not new_uid:
        raise RestoreConflict(clash, _options(s, row.owner, tag, target), values)
    if target.id == row.collection_id and not new_uid:
        restored = store.restore_item(s, target, row.id)
        return Restored(f"/{target.path}/{restored.href}", restored.uid)
    uid = str(uuid.uuid4()) if new_uid else row.uid
    text = ical.with_uid(row.text, row.component, uid) if new_uid else row.text
    href = store.free_href(s, target.id, uid, SUFFIX.get(tag, ""))
    data = ItemData.from_row(row).at(href, uid).with_text(text)
    store.put_item(s, target, data, actor=row.owner)
    s.delete(row)  # it lives on as the new item; the trash keeps no second copy
    return Restored(f"/{target.path}/{href}", uid)


def _item_target(s: Session, row: Item, tag: str, into: str | None) -> store.CollectionData:
    if into is None:
        source = s.get(Collection, row.collection_id)
        live = store.get_collection(s, source.path) if source else None
        if live is None or live.id != row.collection_id:
            raise RestoreConflict(
                N_(
                    "its calendar or address book is deleted; restore that first or choose a target"
                ),
                _options(s, row.owner, tag, None),
            )
        return live
    decision = access.stored(s, row.owner, access.WRITE, into)
    target = decision.collection
    if target is None or decision.relation != access.OWNER or not decision.allowed:
        target = None  # restores go into the owner's own writable collections only
    if target is None or target.tag != tag:
        if tag == "VCALENDAR":
            raise StoreError(N_("{path!r} is not one of your calendars"), values={"path": into})
        raise StoreError(N_("{path!r} is not one of your address books"), values={"path": into})
    return target


def _clash(s: Session, target: store.CollectionData, row: Item) -> tuple[str, dict]:
    """Why the item cannot come back as it was (a template and its values), or ""."""
    if target.id == row.collection_id and store.get_item(s, target.id, row.href):
        return N_("/{path}/{href} exists again"), {"path": target.path, "href": row.href}
    if row.uid and store.has_uid(s, target.id, row.uid):
        return N_("UID {uid!r} is in use again in /{path}/"), {"uid": row.uid, "path": target.path}
    return "", {}


def _options(s: Session, owner: str, tag: str, clashing: store.CollectionData | None) -> dict:
    others = [
        f"/{c.path}/"
        for c in store.child_collections(s, owner)
        if c.tag == tag and (clashing is None or c.id != clashing.id)
    ]
    return {"into": others, "new_uid": True}


@dataclass
class PurgeReport:
    items: int = 0
    collections: int = 0

    def __str__(self) -> str:
        return f"purged {self.items} items and {self.collections} collections"


def purge_owner(s: Session, owner: str, now: datetime) -> tuple[int, int]:
    """Delete for good what ``owner`` trashed longer ago than their plan keeps it."""
    days = accounts.retention_days(s, owner)
    return store.purge_trash(s, owner, now - timedelta(days=days))


def purge(db: Database, now: datetime) -> PurgeReport:
    """The periodic job: every owner with trash, one short transaction each."""
    with db.transaction() as s:
        owners = set(s.scalars(select(Item.owner).where(Item.deleted_at.is_not(None)).distinct()))
        owners |= set(
            s.scalars(select(Collection.owner).where(Collection.deleted_at.is_not(None)).distinct())
        )
    report = PurgeReport()
    for owner in sorted(owners):
        with db.transaction(write=True, owners=[owner]) as s:
            items, collections = purge_owner(s, owner, now)
        report.items += items
        report.collections += collections
    return report
