"""occurrence index: busy periods become every VEVENT occurrence

Revision ID: 0009
Revises: 0008

Rows keep their meaning (busy time); transparent, cancelled and zero-length
occurrences arrive as items are written again. Every item starts inexact with
an expired window, so calendar-query falls back to full filtering for it until
the dispatcher's window extension has re-expanded it.
"""

from alembic import op
import sqlalchemy as sa


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("busy_periods") as batch_op:
        batch_op.drop_index("ix_busy_periods_item")
        batch_op.drop_index("ix_busy_periods_owner_time")
    op.rename_table("busy_periods", "occurrences")
    with op.batch_alter_table("occurrences") as batch_op:
        batch_op.create_index("ix_occurrences_item", ["collection_id", "href"], unique=False)
        batch_op.create_index("ix_occurrences_owner_time", ["owner", "start", "end"], unique=False)
        batch_op.create_index("ix_occurrences_collection_time", ["collection_id", "start"])

    with op.batch_alter_table("busy_items") as batch_op:
        batch_op.drop_index("ix_busy_items_window_end")
    op.rename_table("busy_items", "indexed_items")
    with op.batch_alter_table("indexed_items") as batch_op:
        batch_op.add_column(
            sa.Column("exact", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
        batch_op.create_index("ix_indexed_items_window_end", ["window_end"], unique=False)
    op.execute("UPDATE indexed_items SET window_end = 0")


def downgrade() -> None:
    op.execute("DELETE FROM occurrences WHERE kind = 'FREE'")
    with op.batch_alter_table("indexed_items") as batch_op:
        batch_op.drop_index("ix_indexed_items_window_end")
        batch_op.drop_column("exact")
    op.rename_table("indexed_items", "busy_items")
    with op.batch_alter_table("busy_items") as batch_op:
        batch_op.create_index("ix_busy_items_window_end", ["window_end"], unique=False)
    with op.batch_alter_table("occurrences") as batch_op:
        batch_op.drop_index("ix_occurrences_collection_time")
        batch_op.drop_index("ix_occurrences_owner_time")
        batch_op.drop_index("ix_occurrences_item")
    op.rename_table("occurrences", "busy_periods")
    with op.batch_alter_table("busy_periods") as batch_op:
        batch_op.create_index("ix_busy_periods_owner_time", ["owner", "start", "end"], unique=False)
        batch_op.create_index("ix_busy_periods_item", ["collection_id", "href"], unique=False)
