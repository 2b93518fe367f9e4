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

from sqlalchemy.orm import Session

from calcard import ical, store
from calcard.db import lock_owners

INBOX, OUTBOX = "inbox", "outbox"
INBOX_TAG, OUTBOX_TAG = "SCHEDULE-INBOX", "SCHEDULE-OUTBOX"
BOXES = {
    INBOX: {"tag": INBOX_TAG, "D:displayname": "Inbox"},
    OUTBOX: {"tag": OUTBOX_TAG, "D:displayname": "Outbox"},
}
KINDS = {INBOX_TAG: INBOX, OUTBOX_TAG: OUTBOX}


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
    item = store.ItemData(
        href=f"{uuid.uuid4().hex}.ics",
        uid="",
        etag=store.etag_of(message),
        text=message,
        component=entry.component,
        start=entry.start,
        end=entry.end,
    )
    store.put_item(s, box, item)  # type: ignore[arg-type]


def refusal(box_kind: str) -> str:
    """Why a client cannot write into this box (the 403's body)."""
    if box_kind == INBOX:
        return "the schedule inbox is written by the server; clients read and delete its messages"
    return "the schedule outbox stores nothing; POST free/busy requests to it"
