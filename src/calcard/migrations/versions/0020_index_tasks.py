"""the occurrence index holds tasks: every VTODO gets an expired window

calendar-query time ranges on VTODO now read the occurrence index too (kind
``TODO`` rows, ``calcard.store.busy``), which names every indexed item, so
each existing task gets an entry with an expired window (0, 0): queries read it
as a candidate (the old answers) until the dispatcher's window extension has
expanded it, 200 items a second (``calcard check --repair`` does all at once).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 07:00:00
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO indexed_items (collection_id, href, owner, window_start, window_end, exact) "
        "SELECT i.collection_id, i.href, i.owner, 0, 0, false FROM items i "
        "JOIN collections c ON c.id = i.collection_id "
        "WHERE c.tag = 'VCALENDAR' AND i.component = 'VTODO' AND i.deleted_at IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM indexed_items x "
        "WHERE x.collection_id = i.collection_id AND x.href = i.href)"
    )


def downgrade() -> None:
    op.execute("DELETE FROM occurrences WHERE kind = 'TODO'")
    op.execute(
        "DELETE FROM indexed_items WHERE EXISTS (SELECT 1 FROM items i "
        "WHERE i.collection_id = indexed_items.collection_id AND i.href = indexed_items.href "
        "AND i.component = 'VTODO')"
    )
