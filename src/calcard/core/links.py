"""Signed links that work without a login (e.g. "stop this reminder" in a mail).

The key lives in the database so every node signs and verifies alike. Each serving
process makes it when it starts (``make_key``), in a write transaction: requests sign
inside read transactions (a DAV PROPFIND's push topic), and a read transaction that
writes is refused by SQLite ("database is locked") when another connection committed
since it began. A write transaction that finds it missing still makes it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from calcard.core.db import Database
from calcard.core.models import ServerSecret

KEY_NAME = "link-signing-key"


def make_key(db: Database) -> None:
    """Make the signing key unless it exists (a serving process's start)."""
    with db.transaction() as s:
        if s.get(ServerSecret, KEY_NAME) is not None:
            return
    with db.transaction(write=True) as s:
        _key(s)


def _key(s: Session) -> bytes:
    row = s.get(ServerSecret, KEY_NAME)
    if row is None:
        try:
            with s.begin_nested():
                s.add(ServerSecret(name=KEY_NAME, value=secrets.token_hex(32)))
        except IntegrityError:
            pass  # another node created it first
        row = s.get(ServerSecret, KEY_NAME)
    return bytes.fromhex(row.value)  # type: ignore[union-attr]  # created above if missing


def sign(s: Session, purpose: str) -> str:
    return hmac.new(_key(s), purpose.encode(), hashlib.sha256).hexdigest()[:32]


def verify(s: Session, purpose: str, signature: str) -> bool:
    return hmac.compare_digest(sign(s, purpose), signature)
