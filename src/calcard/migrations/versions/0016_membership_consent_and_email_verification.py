"""membership consent and e-mail verification: invitations, pending addresses, unique e-mail

Adds ``org_invitations`` (an existing login asked to join an organization:
not a membership until the user accepts), ``users.email_pending`` (a new
address waiting for its signed verification link; ``users.email`` only holds
verified ones) and ``users.email_key`` (the address lowercased) with a unique
index where it is not empty, so one address (any case) names one account.

Existing duplicates are resolved deterministically before the index is built:
among the accounts sharing an address (case-blind), the oldest one keeps it
(earliest ``created_at``, then lowest id) and the others' ``email`` is blanked
(their owners set and verify an address of their own again). Addresses kept
count as verified, as they were in use before verification existed.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

WHERE = sa.text("email_key != ''")


def _blank_duplicate_addresses() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, lower(trim(email)) FROM users WHERE trim(email) != '' "
            "ORDER BY created_at, id"
        )
    ).all()
    seen: set[str] = set()
    losers = []
    for user_id, address in rows:
        if address in seen:
            losers.append(user_id)
        seen.add(address)
    for user_id in losers:
        conn.execute(sa.text("UPDATE users SET email = '' WHERE id = :id"), {"id": user_id})
    conn.execute(sa.text("UPDATE users SET email_key = lower(trim(email))"))


def upgrade() -> None:
    op.create_table(
        "org_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("invited_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invited_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "user_id"),
    )
    op.create_index("ix_org_invitations_user_id", "org_invitations", ["user_id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("email_key", sa.String(length=320), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("email_pending", sa.String(length=320), nullable=False, server_default="")
        )
    _blank_duplicate_addresses()
    op.create_index(
        "uq_users_email_key",
        "users",
        ["email_key"],
        unique=True,
        sqlite_where=WHERE,
        postgresql_where=WHERE,
    )


def downgrade() -> None:
    op.drop_index("uq_users_email_key", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_pending")
        batch.drop_column("email_key")
    op.drop_index("ix_org_invitations_user_id", table_name="org_invitations")
    op.drop_table("org_invitations")
