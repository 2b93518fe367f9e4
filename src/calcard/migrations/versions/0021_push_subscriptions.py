"""push subscriptions: WebDAV-Push registrations and browsers' Web Push subscriptions

One table for both (``models.PushSubscription``): a WebDAV-Push registration of a
calendar or address book (draft "Push for WebDAV") or a browser subscribed for
reminders and invitation notices (RFC 8030 Push API). The VAPID key pair (RFC 8292)
every node signs with is a ``server_secrets`` row, made on first use.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("token", sa.String(length=64), nullable=False, unique=True),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column(
            "collection_id",
            sa.Integer(),
            sa.ForeignKey("collections.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("push_resource", sa.String(length=2000), nullable=False),
        sa.Column("p256dh", sa.String(length=100), nullable=False),
        sa.Column("auth", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_push_subscriptions_collection", "push_subscriptions", ["collection_id"])
    op.create_index("ix_push_subscriptions_owner", "push_subscriptions", ["owner", "kind"])
    op.create_index("ix_push_subscriptions_due", "push_subscriptions", ["due_at"])
    op.create_index("ix_push_subscriptions_expires", "push_subscriptions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("push_subscriptions")
