"""Engine, transactions and migrations for SQLite (embedded) and PostgreSQL.

Writes are serialized per owner so that concurrent requests on any number of
processes and machines never interleave (DESIGN.md, Storage):
PostgreSQL takes a transaction-scoped advisory lock per owner; SQLite takes the
database write lock up front with ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Engine,
    Result,
    create_engine,
    event,
    exc,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Session

from calcard.core.catalogs import N_, Message

MIGRATIONS_DIR = Path(__file__).parents[1] / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
RETRY_AFTER_SECONDS = 5  # what a 503 for an unavailable database asks clients to wait
# SQLite's OperationalError also says "no such table" (a bug, not an outage): only these are.
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error")


def _setup_sqlite(engine: Engine) -> None:
    """Let us issue BEGIN ourselves (pysqlite's implicit BEGIN is deferred)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        write = conn.get_execution_options().get("calcard_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _setup_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def lock_key(owner: str) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock."""
    return int.from_bytes(hashlib.sha256(owner.encode()).digest()[:8], "big", signed=True)


def lock_owners(session: Session, owners: Iterable[str]) -> None:
    """Serialize this write transaction with the writes of ``owners`` too.

    Locks are taken in one global order (by key) and kept until the transaction
    ends, so transactions that name all their owners up front never deadlock.
    Taking more later (a change that turned out to reach someone else) is
    allowed; owners already held cost nothing. On SQLite the transaction holds
    the database write lock already.
    """
    held: set[str] = session.info.setdefault("calcard_locked_owners", set())
    missing = set(owners) - held
    if session.get_bind().dialect.name == "postgresql":
        for key in sorted({lock_key(o) for o in missing}):
            session.execute(select(func.pg_advisory_xact_lock(key)))
    held |= missing


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched. Its result is a ``CursorResult``;
    ``Session.execute`` is typed as returning any ``Result``, which has no rowcount."""
    return cast(CursorResult[Any], result).rowcount


class Busy(Exception):
    """The database is up but cannot answer this now: a row another node wrote after the
    transaction's snapshot (PostgreSQL's repeatable read) was taken. A 503; the retry
    sees the row."""


def unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot serve now (PostgreSQL down, restarting or
    cutting connections, no free pooled connection, SQLite locked past the busy timeout,
    a row made by another node after this transaction's snapshot: ``Busy``).

    Entry points answer it with 503 and Retry-After (RFC 9110 §15.6.4) instead of a
    500 with a traceback: nothing was written (the transaction never committed), and
    the same request succeeds once the database is back. Connections cut by a restart
    are replaced at their next checkout (``pool_pre_ping``), so no node needs a restart.
    """
    if isinstance(error, (exc.TimeoutError, Busy)):  # the pool's timeout: all connections in use
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, exc.InterfaceError):
        return True
    if not isinstance(error, exc.OperationalError):
        return False
    if isinstance(error.orig, sqlite3.Error):
        return any(text in str(error.orig).lower() for text in _SQLITE_UNAVAILABLE)
    return True  # psycopg: connection failures, admin shutdown, cancelled statements


# The 503's text: said in the reader's language by the JSON API (which asks no database
# for it), in English by DAV (docs/languages.md).
UNAVAILABLE = Message(N_("the database is unavailable; try again in a few seconds"))


def describe(error: BaseException) -> str:
    """One line for the log: the driver's message, without SQLAlchemy's background link."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def org_key(name: str) -> str:
    """The lock key of an organization's own data: its members, roles, invitations,
    workgroups, rooms and branding (``lock_owners`` takes it like an owner's login).

    Writes to one organization serialize on it, so its invariants (the last legal
    representative, who may change whom) hold against concurrent changes, while
    writes of other organizations and of people's own data do not wait for them.
    """
    return f"org:{name}"


def address_key(address: str) -> str:
    """The lock key of an e-mail address (any case), taken before claiming it.

    Verified addresses are unique (``users.email_key``); two accounts claiming one
    address at once would otherwise both pass the free check and the second would
    hit the unique index. Serialized on this key, the second sees the first's
    claim and gets a clean conflict.
    """
    return f"email:{address.strip().lower()}"


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_postgres = self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self, write: bool = False, owners: Iterable[str] = ()) -> Iterator[Session]:
        """One transaction; committed when the block ends, rolled back on error.

        Reads on PostgreSQL use REPEATABLE READ so a sync token and the changes
        it reports come from one snapshot. Writes stay READ COMMITTED so that
        after the advisory lock they see what the previous holder committed.
        """
        options: dict[str, object] = {"calcard_write": write}
        if self.is_postgres and not write:
            options["isolation_level"] = "REPEATABLE READ"
        with self.engine.connect() as conn:
            conn = conn.execution_options(**options)
            with conn.begin():
                with Session(bind=conn, expire_on_commit=False, autoflush=True) as session:
                    if write:
                        lock_owners(session, owners)
                    yield session
                    session.flush()

    def upgrade(self) -> None:
        """Apply pending Alembic migrations (Alembic is imported only when some are:
        it is a tenth of a server's memory, and a server starts on an upgraded
        database most of the time)."""
        current, heads = self.revisions()
        if current == heads:
            return
        from alembic import command

        command.upgrade(alembic_config(self.url), "head")
        self.engine.dispose()  # SQLite: a connection opened before keeps the old schema

    def revisions(self) -> tuple[frozenset[str], frozenset[str]]:
        """(the Alembic revisions the database is at, the heads of the migrations in
        this code); equal when the schema is up to date. Read from Alembic's own table
        (none yet on an empty database). Raises SQLAlchemyError when the database
        does not answer."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return frozenset(), migration_heads()
            current = frozenset(conn.scalars(text("SELECT version_num FROM alembic_version")))
        return current, migration_heads()

    def refresh_statistics(self, *tables: str) -> None:
        """Have PostgreSQL sample ``tables`` (names from the models) again, before
        queries that read all of them.

        The planner chooses its joins from table statistics, and after a restore
        (pg_restore does not analyze) or a bulk import they can still describe nearly
        empty tables. An anti-join of every index row against the items is then
        planned as a nested loop that compares each row with each item: minutes
        instead of a second. SQLite plans the same query from its indexes.
        (PostgreSQL manual, "Updating Planner Statistics".)
        """
        if not self.is_postgres or not tables:
            return
        with self.engine.begin() as conn:
            conn.execute(text("ANALYZE " + ", ".join(tables)))  # our own table names

    def dispose(self) -> None:
        self.engine.dispose()


_REVISION = re.compile(r"^revision = (.+)$", re.M)
_DOWN_REVISION = re.compile(r"^down_revision = (.+)$", re.M)


@functools.cache
def migration_heads() -> frozenset[str]:
    """The head revisions of the migrations shipped with this code (read once): those no
    other migration revises. Read from the files' ``revision`` and ``down_revision``
    lines, as Alembic's script directory does, without loading Alembic."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        found, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if found:
            revisions.add(ast.literal_eval(found.group(1)))
        if down:
            below = ast.literal_eval(down.group(1))
            revised.update(below if isinstance(below, tuple) else {below} - {None})
    return frozenset(revisions - revised)


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg
