"""Push subscriptions made due by a change, in the change's own transaction.

Every change of a collection passes ``store._bump`` (the sync log's one
writer), which calls ``collection_changed``; every browser notification passes
``reminders.delivery.notify_browser``, which calls ``owner_notified``. So a
push is recorded by whatever path changed things (DAV, the web UI, an import,
scheduling, a restore, a share's change) and is rolled back with it. The first
change sets ``due_at`` a moment ahead (``MERGE``) and later ones only count, so
the changes of that moment go out as one message (draft "Push for WebDAV",
Rate Limiting); ``calcard.push.dispatch`` sends and clears it.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, func, not_, update
from sqlalchemy.orm import Session

from calcard.core.models import PushSubscription
from calcard.core.times import utcnow

MERGE = timedelta(seconds=1)  # changes within this moment become one message
WEBDAV = "webdav"
BROWSER = "browser"
# Push-Dont-Notify of the request being served: (login, their registration tokens, or
# None for all of theirs); set by the DAV adapter for each request.
_QUIET: ContextVar[tuple[str, frozenset[str] | None] | None] = ContextVar("quiet", default=None)


def quiet(login: str, tokens: frozenset[str] | None) -> None:
    """Spare ``login``'s registrations ``tokens`` (None: all of theirs) the pushes of the
    changes this context makes next (draft "Push for WebDAV", Suppressing Notifications).
    Only the requester's own: a registration URL is its registrant's (Security
    Considerations), so ``*`` cannot silence other people's devices. ``login`` "" ends it."""
    _QUIET.set((login, tokens) if login else None)


def _spared() -> ColumnElement[bool] | None:
    asked = _QUIET.get()
    if asked is None:
        return None
    login, tokens = asked
    mine = PushSubscription.owner == login
    return not_(mine if tokens is None else and_(mine, PushSubscription.token.in_(tokens)))


def _mark(s: Session, *where) -> None:
    s.execute(
        update(PushSubscription)
        .where(*where)
        .values(
            changes=PushSubscription.changes + 1,
            due_at=func.coalesce(PushSubscription.due_at, utcnow() + MERGE),
        )
        .execution_options(synchronize_session=False)
    )


def collection_changed(s: Session, collection_id: int) -> None:
    """A member of the collection (or the collection) changed: its registrations are due
    (those the request asked to spare, ``quiet``, excepted)."""
    spared = _spared()
    if spared is None:
        _mark(s, PushSubscription.collection_id == collection_id)
    else:
        _mark(s, PushSubscription.collection_id == collection_id, spared)


def owner_notified(s: Session, owner: str) -> None:
    """A browser notification was stored for ``owner``: their browsers are due."""
    _mark(s, PushSubscription.owner == owner, PushSubscription.kind == BROWSER)
