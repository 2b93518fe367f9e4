"""Web UI sessions: opened by a password login, kept in the database, closed by logout.

Sessions live in SQL, not in process memory, so any ``calcard serve`` node
behind a load balancer serves any browser (DESIGN.md, Growing past one
machine). The cookie carries a random token; only its SHA-256 is stored.
Each session has its own CSRF token that changing requests must send back in
a header, which a cross-site page cannot read or forge.

A session belongs to the person (``user_id``), not to the login: it dies with
the user, and is honoured only while that very user still holds the login, so
a later account with the same login never inherits it. A password change or
turning 2FA on ends the person's other sessions (``end_others``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from calcard.core.db import rowcount
from calcard.core.models import User, WebSession
from calcard.core.times import as_utc, utcnow

LIFETIME = timedelta(days=14)


@dataclass(frozen=True)
class Opened:
    """A new session: the cookie value (shown once) and its CSRF token."""

    token: str
    csrf: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(s: Session, user: User, now: datetime | None = None) -> Opened:
    """Start a session for an already authenticated user; expired ones are purged."""
    now = now or utcnow()
    s.execute(delete(WebSession).where(WebSession.expires_at < now))
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + LIFETIME
    s.add(
        WebSession(
            token_hash=_hash(token),
            user_id=user.id,
            owner=user.login,
            csrf=csrf,
            expires_at=expires,
        )
    )
    s.flush()
    return Opened(token, csrf, expires)


# The user must still exist and still hold the login the session was opened for.
_LIVE = (
    select(WebSession)
    .join(User, User.id == WebSession.user_id)
    .where(User.login == WebSession.owner)
)


def find(s: Session, token: str, now: datetime | None = None) -> WebSession | None:
    """The live session a cookie names, or None (unknown, expired, or its user is gone)."""
    if not token:
        return None
    row = s.scalars(_LIVE.where(WebSession.token_hash == _hash(token))).first()
    if row is None or as_utc(row.expires_at) <= (now or utcnow()):
        return None
    return row


def csrf_matches(row: WebSession, sent: str) -> bool:
    return bool(sent) and hmac.compare_digest(row.csrf, sent)


def close(s: Session, token: str) -> None:
    s.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))


def end_others(s: Session, user_id: int, keep_token: str = "") -> int:
    """End every session of the user but the one ``keep_token`` names; how many ended.

    After a password change or turning 2FA on, whoever holds another session
    (a stolen cookie, a forgotten kiosk) must authenticate again with the new
    credentials (OWASP ASVS 3.3.3). App passwords are separate credentials and
    stay valid; the user revokes them one by one.
    """
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if keep_token:
        query = query.where(WebSession.token_hash != _hash(keep_token))
    return rowcount(s.execute(query)) or 0
