"""Item lookups shared by the modules that derive data from items (reminders, busy time).

They cannot use calcard.store, which calls them on every change.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from calcard.core.models import Item


def live_text(s: Session, collection_id: int, href: str) -> str | None:
    """The text of the live (not trashed) item at ``href``, or None."""
    return s.scalar(
        select(Item.text).where(
            Item.collection_id == collection_id, Item.href == href, Item.deleted_at.is_(None)
        )
    )


def time_range(s: Session, collection_id: int, href: str) -> tuple[int, int] | None:
    """The stored enclosing POSIX range of the live item's occurrences (``Item.start``,
    ``Item.end``: ``TIMESTAMP_MAX`` for a series without end), or None."""
    row = s.execute(
        select(Item.start, Item.end).where(
            Item.collection_id == collection_id, Item.href == href, Item.deleted_at.is_(None)
        )
    ).first()
    return (row.start, row.end) if row else None
