"""The process-wide Database and the state of the current request thread.

Radicale brackets each request's storage work in ``acquire_lock``; that opens
one transaction here, and every plugin call on the same thread joins it, so a
request reads one snapshot and commits (or rolls back) as a whole.

A request also carries a rights cache (Radicale asks for rights per item) and
a refusal: a plugin that refuses something with a reason records it here, and
``CalcardApplication`` answers with that status and reason instead of
Radicale's generic one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from calcard.config import Settings, load_settings
from calcard.db import Database

_database: Database | None = None
_settings: Settings | None = None
_local = threading.local()


def database() -> Database:
    global _database
    if _database is None:
        _database = Database(load_settings().database_url)
    return _database


def settings() -> Settings:
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings


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


@dataclass
class RequestState:
    rights: dict[tuple[str, str], str] = field(default_factory=dict)
    refusal: tuple[int, str] | None = None
    delay: float = 0.0  # seconds to wait before answering the refusal (login throttling)
    body: bytes = b""  # a PUT's body, read before the write lock (whose locks it needs)


def begin_request() -> RequestState:
    """Fresh state for the request this thread starts serving."""
    _local.request = RequestState()
    return _local.request


def request() -> RequestState:
    state = getattr(_local, "request", None)
    return state if state is not None else begin_request()


def refuse(status: int, reason: str, delay: float = 0.0) -> None:
    """Record why this request is refused; the first reason wins."""
    state = request()
    if state.refusal is None:
        state.refusal = (status, reason)
        state.delay = delay


def cached_rights(user: str, path: str, compute: Callable[[], str]) -> str:
    """Rights of ``user`` on ``path``, computed once per request."""
    cache = request().rights
    key = (user, path)
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def set_actor(user: str) -> None:
    """Who is making the current request's changes (the trash shows who deleted what)."""
    _local.actor = user


def actor() -> str:
    return getattr(_local, "actor", "")
