"""Public read-only links: a secret URL serving a calendar as an .ics feed, no login.

Only a SHA-256 of the token is stored (the token has 256 random bits, so a
fast hash is enough and lets the feed be looked up by it). A link ends when it
expires or is revoked; a revoked or expired link answers like an unknown one.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from calcard import accounts, store
from calcard.core.catalogs import N_
from calcard.core.errors import Kind, Refusal
from calcard.core.models import Collection, PublicLink
from calcard.core.times import as_utc, utcnow
from calcard.sharing import access

EXPIRIES: dict[str, timedelta | None] = {
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "6mo": timedelta(days=183),
    "1y": timedelta(days=365),
    "unlimited": None,
}


@dataclass(frozen=True)
class LinkInfo:
    id: int
    path: str
    created_at: datetime
    expires_at: datetime | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _owned_calendar(s: Session, path: str, actor: str | None) -> store.CollectionData:
    """The calendar at ``path`` if the door lets ``actor`` (None: the operator) publish it."""
    principal = None if actor is None else accounts.normalize_login(actor)
    decision = access.stored(s, principal, access.PUBLISH, path)
    collection = decision.collection
    if collection is None or collection.tag != "VCALENDAR" or not decision.readable:
        raise Refusal(N_("no calendar at {path!r}"), Kind.NOT_FOUND, values={"path": path})
    decision.raise_if_refused()
    return collection


def create(s: Session, path: str, expires: str, actor: str | None = None) -> tuple[LinkInfo, str]:
    """A new link and its token (shown once)."""
    if expires not in EXPIRIES:
        raise Refusal(
            N_("expiry must be one of {expiries}"), values={"expiries": ", ".join(EXPIRIES)}
        )
    collection = _owned_calendar(s, path, actor)
    token = secrets.token_urlsafe(32)
    lifetime = EXPIRIES[expires]
    link = PublicLink(
        collection_id=collection.id,
        owner=collection.owner,
        token_hash=_hash(token),
        expires_at=utcnow() + lifetime if lifetime else None,
    )
    s.add(link)
    s.flush()
    return _info(link, collection.path), token


def _info(link: PublicLink, path: str) -> LinkInfo:
    return LinkInfo(link.id, f"/{path}/", link.created_at, link.expires_at)


def list_links(s: Session, path: str, actor: str | None = None) -> list[LinkInfo]:
    """The live links of a calendar."""
    collection = _owned_calendar(s, path, actor)
    rows = s.scalars(
        select(PublicLink)
        .where(PublicLink.collection_id == collection.id, PublicLink.revoked_at.is_(None))
        .order_by(PublicLink.id)
    )
    return [_info(r, collection.path) for r in rows if _live(r)]


def revoke(s: Session, path: str, link_id: int, actor: str | None = None) -> None:
    collection = _owned_calendar(s, path, actor)
    link = s.get(PublicLink, link_id)
    if link is None or link.collection_id != collection.id or link.revoked_at is not None:
        raise Refusal(
            N_("no public link {link_id} for {path!r}"),
            Kind.NOT_FOUND,
            values={"link_id": link_id, "path": path},
        )
    link.revoked_at = utcnow()
    s.flush()


def _live(link: PublicLink) -> bool:
    if link.revoked_at is not None:
        return False
    return link.expires_at is None or as_utc(link.expires_at) > utcnow()


def feed(s: Session, token: str) -> str:
    """The path of the calendar behind a live token (its .ics is then streamed)."""
    link = s.scalars(select(PublicLink).where(PublicLink.token_hash == _hash(token))).first()
    collection = s.get(Collection, link.collection_id) if link else None
    if link is None or not _live(link) or collection is None or collection.deleted_at:
        raise Refusal(
            N_("no such public link (it may have expired or been revoked)"), Kind.NOT_FOUND
        )
    return collection.path
