"""Signed links that work without a login (e.g. "stop this reminder" in a mail).

The key lives in the database so every node signs and verifies alike
(core.serversecrets); each serving process makes it when it starts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.orm import Session

from calcard.core import serversecrets
from calcard.core.db import Database

KEY_NAME = "link-signing-key"


def make_key(db: Database) -> None:
    """Make the signing key unless it exists (a serving process's start)."""
    serversecrets.ensure(db, KEY_NAME, _new_key)


def _new_key() -> str:
    return secrets.token_hex(32)


def _key(s: Session) -> bytes:
    return bytes.fromhex(serversecrets.stored(s, KEY_NAME, _new_key))


def sign(s: Session, purpose: str) -> str:
    return hmac.new(_key(s), purpose.encode(), hashlib.sha256).hexdigest()[:32]


def verify(s: Session, purpose: str, signature: str) -> bool:
    return hmac.compare_digest(sign(s, purpose), signature)
