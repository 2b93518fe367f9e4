"""Outgoing mail queue: written in the transaction that decides to send,
delivered by the dispatchers with retries (like reminders)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, or_
from sqlalchemy.orm import Session

from calcard.core import leases
from calcard.core.models import OutgoingMail

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 5


def enqueue(
    s: Session,
    owner: str,
    recipient: str,
    subject: str,
    text: str,
    html: str = "",
    calendar: str = "",
    method: str = "",
) -> None:
    s.add(
        OutgoingMail(
            owner=owner,
            recipient=recipient,
            subject=subject[:1000],
            text=text,
            html=html,
            calendar=calendar,
            method=method,
        )
    )
    s.flush()


def claim(s: Session, now: datetime, limit: int = 50) -> Sequence[OutgoingMail]:
    due = or_(
        and_(OutgoingMail.status == "pending", OutgoingMail.due_at <= now),
        and_(OutgoingMail.status == "sending", OutgoingMail.lease_until < now),
    )
    return leases.claim_due(s, OutgoingMail, due, limit, now + LEASE, status="sending")


def record(s: Session, mail_id: int, now: datetime, error: str | None) -> None:
    """Sent, or retried with backoff (30 s, 1, 2, 4 min) and then failed with the reason."""
    row = s.get(OutgoingMail, mail_id)
    if row is None:
        return
    row.lease_until = None
    if error is None:
        row.status = "sent"
        return
    row.attempts += 1
    row.last_error = error[:1000]
    row.status = "failed" if row.attempts >= MAX_ATTEMPTS else "pending"
    row.due_at = now + timedelta(seconds=30 * 2 ** (row.attempts - 1))
