"""The deployment's own secrets (the link-signing key, the VAPID key), one
``server_secrets`` row each, so every node signs alike.

Each is made once, by whichever process first finds it missing; a concurrent maker on
another node loses the insert and takes the winner's. Serving processes make them as
they start (``ensure``, in a write transaction): requests read them inside read
transactions, and a read transaction that writes is refused by SQLite ("database is
locked") when another connection committed since it began.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from calcard.core.db import Busy, Database
from calcard.core.models import ServerSecret


def stored(s: Session, name: str, new: Callable[[], str]) -> str:
    """The secret ``name``, made with ``new()`` first if it is missing (only then a
    write: in a read transaction just when the start could not reach the database)."""
    row = s.get(ServerSecret, name)
    if row is None:
        try:
            with s.begin_nested():
                s.add(ServerSecret(name=name, value=new()))
        except IntegrityError:
            pass  # another node made it first: take theirs
        row = s.get(ServerSecret, name)
        if row is None:  # theirs, made after this read transaction's snapshot
            raise Busy(f"the secret {name!r} was made meanwhile")
    return row.value


def ensure(db: Database, name: str, new: Callable[[], str]) -> None:
    """Make the secret ``name`` unless it exists (a serving process's start)."""
    with db.transaction() as s:
        if s.get(ServerSecret, name) is not None:
            return
    with db.transaction(write=True) as s:
        stored(s, name, new)
