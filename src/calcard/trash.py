"""The user's trash: deleted items and collections, listed and restored.

Purging after the plan's retention and the web view come with their own issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from calcard import accounts, store
from calcard.models import Collection, Item
from calcard.store import StoreError


@dataclass(frozen=True)
class TrashEntry:
    id: str  # "item-<n>" or "collection-<n>"
    kind: str
    path: str
    uid: str
    deleted_at: datetime

    def __str__(self) -> str:
        return f"{self.id}\t{self.kind}\t{self.path}\t{self.uid}\t{self.deleted_at:%Y-%m-%d %H:%M}"


def list_trash(s: Session, login: str) -> list[TrashEntry]:
    owner = accounts.get_user(s, login).login
    entries = [
        TrashEntry(f"collection-{c.id}", c.tag.lower() or "folder", c.path, "", c.deleted_at)
        for c in s.scalars(
            select(Collection).where(Collection.owner == owner, Collection.deleted_at.is_not(None))
        )
    ]
    rows = s.execute(
        select(Item.id, Item.href, Item.uid, Item.component, Item.deleted_at, Collection.path)
        .join(Collection, Collection.id == Item.collection_id)
        .where(Item.owner == owner, Item.deleted_at.is_not(None), Collection.deleted_at.is_(None))
    )
    entries += [
        TrashEntry(f"item-{r.id}", r.component.lower(), f"{r.path}/{r.href}", r.uid, r.deleted_at)
        for r in rows
    ]
    return sorted(entries, key=lambda e: e.deleted_at, reverse=True)


def restore(s: Session, login: str, entry_id: str) -> str:
    """Restore one trash entry to where it was; returns its path."""
    owner = accounts.get_user(s, login).login
    kind, _, number = entry_id.partition("-")
    if not number.isdigit() or kind not in ("item", "collection"):
        raise StoreError(f"not a trash id: {entry_id!r} (see 'calcard trash list')")
    if kind == "collection":
        row = s.get(Collection, int(number))
        if row is None or row.owner != owner:
            raise StoreError(f"no trash entry {entry_id!r} for {login!r}")
        return store.restore_collection(s, row.id).path
    item = s.get(Item, int(number))
    if item is None or item.owner != owner:
        raise StoreError(f"no trash entry {entry_id!r} for {login!r}")
    parent = s.get(Collection, item.collection_id)
    collection = store.get_collection(s, parent.path) if parent else None
    if collection is None or collection.id != item.collection_id:
        raise StoreError("its calendar or address book is deleted; restore that first")
    return f"{collection.path}/{store.restore_item(s, collection, item.id).href}"
