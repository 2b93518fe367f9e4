"""Item lookups shared by the modules that derive data from items (reminders, busy time).

They cannot use calcard.store, which calls them on every change.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from calcard.core.models import Item


def live_text(s: Session, collection_id: int, href: str) -> str | None:
    """The text of the live (not trashed) item at ``href``, or None."""
    return live_texts(s, collection_id, [href]).get(href)


def live_texts(s: Session, collection_id: int, hrefs: list[str]) -> dict[str, str]:
    """href -> text of the live items among ``hrefs``, one query per 500 hrefs."""
    found: dict[str, str] = {}
    for at in range(0, len(hrefs), 500):
        rows = s.execute(
            select(Item.href, Item.text).where(
                Item.collection_id == collection_id,
                Item.href.in_(hrefs[at : at + 500]),
                Item.deleted_at.is_(None),
            )
        )
        found.update((href, text) for href, text in rows)
    return found


def time_ranges(
    s: Session, collection_id: int, hrefs: list[str]
) -> dict[str, tuple[int, int, str]]:
    """The stored enclosing POSIX range of each live item's occurrences among ``hrefs``
    (``Item.start``, ``Item.end``: ``TIMESTAMP_MAX`` for a series without end), with
    its component, one query per 500 hrefs."""
    found: dict[str, tuple[int, int, str]] = {}
    for at in range(0, len(hrefs), 500):
        for href, start, end, component in s.execute(
            select(Item.href, Item.start, Item.end, Item.component).where(
                Item.collection_id == collection_id,
                Item.deleted_at.is_(None),
                Item.href.in_(hrefs[at : at + 500]),
            )
        ):
            found[href] = (start, end, component)
    return found
