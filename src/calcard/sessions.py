"""Web UI sessions: opened by a password login, kept in the database, closed by logout.

Sessions live in SQL, not in process memory, so any ``calcard serve`` node
behind a load balancer serves any browser (DESIGN.md, Growing past one
machine). The cookie carries a random token; only its SHA-256 is stored.
Each session has its own CSRF token that changing requests must send back in
a header, which a cross-site page cannot read or forge.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from calcard import reminders
from calcard.models import WebSession, utcnow

LIFETIME = timedelta(days=14)


@dataclass(frozen=True)
class Opened:
    """A new session: the cookie value (shown once) and its CSRF token."""

    token: str
    csrf: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(s: Session, login: str, now: datetime | None = None) -> Opened:
    """Start a session for an already authenticated login; expired ones are purged."""
    now = now or utcnow()
    s.execute(delete(WebSession).where(WebSession.expires_at < now))
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + LIFETIME
    s.add(WebSession(token_hash=_hash(token), owner=login, csrf=csrf, expires_at=expires))
    s.flush()
    return Opened(token, csrf, expires)


def find(s: Session, token: str, now: datetime | None = None) -> WebSession | None:
    """The live session a cookie names, or None (unknown or expired)."""
    if not token:
        return None
    row = s.get(WebSession, _hash(token))
    if row is None or reminders.aware(row.expires_at) <= (now or utcnow()):
        return None
    return row


def csrf_matches(row: WebSession, sent: str) -> bool:
    return bool(sent) and hmac.compare_digest(row.csrf, sent)


def close(s: Session, token: str) -> None:
    s.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))
