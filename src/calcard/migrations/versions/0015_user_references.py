"""user references: ids never reused, web sessions tied to the person

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28 12:00:00

SQLite hands a deleted row's id to the next insert unless the table is
declared AUTOINCREMENT, and that can only be said by rebuilding the table
(Alembic batch mode, ``recreate="always"``). PostgreSQL sequences never give
an id twice: nothing to do there. The rebuild runs on the migration
connection, where SQLite's foreign keys are off, so dropping the old table
cascades to nothing.

Web sessions get ``user_id`` (ON DELETE CASCADE): a session of a deleted user
dies with the user instead of passing to the next holder of the login.
Sessions whose login has no user any more are dropped.
"""

from alembic import op
import sqlalchemy as sa


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

NEVER_REUSED = ("organizations", "users", "workgroups", "collections")


def _rebuild_sqlite(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in NEVER_REUSED:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild_sqlite(True)
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE web_sessions SET user_id = "
        "(SELECT users.id FROM users WHERE users.login = web_sessions.owner)"
    )
    op.execute("DELETE FROM web_sessions WHERE user_id IS NULL")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_web_sessions_user_id_users", "users", ["user_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_constraint("fk_web_sessions_user_id_users", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))
        batch_op.drop_column("user_id")
    _rebuild_sqlite(False)
