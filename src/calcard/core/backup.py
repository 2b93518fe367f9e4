"""``calcard backup`` and ``calcard restore``: the whole database as one file.

The file (docs/data.md, "Backups") is gzip-compressed UTF-8 JSON, one value a
line: a header (format, version, the schema's Alembic revision, when, from
which database), then per table a line naming its columns followed by one
line per row (a JSON array; datetimes, dates and bytes as one-key objects),
and an end line with the row counts and the SHA-256 of every line before it.
The same file restores into SQLite or PostgreSQL, whichever it came from.

The snapshot is consistent while ``calcard serve`` goes on writing: SQLite is
first copied with its online backup API (one step, under a read lock, so no
commit is half in it) and the copy is read; PostgreSQL is read in one
REPEATABLE READ transaction, the snapshot ``pg_dump`` takes.

A restore reads the whole file before it touches the target, so a damaged or
truncated file changes nothing; the target must hold no rows at all. The
schema is created at the backup's revision, the rows go in in one transaction,
and the migrations since then run on them, as they would have on the original.
Every restored collection gets a new lineage (migration 0018), so sync tokens
and collection ETags handed out by the original server are refused once
(DAV:valid-sync-token, RFC 6578 §3.2) and clients sync afresh, never trusting
a token from after the backup.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import secrets
import sqlite3
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, MetaData, Table, create_engine, func, insert, select, text
from sqlalchemy.orm import Session

from calcard.core.db import Database, alembic_config
from calcard.core.errors import Kind, Refusal
from calcard.core.models import Collection, ServerSecret
from calcard.core.times import utcnow

FORMAT = "calcard-backup"
VERSION = 1
LINEAGE = "lineage"  # the server_secrets row new collections take their lineage from
VERSION_TABLE = "alembic_version"
BATCH = 500


class BadBackup(Refusal):
    """A file that is no complete calcard backup this version can restore."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, Kind.INVALID)


@dataclass(frozen=True)
class Summary:
    """What a backup holds: its schema revision and rows per table."""

    revision: str
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def lineage(s: Session) -> str:
    """The lineage a new collection takes: the database's since its restore, else ""."""
    row = s.get(ServerSecret, LINEAGE)
    return row.value if row else ""


def _encode(value: Any) -> Any:
    """A column value as JSON; datetimes in UTC (SQLite hands them back naive)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return {"$dt": aware.astimezone(UTC).isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, bytes | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    return value


def _decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    ((tag, raw),) = value.items()
    if tag == "$dt":
        return datetime.fromisoformat(raw)
    if tag == "$d":
        return date.fromisoformat(raw)
    if tag == "$b64":
        return base64.b64decode(raw)
    raise ValueError(f"unknown value tag {tag!r}")


# ---------------------------------------------------------------- backup


def backup(db: Database, out: IO[bytes]) -> Summary:
    """Write a consistent snapshot of ``db`` to ``out``; returns what it holds."""
    with _snapshot(db) as conn:
        return _dump(conn, out)


@contextmanager
def _snapshot(db: Database) -> Iterator[Connection]:
    """A connection that sees one committed state of the database, unchanging."""
    if not db.is_postgres:
        with tempfile.TemporaryDirectory(prefix="calcard-backup-") as tmp:
            copy = Path(tmp) / "snapshot.db"
            _sqlite_copy(str(db.engine.url.database), copy)
            engine = create_engine(f"sqlite:///{copy}")
            try:
                with engine.connect() as conn:
                    yield conn
            finally:
                engine.dispose()
        return
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            yield conn


def _sqlite_copy(source: str, target: Path) -> None:
    """SQLite's online backup API (https://sqlite.org/backup.html), all pages in one step."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.execute(f"PRAGMA busy_timeout={30_000}")
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _dump(conn: Connection, out: IO[bytes]) -> Summary:
    meta = MetaData()
    meta.reflect(conn)
    if VERSION_TABLE not in meta.tables:
        raise Refusal("the database has no calcard schema (run `calcard db upgrade`)", Kind.INVALID)
    revision = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one()
    tables = [t for t in meta.sorted_tables if t.name != VERSION_TABLE]
    digest = hashlib.sha256()
    rows: dict[str, int] = {}
    with gzip.GzipFile(fileobj=out, mode="wb") as gz:

        def line(value: Any) -> None:
            data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
            digest.update(data)
            gz.write(data)

        line(
            {
                "format": FORMAT,
                "version": VERSION,
                "revision": revision,
                "created": utcnow().isoformat(),
                "database": conn.dialect.name,
            }
        )
        for table in tables:
            columns = [c.name for c in table.columns]
            line({"table": table.name, "columns": columns})
            count = 0
            order = list(table.primary_key.columns) or list(table.columns)
            result = conn.execution_options(yield_per=BATCH).execute(
                select(*table.columns).order_by(*order)
            )
            for row in result:
                line([_encode(v) for v in row])
                count += 1
            rows[table.name] = count
        gz.write(
            json.dumps({"end": True, "rows": rows, "sha256": digest.hexdigest()}).encode() + b"\n"
        )
    return Summary(revision, rows)


# ---------------------------------------------------------------- reading


@dataclass
class _Section:
    table: str
    columns: list[str]


def _lines(path: Path) -> Iterator[tuple[bytes, Any]]:
    """(raw line, parsed value) of the file, a damaged one raising BadBackup."""
    try:
        with gzip.open(path, "rb") as gz:
            for raw in gz:
                if not raw.endswith(b"\n"):
                    raise BadBackup("the backup file is truncated")
                yield raw, json.loads(raw)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadBackup(f"the backup file is damaged or truncated ({exc})") from None


def _header(value: Any) -> str:
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise BadBackup("not a calcard backup file")
    if value.get("version") != VERSION:
        raise BadBackup(f"backup format version {value.get('version')!r} is not supported")
    revision = value.get("revision")
    if not isinstance(revision, str):
        raise BadBackup("the backup names no schema revision")
    return revision


def read(path: Path) -> Summary:
    """Check the whole file (structure, row counts, checksum); what it holds."""
    summary: Summary | None = None
    for kind, value in _entries(path):
        if kind == "end":
            summary = value
    assert summary is not None  # _entries raises unless the file ends properly
    return summary


def _entries(path: Path) -> Iterator[tuple[str, Any]]:
    """("header", revision), ("table", _Section), ("row", list), then ("end", Summary)."""
    digest = hashlib.sha256()
    revision: str | None = None
    section: _Section | None = None
    counts: dict[str, int] = {}
    for raw, value in _lines(path):
        if revision is None:
            revision = _header(value)
            digest.update(raw)
            yield "header", revision
        elif isinstance(value, list):
            if section is None or len(value) != len(section.columns):
                raise BadBackup("the backup file is damaged (a row outside its table)")
            counts[section.table] += 1
            digest.update(raw)
            yield "row", value
        elif isinstance(value, dict) and "table" in value:
            section = _Section(str(value["table"]), [str(c) for c in value.get("columns", [])])
            if section.table in counts:
                raise BadBackup(f"the backup file is damaged (table {section.table} twice)")
            counts[section.table] = 0
            digest.update(raw)
            yield "table", section
        elif isinstance(value, dict) and value.get("end") is True:
            if value.get("rows") != counts or value.get("sha256") != digest.hexdigest():
                raise BadBackup("the backup file is damaged (its checksum does not match)")
            yield "end", Summary(revision, counts)
            return
        else:
            raise BadBackup("the backup file is damaged (a line of no known kind)")
    raise BadBackup("the backup file is truncated (it has no end)")


# ---------------------------------------------------------------- restore


def restore(db: Database, path: Path) -> Summary:
    """Restore the backup at ``path`` into the empty database ``db``.

    Refuses (changing nothing) a damaged file, one from a newer calcard, and a
    target that holds any row.
    """
    summary = read(path)
    _require_known(summary.revision)
    _require_empty(db)
    _schema_at(db, summary.revision)
    with db.engine.connect() as conn, conn.begin():
        meta = MetaData()
        meta.reflect(conn)
        _load(conn, meta, path)
        if db.is_postgres:
            _advance_sequences(conn, meta)
    db.upgrade()
    with db.transaction(write=True) as s:
        _new_lineage(s)
    return summary


def _require_known(revision: str) -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    known = {script.revision for script in scripts.walk_revisions()}
    if revision not in known:
        raise BadBackup(
            f"the backup's schema {revision!r} is newer than this calcard's "
            f"({scripts.get_current_head()}); restore it with the calcard that made it"
        )


def _require_empty(db: Database) -> None:
    meta = MetaData()
    with db.engine.connect() as conn:
        meta.reflect(conn)
        for table in meta.sorted_tables:
            if table.name == VERSION_TABLE:
                continue
            if conn.execute(select(func.count()).select_from(table)).scalar_one():
                raise Refusal(
                    f"the target database is not empty (table {table.name} has rows); "
                    "restore into a new database",
                    Kind.CONFLICT,
                )


def _schema_at(db: Database, revision: str) -> None:
    """The schema as it was at ``revision``: an empty target at another revision (a
    `calcard db upgrade` of a newer calcard, say) has its empty tables dropped first."""
    from alembic import command

    meta = MetaData()
    with db.engine.connect() as conn:
        meta.reflect(conn)
        current = (
            conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
            if VERSION_TABLE in meta.tables
            else None
        )
    if current is not None and current != revision:
        with db.engine.begin() as conn:
            meta.drop_all(conn)
    command.upgrade(alembic_config(db.url), revision)


def _load(conn: Connection, meta: MetaData, path: Path) -> None:
    table: Table | None = None
    columns: list[str] = []
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        if table is not None and batch:
            conn.execute(insert(table), batch)
        batch.clear()

    for kind, value in _entries(path):
        if kind == "table":
            flush()
            table, columns = _target_table(meta, value), value.columns
        elif kind == "row":
            batch.append({c: _decode(v) for c, v in zip(columns, value, strict=True)})
            if len(batch) >= BATCH:
                flush()
    flush()


def _target_table(meta: MetaData, section: _Section) -> Table:
    table = meta.tables.get(section.table)
    if table is None or not set(section.columns) <= set(table.columns.keys()):
        raise BadBackup(f"the backup's table {section.table} does not fit its schema revision")
    return table


def _advance_sequences(conn: Connection, meta: MetaData) -> None:
    """Rows went in with their ids; PostgreSQL's sequences must continue after them."""
    for table in meta.sorted_tables:
        for column in table.primary_key.columns:
            sequence = conn.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
            ).scalar()
            if sequence:
                conn.execute(
                    text(
                        f'SELECT setval(:s, COALESCE((SELECT max("{column.name}") '
                        f'FROM "{table.name}"), 0) + 1, false)'
                    ),
                    {"s": sequence},
                )


def _new_lineage(s: Session) -> None:
    """Every collection, and those created from now on, in a lineage of its own."""
    value = "r" + secrets.token_hex(6) + "."
    s.merge(ServerSecret(name=LINEAGE, value=value))
    s.execute(Collection.__table__.update().values(lineage=value))
