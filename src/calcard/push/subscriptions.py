"""Registering, renewing, listing and removing push subscriptions.

A WebDAV-Push registration (draft "Push for WebDAV", Subscription Management)
is taken only from someone the door lets read the collection (calcard.sharing
.access; a sharee through their alias path too), for calendars and address
books. It is identified by its push resource: the same one registered again by
the same person on the same collection updates that registration and keeps its
token, so its ``Location`` stays (Subscription Updates). Expiry is capped at
``MAX_LIFETIME`` (the draft asks for at least three days) and renewed by
registering again. Browsers' Web Push subscriptions (the web calendar, for
reminders and invitation notices) live in the same table with ``kind`` browser.

Push resources follow the outbound rules (calcard.core.outbound): ``https``,
except hosts the operator allows in CALCARD_OUTBOUND_ALLOW, where ``http`` is
allowed too; internal addresses only there. Checked here and at every send.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from calcard.core import links, outbound
from calcard.core.db import lock_owners, rowcount
from calcard.core.models import Notification, PushSubscription
from calcard.core.times import as_utc
from calcard.push import wire
from calcard.sharing import access
from calcard.store import CollectionData, inbox
from calcard.store.push import BROWSER, WEBDAV

MAX_LIFETIME = timedelta(days=7)
MIN_LIFETIME = timedelta(hours=1)
BROWSER_LIFETIME = timedelta(days=30)  # the page renews it on every visit
MAX_PER_OWNER = 200  # registrations of one person (their devices times their collections)
REGISTRATION_PATH = "/api/push/registrations/"  # + token: the registration URL's path
PUSHABLE = ("VCALENDAR", "VADDRESSBOOK")


@dataclass(frozen=True)
class Registered:
    """The outcome of a registration: its token, real expiry, and whether it is new."""

    token: str
    expires_at: datetime
    created: bool


@dataclass(frozen=True)
class Listed:
    """One of a person's subscriptions as Settings shows it (never its keys)."""

    token: str
    kind: str
    path: str
    service: str  # the push service's host
    label: str
    created_at: datetime
    expires_at: datetime
    sent_at: datetime | None
    last_error: str


def topic(s: Session, collection: CollectionData) -> str:
    """The collection's push topic: opaque, unique server-wide, stable for the
    collection's life (Push Properties); 32 characters, also fit as RFC 8030 ``Topic``."""
    return links.sign(s, f"push-topic:{collection.lineage}{collection.id}")


def pushable(collection: CollectionData | None) -> bool:
    """Calendars and address books push; schedule boxes and homes do not."""
    return collection is not None and collection.tag in PUSHABLE and inbox.kind(collection) is None


def check_push_resource(url: str, allow: str) -> str:
    """``url`` if messages may be sent to it (the outbound rules above), else a Refusal
    with the draft's ``invalid-subscription`` precondition."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise wire.refused(wire.INVALID_SUBSCRIPTION, "the push resource has a bad port") from exc
    if (
        len(url) > wire.MAX_RESOURCE_LENGTH
        or not parts.hostname
        or parts.username is not None
        or parts.fragment
        or any(ord(c) <= 32 or ord(c) == 127 for c in url)
    ):
        raise wire.refused(wire.INVALID_SUBSCRIPTION, "the push resource is no absolute URL")
    if parts.scheme == "http" and not outbound.operator_allowed(url, allow):
        raise wire.refused(wire.INVALID_SUBSCRIPTION, "push resources must be https URLs")
    if parts.scheme not in ("http", "https"):
        raise wire.refused(wire.INVALID_SUBSCRIPTION, "push resources must be https URLs")
    try:
        outbound.check_url(url, allow)
    except outbound.Refused as exc:
        raise wire.refused(
            wire.INVALID_SUBSCRIPTION, "the push resource is not a public address"
        ) from exc
    return url


def _lifetime(asked: datetime | None, now: datetime) -> datetime:
    """The real expiry: what was asked, between MIN_LIFETIME and MAX_LIFETIME ahead."""
    if asked is None:
        return now + MAX_LIFETIME
    return min(max(asked, now + MIN_LIFETIME), now + MAX_LIFETIME)


def register(
    s: Session,
    login: str,
    path: str,
    wanted: wire.Registration,
    allow: str,
    now: datetime,
    app_password_id: int | None = None,
) -> Registered:
    """Register (or renew) ``login``'s subscription of the collection at ``path``.

    Refusals: the door's (NOT_FOUND for who may not read), ``push-not-available``
    for what does not push (a schedule box, a home, an item) or past MAX_PER_OWNER, and
    ``invalid-subscription`` for a push resource the outbound rules refuse. A device
    logged in with an app password registers for as long as that password lives.
    """
    decision = access.require(s, login, access.READ, path)
    collection = decision.collection
    if not pushable(collection) or path.strip("/") != decision.path:
        raise wire.refused(wire.PUSH_NOT_AVAILABLE, "only calendars and address books push")
    assert collection is not None  # pushable
    check_push_resource(wanted.push_resource, allow)
    expires = _lifetime(wanted.expires, now)
    return _upsert(
        s,
        login,
        WEBDAV,
        collection.id,
        wanted,
        expires,
        decision.path,
        app_password_id=app_password_id,
    )


def register_browser(
    s: Session,
    login: str,
    wanted: wire.Registration,
    label: str,
    allow: str,
    now: datetime,
) -> Registered:
    """Register (or renew) a browser's Web Push subscription for ``login``'s reminders and
    invitation notices; a new one gets only notices stored from now on."""
    check_push_resource(wanted.push_resource, allow)
    last = s.scalar(select(func.max(Notification.id)).where(Notification.owner == login)) or 0
    return _upsert(
        s, login, BROWSER, None, wanted, now + BROWSER_LIFETIME, label=label, cursor=last
    )


def _upsert(
    s: Session,
    login: str,
    kind: str,
    collection_id: int | None,
    wanted: wire.Registration,
    expires: datetime,
    path: str = "",
    label: str = "",
    cursor: int = 0,
    app_password_id: int | None = None,
) -> Registered:
    """Renew ``login``'s subscription of this push resource (keys, expiry), or add it
    (with a new token, within MAX_PER_OWNER): Subscription Updates. The registrant's
    lock first, so two registrations at once cannot both count one short of the cap."""
    lock_owners(s, [login])
    row = s.scalars(
        select(PushSubscription).filter_by(
            owner=login, kind=kind, collection_id=collection_id, push_resource=wanted.push_resource
        )
    ).first()
    if row is not None:
        row.p256dh, row.auth, row.expires_at = wanted.p256dh, wanted.auth, expires
        row.path, row.label, row.app_password_id = path, label[:200], app_password_id
        return Registered(row.token, expires, created=False)
    _check_room(s, login)
    token = secrets.token_urlsafe(24)
    s.add(
        PushSubscription(
            token=token,
            owner=login,
            kind=kind,
            collection_id=collection_id,
            path=path,
            push_resource=wanted.push_resource,
            p256dh=wanted.p256dh,
            auth=wanted.auth,
            label=label[:200],
            expires_at=expires,
            changes=0,
            cursor=cursor,
            attempts=0,
            last_error="",
            claimed_by="",
            app_password_id=app_password_id,
        )
    )
    s.flush()
    return Registered(token, expires, created=True)


def _check_room(s: Session, login: str) -> None:
    count = s.scalar(
        select(func.count()).select_from(PushSubscription).where(PushSubscription.owner == login)
    )
    if (count or 0) >= MAX_PER_OWNER:
        raise wire.refused(
            wire.PUSH_NOT_AVAILABLE, f"at most {MAX_PER_OWNER} push subscriptions per person"
        )


def remove(s: Session, login: str, token: str, now: datetime) -> bool:
    """Remove ``login``'s live subscription ``token``; False when there is none of theirs
    (another person's registration URL stays untouched: Security Considerations)."""
    removed = s.execute(
        delete(PushSubscription).where(
            PushSubscription.token == token,
            PushSubscription.owner == login,
            PushSubscription.expires_at > now,
        )
    )
    return bool(rowcount(removed))


def list_for(s: Session, login: str, now: datetime) -> list[Listed]:
    """``login``'s live subscriptions, newest first."""
    rows = s.scalars(
        select(PushSubscription)
        .where(PushSubscription.owner == login, PushSubscription.expires_at > now)
        .order_by(PushSubscription.id.desc())
    )
    return [
        Listed(
            token=r.token,
            kind=r.kind,
            path=r.path,
            service=urlsplit(r.push_resource).hostname or "",
            label=r.label,
            created_at=as_utc(r.created_at),
            expires_at=as_utc(r.expires_at),
            sent_at=as_utc(r.sent_at) if r.sent_at else None,
            last_error=r.last_error,
        )
        for r in rows
    ]


def purge_expired(s: Session, now: datetime) -> int:
    """Delete expired subscriptions (none is ever sent to: Expiration)."""
    result = s.execute(delete(PushSubscription).where(PushSubscription.expires_at <= now))
    return rowcount(result)
