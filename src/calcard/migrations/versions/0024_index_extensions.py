"""index extensions: the queue of calendars whose index a far query asked to extend

A time-range query past the occurrence index's horizon queues its calendar here, one
row per calendar however many queries ask, and the dispatcher extends the calendar's
series without end a batch at a time, for up to a second a round (``store.busy``).
``indexed_items.refused_last`` remembers how far a series was refused (the per-item
cap would cut its past), so far queries do not queue it again and again.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_extensions",
        sa.Column(
            "collection_id",
            sa.Integer(),
            sa.ForeignKey("collections.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("until", sa.BigInteger(), nullable=False),
        sa.Column("after", sa.String(length=1000), nullable=False, server_default=""),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("indexed_items") as batch:
        batch.add_column(sa.Column("refused_last", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("indexed_items") as batch:
        batch.drop_column("refused_last")
    op.drop_table("index_extensions")
