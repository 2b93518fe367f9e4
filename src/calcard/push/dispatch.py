"""Sending what changes made due: claim subscriptions, send, record the outcome.

``store.push`` marks a subscription due a moment after a change; here a
dispatcher claims due subscriptions under a lease (``SKIP LOCKED`` on
PostgreSQL, SQLite's write lock elsewhere), so of any number of dispatchers on
any number of nodes exactly one sends each message, and a dispatcher dying
mid-send leaves the row due again when its lease runs out. A WebDAV-Push
registration gets one ``push-message`` with the collection's sync token as it
is when sent (so the changes of a moment are one message, draft "Push for
WebDAV", Rate Limiting); a browser gets each notice stored for its person since
the last one it got. Before each send the door is asked again whether the
registrant may still read the collection: who lost access (a share removed, a
person removed) loses the registration. Failures are retried with backoff;
404/410 from the push service, or MAX_ATTEMPTS failures in a row, end it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from calcard import accounts, store
from calcard.core import leases, links
from calcard.core.catalogs import say
from calcard.core.config import Settings
from calcard.core.db import Database
from calcard.core.models import Collection, Notification, PushSubscription, Reminder
from calcard.push import sending, subscriptions, vapid, wire
from calcard.reminders.dispatch import stop_purpose
from calcard.sharing import access
from calcard.store.push import BROWSER, MERGE

if TYPE_CHECKING:
    from py_vapid import Vapid02

LEASE = timedelta(minutes=2)
ROUND_SECONDS = 45.0  # no message starts later in a round: sends end well within LEASE
MAX_ATTEMPTS = 8  # about four hours of backoff before a dead push resource is dropped
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)
WEBDAV_TTL = 86400  # a day: a phone that was off longer syncs on its own anyway
BROWSER_TTL = 3600  # a reminder an hour late is no reminder
NOTICES_PER_ROUND = 5
TEXT_LIMIT = 600  # characters of a notice's title and body: the message stays one record
XML_TYPE = 'application/xml; charset="UTF-8"'
JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Message:
    payload: bytes
    media_type: str
    ttl: int
    topic: str = ""
    notice: int = 0  # the notification it carries (browsers), for the cursor


@dataclass(frozen=True)
class Job:
    """A claimed subscription with what to send it, read in the claim's transaction."""

    id: int
    changes: int
    target: sending.Target
    messages: tuple[Message, ...]
    full: bool = False  # a browser's round was cut at NOTICES_PER_ROUND: more wait
    final: bool = False  # the collection was removed: the registration ends once sent


def run(
    db: Database,
    settings: Settings,
    worker: str,
    now: datetime,
    limit: int = 50,
    budget: float = ROUND_SECONDS,
) -> int:
    """Claim and send what is due; returns how many subscriptions were handled. Asks
    first in a read transaction: a round with nothing due takes no write lock. A round
    starts no message after ``budget`` seconds (slow push services): what it did not
    reach is released for the next, long before its lease would run out and another
    dispatcher would send it again."""
    with db.transaction() as s:
        if s.scalar(select(PushSubscription.id).where(_due(now)).limit(1)) is None:
            return 0
    with db.transaction(write=True) as s:
        jobs = claim(s, worker, now, limit)
        key = vapid.signer(s) if jobs else None
    deadline = time.monotonic() + budget
    for done, job in enumerate(jobs):
        if done and time.monotonic() > deadline:
            with db.transaction(write=True) as s:
                release(s, jobs[done:], worker)
            return done
        sent, outcome = _send(job, key, settings, deadline)
        with db.transaction(write=True) as s:
            record(s, job, worker, sent, outcome, now)
    return len(jobs)


def _send(
    job: Job, key: Vapid02 | None, settings: Settings, deadline: float
) -> tuple[int, sending.Outcome]:
    """Send a job's messages in order until one fails or the round's time is up (after
    the first); returns how many went and the last outcome."""
    assert key is not None  # claimed jobs come with the signer
    outcome = sending.Outcome(ok=True)
    for sent, message in enumerate(job.messages):
        if sent and time.monotonic() > deadline:
            return sent, outcome
        outcome = sending.send(
            job.target,
            message.payload,
            message.media_type,
            key,
            f"mailto:{settings.mail_from}",
            settings.outbound_allow,
            message.ttl,
            message.topic,
        )
        if not outcome.ok:
            return sent, outcome
    return len(job.messages), outcome


def release(s: Session, jobs: list[Job], worker: str) -> None:
    """Hand claimed jobs this round did not reach back, due as they were."""
    s.execute(
        update(PushSubscription)
        .where(PushSubscription.id.in_([j.id for j in jobs]))
        .where(PushSubscription.claimed_by == worker)
        .values(lease_until=None)
    )


def claim(s: Session, worker: str, now: datetime, limit: int) -> list[Job]:
    """Take up to ``limit`` due subscriptions; those with nothing left to send are
    settled here (no access any more: removed; no new notice: no longer due)."""
    rows = leases.claim_due(s, PushSubscription, _due(now), limit, now + LEASE, claimed_by=worker)
    jobs = []
    for row in rows:
        job = _browser_job(s, row) if row.kind == BROWSER else _webdav_job(s, row)
        if job is not None:
            jobs.append(job)
    return jobs


def _due(now: datetime) -> ColumnElement[bool]:
    """Marked by a change, not expired, not claimed (or its claim's lease ran out)."""
    return and_(
        PushSubscription.due_at <= now,
        PushSubscription.expires_at > now,
        or_(PushSubscription.lease_until.is_(None), PushSubscription.lease_until < now),
    )


def _target(row: PushSubscription) -> sending.Target:
    return sending.Target(row.push_resource, row.p256dh, row.auth)


def _webdav_job(s: Session, row: PushSubscription) -> Job | None:
    """The push-message for a registration, or None (removed: the registrant may no
    longer read the collection). A trashed collection gets a last message without a
    sync token (its removal is a content update), then the registration ends."""
    parent = s.get(Collection, row.collection_id) if row.collection_id else None
    trashed = parent is not None and parent.deleted_at is not None
    collection = store.collection_data(parent) if parent else None
    if collection is None or not _may_read(s, row.owner, collection, trashed):
        s.delete(row)
        return None
    topic = subscriptions.topic(s, collection)
    token = None if trashed else store.sync_token(collection)
    message = Message(wire.push_message(topic, token), XML_TYPE, WEBDAV_TTL, topic)
    return Job(row.id, row.changes, _target(row), (message,), final=trashed)


def _may_read(s: Session, login: str, collection: store.CollectionData, trashed: bool) -> bool:
    """Whether ``login`` may still learn of changes to ``collection`` (its removal too)."""
    if trashed:
        return access.may_hear_of_removal(s, login, collection)
    return access.may(s, login, access.READ, collection.path)


def _browser_job(s: Session, row: PushSubscription) -> Job | None:
    """The notices stored for a browser's person since its cursor, or None."""
    if accounts.find_user(s, row.owner) is None:
        s.delete(row)
        return None
    notices = s.scalars(
        select(Notification)
        .where(Notification.owner == row.owner, Notification.id > row.cursor)
        .order_by(Notification.id)
        .limit(NOTICES_PER_ROUND)
    ).all()
    if not notices:
        row.due_at, row.lease_until = None, None
        return None
    messages = tuple(
        Message(_notice_payload(s, n), JSON_TYPE, BROWSER_TTL, notice=n.id) for n in notices
    )
    return Job(row.id, row.changes, _target(row), messages, len(notices) == NOTICES_PER_ROUND)


def _notice_payload(s: Session, notice: Notification) -> bytes:
    """What the service worker shows (sw.js): title, body, tag, and for a repeating
    reminder its stop route with the signature that authorizes it (no session there)
    and the Stop action's title in the owner's language, like the title and body the
    dispatcher wrote (a worker has no page, so no language of its own)."""
    data: dict = {
        "title": notice.title[:TEXT_LIMIT],
        "body": notice.body[:TEXT_LIMIT],
        "tag": f"calcard-{notice.id}",
        "id": notice.id,
    }
    reminder = s.get(Reminder, notice.reminder_id) if notice.reminder_id else None
    if reminder is not None and reminder.repeat:
        data["stop"] = {
            "url": f"/api/reminders/{reminder.id}/stop",
            "sig": links.sign(s, stop_purpose(reminder)),
            "title": say(accounts.language(s, notice.owner), "Stop"),
        }
    return json.dumps(data).encode()


def record(
    s: Session, job: Job, worker: str, sent: int, outcome: sending.Outcome, now: datetime
) -> None:
    """Settle a job: sent (due again only if changes came meanwhile), gone (removed), or
    failed (retried with backoff; after MAX_ATTEMPTS removed)."""
    row = s.get(PushSubscription, job.id)
    if row is None or row.claimed_by != worker:
        return  # removed meanwhile (unsubscribed), or the lease ran out and it was retaken
    if sent and job.messages[sent - 1].notice:
        row.cursor = job.messages[sent - 1].notice
    row.lease_until = None
    if outcome.ok and job.final:
        s.delete(row)
        return
    if outcome.ok:
        more = row.changes != job.changes or job.full or sent < len(job.messages)
        row.due_at = now + MERGE if more else None
        row.attempts, row.last_error, row.sent_at = 0, "", now
        return
    if outcome.gone or row.attempts + 1 >= MAX_ATTEMPTS:
        s.delete(row)
        return
    row.attempts += 1
    row.last_error = outcome.error[:1000]
    row.due_at = now + min(FIRST_RETRY * 2 ** (row.attempts - 1), LAST_RETRY)


def purge_expired(db: Database, now: datetime) -> int:
    """Drop expired subscriptions (the hourly housekeeping)."""
    with db.transaction(write=True) as s:
        return subscriptions.purge_expired(s, now)
