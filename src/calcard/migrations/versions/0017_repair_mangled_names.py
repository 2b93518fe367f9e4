"""repair names stored mangled: UTF-8 decoded as latin-1 on the way to Radicale

Before names were read as UTF-8 (issue 17), a PUT to ``a%C3%A4.ics`` stored
``aÃ¤.ics``: the request's UTF-8 bytes decoded as latin-1 (PEP 3333) and
taken for text. A name is repaired by encoding it as latin-1 and decoding
the bytes as UTF-8, again while that succeeds and changes it (a proxy in
front may have done it twice). A real name never changes: ASCII stays
ASCII, and latin-1 text that is not UTF-8 in disguise fails to decode.

Collections (``path``, ``parent``) and items (``href``, the trash's too) are
renamed, with what is keyed by an item's href (reminders, their index, the
occurrence and busy indexes, contact merges' kept href and originals) and
what names a collection by its path (a user's default calendar and the
address books left out of birthdays in ``users.settings``, import jobs). A
repaired name that is already taken is left as it is and logged: two rows
never become one. Each collection whose live items were renamed gets one new
revision with the old href logged as deleted and the new one as changed, so
a client's next sync (RFC 6578) drops the stranger and fetches its own item;
the sync log's older rows stay, as the history clients already saw.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 01:00:00
"""

import json
import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# Tables whose (collection_id, href) follows an item's href.
BY_HREF = ("reminders", "reminder_items", "occurrences", "indexed_items")


def repaired(name: str) -> str:
    """``name`` with every layer of UTF-8-read-as-latin-1 undone."""
    while True:
        try:
            fixed = name.encode("latin-1").decode("utf-8")
        except UnicodeError:
            return name
        if fixed == name:
            return name
        name = fixed


def _repair_collections(conn) -> None:
    rows = conn.execute(sa.text("SELECT id, path, parent, deleted_at FROM collections")).all()
    live = {path for _, path, _, deleted in rows if deleted is None}
    for collection_id, path, parent, deleted in rows:
        new = repaired(path)
        if new == path:
            continue
        if deleted is None and new in live:
            log.warning("collection %r: its repaired path %r is taken; left as is", path, new)
            continue
        conn.execute(
            sa.text(
                "UPDATE collections SET path = :path, parent = :parent, "
                "revision = revision + 1 WHERE id = :id"
            ),
            {"path": new, "parent": repaired(parent), "id": collection_id},
        )
        if deleted is None:
            live.discard(path)
            live.add(new)


def _repair_items(conn) -> dict[int, list[tuple[str, str]]]:
    """Rename items; returns the live renames per collection as (old, new) hrefs."""
    rows = conn.execute(sa.text("SELECT id, collection_id, href, deleted_at FROM items")).all()
    live = {(c, href) for _, c, href, deleted in rows if deleted is None}
    renamed: dict[int, list[tuple[str, str]]] = {}
    for item_id, collection_id, href, deleted in rows:
        new = repaired(href)
        if new == href:
            continue
        if deleted is None and (collection_id, new) in live:
            log.warning(
                "item %r in collection %s: %r is taken; left as is", href, collection_id, new
            )
            continue
        conn.execute(
            sa.text("UPDATE items SET href = :h WHERE id = :id"), {"h": new, "id": item_id}
        )
        if deleted is None:
            live.discard((collection_id, href))
            live.add((collection_id, new))
            renamed.setdefault(collection_id, []).append((href, new))
    return renamed


def _follow(conn, collection_id: int, old: str, new: str) -> None:
    """Re-key what belongs to the item renamed from ``old`` to ``new``."""
    key = {"c": collection_id, "old": old, "new": new}
    for table in BY_HREF:
        conn.execute(
            sa.text(f"UPDATE {table} SET href = :new WHERE collection_id = :c AND href = :old"),
            key,
        )
    conn.execute(
        sa.text(
            "UPDATE contact_merges SET kept_href = :new WHERE collection_id = :c AND kept_href = :old"
        ),
        key,
    )


def _repair_merge_originals(conn) -> None:
    for merge_id, originals in conn.execute(sa.text("SELECT id, originals FROM contact_merges")):
        entries = json.loads(originals or "[]")
        changed = False
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("href"), str):
                new = repaired(entry["href"])
                changed |= new != entry["href"]
                entry["href"] = new
        if changed:
            conn.execute(
                sa.text("UPDATE contact_merges SET originals = :o WHERE id = :id"),
                {"o": json.dumps(entries), "id": merge_id},
            )


def _repair_collection_references(conn) -> None:
    """Collection paths kept by users' settings and import jobs."""
    for user_id, raw in conn.execute(sa.text("SELECT id, settings FROM users")).all():
        settings = json.loads(raw or "{}")
        fixed = dict(settings)
        if isinstance(settings.get("default_calendar"), str):
            fixed["default_calendar"] = repaired(settings["default_calendar"])
        if isinstance(settings.get("birthdays_excluded"), list):
            fixed["birthdays_excluded"] = [
                repaired(p) if isinstance(p, str) else p for p in settings["birthdays_excluded"]
            ]
        if fixed != settings:
            conn.execute(
                sa.text("UPDATE users SET settings = :s WHERE id = :id"),
                {"s": json.dumps(fixed), "id": user_id},
            )
    for job_id, target in conn.execute(sa.text("SELECT id, target FROM import_jobs")).all():
        if repaired(target) != target:
            conn.execute(
                sa.text("UPDATE import_jobs SET target = :t WHERE id = :id"),
                {"t": repaired(target), "id": job_id},
            )


def _log_renames(conn, collection_id: int, renames: list[tuple[str, str]]) -> None:
    """One new revision: each old href deleted, each new one changed (RFC 6578 §3.5)."""
    conn.execute(
        sa.text("UPDATE collections SET revision = revision + 1, updated_at = :now WHERE id = :id"),
        {"id": collection_id, "now": datetime.now(UTC)},
    )
    revision, owner = conn.execute(
        sa.text("SELECT revision, owner FROM collections WHERE id = :id"), {"id": collection_id}
    ).one()
    for old, new in renames:
        for href, deleted in ((old, True), (new, False)):
            conn.execute(
                sa.text(
                    "INSERT INTO sync_log (collection_id, owner, revision, href, deleted) "
                    "VALUES (:c, :o, :r, :h, :d)"
                ),
                {"c": collection_id, "o": owner, "r": revision, "h": href, "d": deleted},
            )


def upgrade() -> None:
    conn = op.get_bind()
    _repair_collections(conn)
    renamed = _repair_items(conn)
    for collection_id, renames in renamed.items():
        for old, new in renames:
            _follow(conn, collection_id, old, new)
        _log_renames(conn, collection_id, renames)
    _repair_merge_originals(conn)
    _repair_collection_references(conn)


def downgrade() -> None:
    """Nothing to undo: the mangled names were never what clients sent."""
