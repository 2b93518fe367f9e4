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

from datetime import timedelta

from sqlalchemy import func, update
from sqlalchemy.orm import Session

from calcard.core.models import PushSubscription
from calcard.core.times import utcnow

MERGE = timedelta(seconds=1)  # changes within this moment become one message
WEBDAV = "webdav"
BROWSER = "browser"


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
    """A member of the collection (or the collection) changed: its registrations are due."""
    _mark(s, PushSubscription.collection_id == collection_id)


def owner_notified(s: Session, owner: str) -> None:
    """A browser notification was stored for ``owner``: their browsers are due."""
    _mark(s, PushSubscription.owner == owner, PushSubscription.kind == BROWSER)
