"""items end index: time ranges around now are found by where items end

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 05:00:00
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_items_end", "items", ["collection_id", "end", "start"])


def downgrade() -> None:
    op.drop_index("ix_items_end", table_name="items")
