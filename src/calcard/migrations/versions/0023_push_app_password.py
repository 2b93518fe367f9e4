"""push subscriptions remember the app password that made them

A registration made by a device logged in with an app password ends when that
app password is revoked: a lost phone learns nothing more of the calendars'
changes.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("push_subscriptions") as batch:
        batch.add_column(sa.Column("app_password_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("push_subscriptions") as batch:
        batch.drop_column("app_password_id")
