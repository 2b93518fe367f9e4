"""schedule inbox and outbox for every existing user

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 10:00:00

New users get theirs from accounts.add_user (calcard.inbox.create_boxes);
this gives them to the users that exist already (not rooms, and not where a
collection of the user's own holds the path). The values are written out here
so the migration keeps meaning what it meant when later code changes.
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BOXES = {
    "inbox": {"tag": "SCHEDULE-INBOX", "D:displayname": "Inbox"},
    "outbox": {"tag": "SCHEDULE-OUTBOX", "D:displayname": "Outbox"},
}

collections = sa.table(
    "collections",
    sa.column("id", sa.Integer),
    sa.column("path", sa.String),
    sa.column("parent", sa.String),
    sa.column("owner", sa.String),
    sa.column("tag", sa.String),
    sa.column("props", sa.Text),
    sa.column("revision", sa.BigInteger),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("deleted_at", sa.DateTime(timezone=True)),
    sa.column("deleted_by", sa.String),
)
users = sa.table("users", sa.column("id", sa.Integer), sa.column("login", sa.String))
rooms = sa.table("rooms", sa.column("user_id", sa.Integer))


def upgrade() -> None:
    conn = op.get_bind()
    live = collections.c.deleted_at.is_(None)
    homes = sa.select(collections.c.path).where(live, collections.c.parent == "")
    logins = conn.scalars(
        sa.select(users.c.login).where(
            users.c.login.in_(homes), users.c.id.not_in(sa.select(rooms.c.user_id))
        )
    ).all()
    named_like_a_box = sa.or_(*(collections.c.path.like(f"%/{name}") for name in BOXES))
    taken = set(conn.scalars(sa.select(collections.c.path).where(live, named_like_a_box)))
    now = datetime.now(UTC)
    rows = [
        {
            "path": f"{login}/{name}",
            "parent": login,
            "owner": login,
            "tag": props["tag"],
            "props": json.dumps(props, sort_keys=True),
            "revision": 0,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
            "deleted_by": "",
        }
        for login in logins
        for name, props in BOXES.items()
        if f"{login}/{name}" not in taken
    ]
    if rows:
        op.bulk_insert(collections, rows)


def downgrade() -> None:
    boxes = sa.select(collections.c.id).where(
        collections.c.tag.in_([b["tag"] for b in BOXES.values()])
    )
    for table in ("items", "sync_log"):
        dependent = sa.table(table, sa.column("collection_id", sa.Integer))
        op.execute(dependent.delete().where(dependent.c.collection_id.in_(boxes)))
    op.execute(collections.delete().where(collections.c.id.in_(boxes)))
