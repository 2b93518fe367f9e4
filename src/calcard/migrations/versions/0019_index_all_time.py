"""the occurrence index covers all time: windows by collection, every item re-expanded

The index now holds all of an item's past and, for a series that ends, all
of its future (issue 16; ``calcard.store.busy``). Two indexes let a query
find the few items whose window does not cover its range (a series without
end past the horizon, a frequent rule cut at the per-item cap) without reading
every item of the calendar. Every existing item starts with an expired window (an
event that had no entry gets one),
so queries expand it on the fly (exact answers, the old speed) until the
dispatcher's window extension has re-expanded it, 200 items a second
(``calcard check --repair`` does all at once).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 00:00:00
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("indexed_items") as batch_op:
        batch_op.create_index(
            "ix_indexed_items_collection_start", ["collection_id", "window_start"]
        )
        batch_op.create_index("ix_indexed_items_collection_end", ["collection_id", "window_end"])
    op.execute("UPDATE indexed_items SET window_end = 0")
    # An event without an entry (written before the index existed) gets an expired one:
    # queries read only the items the index names, so every event must be named.
    op.execute(
        "INSERT INTO indexed_items (collection_id, href, owner, window_start, window_end, exact) "
        "SELECT i.collection_id, i.href, i.owner, 0, 0, false FROM items i "
        "JOIN collections c ON c.id = i.collection_id "
        "WHERE c.tag = 'VCALENDAR' AND i.component = 'VEVENT' AND i.deleted_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM indexed_items x "
        "WHERE x.collection_id = i.collection_id AND x.href = i.href)"
    )


def downgrade() -> None:
    with op.batch_alter_table("indexed_items") as batch_op:
        batch_op.drop_index("ix_indexed_items_collection_end")
        batch_op.drop_index("ix_indexed_items_collection_start")
