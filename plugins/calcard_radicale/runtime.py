"""The process-wide Database and the state of the current request thread.

Radicale brackets each request's storage work in ``acquire_lock``; that opens
one transaction here, and every plugin call on the same thread joins it, so a
request reads one snapshot and commits (or rolls back) as a whole. A write
transaction outlives ``acquire_lock``: Radicale returns its error answers from
inside the lock, whose exit would commit what the request changed before it
was refused, so ``finish_request`` commits it only when the answer is a
success (below 400) and rolls it back otherwise.

A request also carries a rights cache (Radicale asks for rights per item) and
a refusal: a plugin that refuses something with a reason records it here, and
``CalcardApplication`` answers with that status and reason instead of
Radicale's generic one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from calcard.core import times
from calcard.core.config import Settings, load_settings
from calcard.core.db import Database, lock_owners
from calcard.core.errors import Kind, Refusal
from calcard.store import CollectionData, busy

logger = logging.getLogger("calcard.index")
_database: Database | None = None
_settings: Settings | None = None
_local = threading.local()


def database() -> Database:
    global _database
    if _database is None:
        _database = Database(load_settings().database_url)
    return _database


def index_ahead(collection: CollectionData, end: int) -> None:
    """Before a time-range query that reaches past the occurrence index's horizon, queue
    the calendar's series without end to be indexed that far (``busy.queue_extension``)
    by the dispatcher, a batch per round, so that later queries are index lookups; this
    one expands them itself (``busy.uncovered``), as each does until the index has
    caught up. Indexing thousands of series in the request would keep it, and the
    database's write lock, for minutes; a thread would let any reader start write work
    without bound. The queue has one row per calendar, and ends go up to steps
    (``busy.extension_end``). A transaction of its own: the request's may be a read
    snapshot; a write one only when there is something to queue, and a read is not
    refused because that write could not be made (the database busy)."""
    now = times.utcnow()
    soon, latest = (now + busy.WINDOW_AFTER / 2).timestamp(), busy.LAST_EXTENSION.timestamp()
    if collection.tag != "VCALENDAR" or not soon < end < latest:  # not past it, or unbounded
        return
    last = busy.extension_end(end)
    with database().transaction() as s:
        if not busy.wants_extension(s, collection.id, last):
            return
    try:
        with database().transaction(write=True, owners=[collection.owner]) as s:
            busy.queue_extension(s, collection.owner, collection.id, last, now)
    except SQLAlchemyError as error:  # best effort: the query is answered all the same
        logger.warning("index extension of %s not queued: %s", collection.path, error)


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
    precondition: str = ""  # the refusal's DAV precondition element, if it names one
    delay: float = 0.0  # seconds to wait before answering the refusal (login throttling)
    body: bytes = b""  # a PUT's body, read before the write lock (whose locks it needs)
    pending: AbstractContextManager[Session] | None = None  # the write transaction, open
    schedule_tag_match: str | None = None  # If-Schedule-Tag-Match (scheduletag.py)
    sync_limit: int | None = None  # a sync-collection's DAV:limit (synclimit.py)
    sync_truncated: bool = False  # whether the sync page was cut at that limit
    sync_href: str = ""  # the request-URI, for the 507 response of a cut page
    serve: Any = None  # a GET of a whole collection: what app.py streams (collectionget.Wanted)
    propfind: str = ""  # a PROPFIND body's kind: prop | propname | allprop (push.py)
    environ: dict = field(default_factory=dict)  # the WSGI environ (push.py's headers)
    app_password_id: int | None = None  # the app password the requester logged in with


class _Refused(Exception):
    """Thrown into the request's write transaction to roll it back."""


@contextmanager
def request_transaction(write: bool, owners: Iterable[str]) -> Iterator[None]:
    """``acquire_lock``'s transaction: a read one ends with the block; a write one
    stays open until ``finish_request`` knows the answer's status."""
    current: Session | None = getattr(_local, "session", None)
    if current is not None:
        if write:
            lock_owners(current, owners)  # a second lock in the same request
        yield
        return
    if not write:
        with session(owners=owners):
            yield
        return
    manager = database().transaction(write=True, owners=owners)
    _local.session = manager.__enter__()
    request().pending = manager
    try:
        yield
    except BaseException:
        finish_request(ok=False)
        raise


def finish_request(ok: bool) -> None:
    """Commit the request's write transaction (``ok``) or roll it back."""
    state = request()
    manager, state.pending = state.pending, None
    if manager is None:
        return
    _local.session = None
    if ok:
        manager.__exit__(None, None, None)
    else:
        refused = _Refused()
        manager.__exit__(_Refused, refused, None)


def begin_request() -> RequestState:
    """Fresh state for the request this thread starts serving."""
    _local.request = RequestState()
    return _local.request


def request() -> RequestState:
    state = getattr(_local, "request", None)
    return state if state is not None else begin_request()


# How DAV answers each kind of refusal (RFC 4918 §9 and RFC 4791 use these statuses).
DAV_STATUS = {
    Kind.INVALID: 400,
    Kind.UNAUTHORIZED: 401,
    Kind.FORBIDDEN: 403,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.TOO_LARGE: 413,
    Kind.UNSUPPORTED: 415,
}


def refuse_with(refusal: Refusal, precondition: str = "") -> None:
    """The one place a service-layer ``Refusal`` becomes the DAV answer: its kind's
    status, its message as the body (see ``refuse``)."""
    refuse(DAV_STATUS[refusal.kind], refusal.message, precondition=precondition)


def refuse(status: int, reason: str, delay: float = 0.0, precondition: str = "") -> None:
    """Record why this request is refused; the first reason wins. Protocol-level refusals
    (malformed XML, a login) give their status here, service refusals go through
    ``refuse_with``. ``precondition`` (a Clark name) makes the body a ``DAV:error``
    naming it (RFC 4918 §16), with the reason beside it."""
    state = request()
    if state.refusal is None:
        state.refusal = (status, reason)
        state.delay = delay
        state.precondition = precondition


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
