"""organization language: the default language of an organization's members

Members who chose no language and whose browser asks for none calcard has read
and receive calcard's text in it (CONTRACT.md "Languages"); "" is English.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(
            sa.Column("language", sa.String(length=20), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("language")
