"""Saving and deleting a calendar object: the one sequence DAV and the web share.

Every entry point that writes an object on a user's behalf (the DAV storage
plugin's PUT and DELETE, the web calendar's create, edit, drag and delete of
events and tasks) goes through here, in the request's transaction:

1. ``store.put_item`` / ``store.delete_item``, which refuse dates no
   computation could handle (``core.timebounds``) and a UID the collection
   already holds under another href (RFC 4791 §5.3.2.1 no-uid-conflict), and
   write the occurrence index and the reminder schedule with the item
   (DESIGN.md rule 3);
2. implicit scheduling (RFC 6638 §3.2, ``calcard.scheduling``) for the
   organizer's or the attendee's side; the organizer's copy may come back
   amended (answers, SCHEDULE-STATUS) and is then stored again in place.

The recurrence bounds (``core.recurrence.refusal``) are checked by each entry
point before it builds the item, where it can answer in its own terms: DAV
before the write lock with the CALDAV:max-instances precondition, the web API
with a 400.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from calcard import scheduling, store
from calcard.store import CollectionData, ItemData


def save(
    s: Session,
    collection: CollectionData,
    item: ItemData,
    actor: str = "",
    base_url: str | None = None,
) -> tuple[ItemData, ItemData | None]:
    """Store ``item``, then schedule; returns (stored, replaced) as ``store.put_item``.

    Raises ``store.StoreError`` (nothing written) when the store refuses the item.
    ``base_url`` (for the answer links in invitation mails) defaults to the
    configured one.
    """
    stored, old = store.put_item(s, collection, item, actor=actor)
    amended = scheduling.on_save(
        s, collection.owner, collection, item.href, old.text if old else None, stored.text, base_url
    )
    if amended is not None and amended != stored.text:
        stored = scheduling.store_text(s, collection, stored, amended)
    return stored, old


def delete(s: Session, collection: CollectionData, href: str, actor: str = "") -> None:
    """Move the object at ``href`` to the trash, then schedule: an organizer's delete
    cancels the meeting, an attendee's declines it (RFC 6638 §3.2)."""
    old = store.get_item(s, collection.id, href)
    store.delete_item(s, collection, href, actor=actor)
    if old is not None and collection.tag == "VCALENDAR":
        scheduling.on_delete(s, collection.owner, old.text)
