"""The process-wide Database and the transaction of the current request thread.

Radicale brackets each request's storage work in ``acquire_lock``; that opens
one transaction here, and every plugin call on the same thread joins it, so a
request reads one snapshot and commits (or rolls back) as a whole.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from calcard.config import load_settings
from calcard.db import Database

_database: Database | None = None
_local = threading.local()


def database() -> Database:
    global _database
    if _database is None:
        _database = Database(load_settings().database_url)
    return _database


def use(db: Database) -> None:
    global _database
    _database = db


@contextmanager
def session(write: bool = False, owners: Iterable[str] = ()) -> Iterator[Session]:
    """Join the thread's open transaction, or run a new one for this block."""
    current: Session | None = getattr(_local, "session", None)
    if current is not None:
        yield current
        return
    with database().transaction(write=write, owners=owners) as s:
        _local.session = s
        try:
            yield s
        finally:
            _local.session = None


def set_actor(user: str) -> None:
    """Who is making the current request's changes (the trash shows who deleted what)."""
    _local.actor = user


def actor() -> str:
    return getattr(_local, "actor", "")
