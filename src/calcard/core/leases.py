"""Claiming due rows of a delivery queue (reminders, outgoing mail, push) under a lease.

Any number of dispatchers on any number of machines take rows with ``SKIP
LOCKED`` (PostgreSQL; SQLite's write lock already serializes them), so no row is
taken twice; a row stays ``sending`` until its lease runs out, so a dispatcher
that dies mid-send leaves it due again rather than lost.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from calcard.core.models import OutgoingMail, PushSubscription, Reminder

Queued = TypeVar("Queued", Reminder, OutgoingMail, PushSubscription)


def claim_due(
    s: Session,
    model: type[Queued],
    due: ColumnElement[bool],
    limit: int,
    lease_until: datetime,
    **values: object,
) -> Sequence[Queued]:
    """Take up to ``limit`` rows matching ``due``, earliest first, until ``lease_until``,
    with ``values`` set too (``status="sending"`` for a queue with a status)."""
    ids = s.scalars(
        select(model.id)
        .where(due)
        .order_by(model.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not ids:
        return []
    s.execute(update(model).where(model.id.in_(ids)).values(lease_until=lease_until, **values))
    return s.scalars(select(model).where(model.id.in_(ids)).order_by(model.due_at)).all()


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` on this machine still runs: a dead dispatcher's claims
    are taken over at once (``reminders.dispatch``), a dead worker's live gauges
    dropped (``core.metrics``)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True
