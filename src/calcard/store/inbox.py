"""Each user's RFC 6638 schedule inbox and outbox.

The inbox (``LOGIN/inbox``) holds the iTIP messages (METHOD:REQUEST, CANCEL,
REPLY) that scheduling delivered to the user, so DAV clients that follow
RFC 6638 see invitations, cancellations and answers; the events themselves are
already in the user's calendars (implicit scheduling). The server writes it,
its owner reads and deletes. The outbox (``LOGIN/outbox``) stores nothing: it
is where clients POST free/busy requests.

Both are collections of their own kind (their ``tag``), so nothing that looks
for calendars (free/busy, reminders, the web calendar, sharing, export) ever
sees them. Messages carry no UID in the store: one event can leave many.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from calcard import store
from calcard.core.db import Database, lock_owners
from calcard.core.models import Collection, Item
from calcard.store import ical

INBOX, OUTBOX = "inbox", "outbox"
INBOX_TAG, OUTBOX_TAG = "SCHEDULE-INBOX", "SCHEDULE-OUTBOX"
BOXES = {
    INBOX: {"tag": INBOX_TAG, "D:displayname": "Inbox"},
    OUTBOX: {"tag": OUTBOX_TAG, "D:displayname": "Outbox"},
}
KINDS = {INBOX_TAG: INBOX, OUTBOX_TAG: OUTBOX}
# Messages older than this are deleted: many clients (Thunderbird, most Android
# ones) never read the inbox, and the events themselves are in the calendars.
KEEP = timedelta(days=30)


def kind(collection: store.CollectionData | None) -> str | None:
    """ "inbox", "outbox", or None for any other collection."""
    return KINDS.get(collection.tag) if collection is not None else None


def create_boxes(s: Session, login: str) -> None:
    """A new user's inbox and outbox (paths taken by something else are left alone)."""
    for name, props in BOXES.items():
        if store.get_collection(s, f"{login}/{name}") is None:
            store.create_collection(s, f"{login}/{name}", props)


def deliver(s: Session, login: str, message: str) -> None:
    """Put an iTIP message into the user's inbox (no inbox, e.g. a room: nothing)."""
    box = store.get_collection(s, f"{login}/{INBOX}")
    if kind(box) != INBOX:
        return
    entry = next((e for e in ical.split_calendar(message) if isinstance(e, ical.Entry)), None)
    if entry is None:
        return
    lock_owners(s, [login])
    # Kept as sent and without UID: messages about one event pile up side by side.
    href = f"{uuid.uuid4().hex}.ics"
    item = store.ItemData.from_entry(href, replace(entry, uid="", text=message))
    store.put_item(s, box, item)  # type: ignore[arg-type]  # box: checked above


def refusal(box_kind: str) -> str:
    """Why a client cannot write into this box (the 403's body)."""
    if box_kind == INBOX:
        return "the schedule inbox is written by the server; clients read and delete its messages"
    return "the schedule outbox stores nothing; POST free/busy requests to it"


def purge(db: Database, now: datetime) -> int:
    """The periodic job: delete inbox messages older than KEEP, one short write
    transaction per owner; a client syncing the inbox sees them go."""
    with db.transaction() as s:
        stale = s.execute(
            select(Collection.owner, Collection.path, Item.href)
            .join(Item, Item.collection_id == Collection.id)
            .where(
                Collection.tag == INBOX_TAG,
                Collection.deleted_at.is_(None),
                Item.deleted_at.is_(None),
                Item.last_modified < now - KEEP,
            )
        ).all()
    by_box: dict[tuple[str, str], list[str]] = defaultdict(list)
    for owner, path, href in stale:
        by_box[owner, path].append(href)
    for (owner, path), hrefs in by_box.items():
        with db.transaction(write=True, owners=[owner]) as s:
            box = store.get_collection(s, path)
            for href in hrefs if kind(box) == INBOX else []:
                store.discard_item(s, box, href)  # type: ignore[arg-type]  # kind: an inbox
    return len(stale)
