"""collection lineage: sync tokens and collection ETags of a restored database are new

Adds ``collections.lineage``, empty for every existing collection (their sync
tokens and ETags stay as they were). ``calcard restore`` gives every restored
collection a fresh lineage, and collections created later take the database's
(``server_secrets`` row ``lineage``). A sync token or ETag the original server
handed out after the backup was taken must not be taken for one of the restored
database, whose revisions start again from the backup's: with the lineage in
them they differ, and such a token is refused with DAV:valid-sync-token
(RFC 6578 §3.2) instead of answering with a wrong list of changes.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("collections") as batch:
        batch.add_column(
            sa.Column("lineage", sa.String(length=40), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("collections") as batch:
        batch.drop_column("lineage")
