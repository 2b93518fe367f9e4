"""Dispatching what is due: claim reminder rows, deliver, record the outcome; and
stopping a repeating reminder (its stop link, RFC 9074 ACKNOWLEDGED).

Rows are claimed in one short transaction and each outcome is committed right
after its delivery, so a crash loses nothing (the lease expires and another
dispatcher takes the row) and can repeat at most the one delivery in flight.
Queued mail (invitations and replies, ``core.mailqueue``) goes out through the
same mail channel with the same rules. ``calcard.worker`` runs this in its loop.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from calcard import accounts, store
from calcard.core import catalogs, leases, links, mailqueue, metrics, times
from calcard.core.catalogs import N_, say
from calcard.core.config import Settings
from calcard.core.db import Database
from calcard.core.models import Collection, Reminder
from calcard.reminders import delivery
from calcard.store import alarms, reminders

log = logging.getLogger("calcard.reminders")
Clock = Callable[[], datetime]


# A repeating reminder's line with its stop link, one sentence per repeat
# (store.alarms.REPEATS).
REPEATING = {
    "hourly": N_("Repeats every hour until you stop it: {link}"),
    "daily": N_("Repeats every day until you stop it: {link}"),
    "weekly": N_("Repeats every week until you stop it: {link}"),
}


@dataclass(frozen=True)
class Job:
    """A claimed reminder with what its delivery needs, read before the claim commits."""

    id: int
    owner: str
    channel: str
    title: str
    starts_at: datetime | None
    location: str
    repeat: str
    email: str
    webhook: str
    timezone: str
    language: str


def claim(s: Session, worker: str, now: datetime, grace: timedelta, limit: int) -> list[Job]:
    """Take up to ``limit`` due reminders for ``worker`` (see ``store.reminders.claim``);
    claims of dispatchers on this machine that died are taken over at once."""
    claimed = reminders.claim(s, worker, now, grace, limit, dead_local_workers(s))
    return [_job(s, row) for row in claimed]


def release(s: Session, jobs: Sequence[Job]) -> None:
    """Hand claimed but undelivered jobs back (a dispatcher stopping cleanly)."""
    reminders.release(s, [j.id for j in jobs])


def _job(s: Session, row: Reminder) -> Job:
    user = accounts.find_user(s, row.owner)
    return Job(
        id=row.id,
        owner=row.owner,
        channel=row.channel,
        title=row.title,
        starts_at=times.as_utc(row.starts_at) if row.starts_at else None,
        location=row.location,
        repeat=row.repeat,
        email=user.email if user else "",
        webhook=user.chat_webhook if user else "",
        timezone=user.timezone if user else "UTC",
        language=accounts.language(s, row.owner) if user else catalogs.SOURCE,
    )


class Sender:
    """Delivers claimed jobs and queued mail with the server's settings; each outcome
    is stamped with ``clock`` (UTC) and committed on its own."""

    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    def send_mail(self, now: datetime) -> int:
        """Deliver the mail queued until ``now`` (invitations, replies) with the same
        retry rules."""
        with self.db.transaction(write=True) as s:
            queued = [
                (m.id, m.recipient, m.subject, m.text, m.html, m.calendar, m.method)
                for m in mailqueue.claim(s, now)
            ]
        for mail_id, to, subject, text, html, calendar, method in queued:
            error = None
            try:
                delivery.send_email(
                    self.settings.smtp_url,
                    self.settings.mail_from,
                    to,
                    subject,
                    text,
                    f"mail-{mail_id}",
                    html,
                    calendar,
                    method,
                )
            except delivery.DeliveryError as exc:
                error = str(exc)
                log.warning("mail %d to %s failed: %s", mail_id, to, exc)
            with self.db.transaction(write=True) as s:
                mailqueue.record(s, mail_id, self.clock(), error)
            metrics.record_mail(error is None)
        return len(queued)

    def deliver(self, job: Job) -> None:
        """Send one job through its channel and record that it was sent, or why not."""
        try:
            if job.channel == "email":
                self._email(job)
            elif job.channel == "chat":
                if job.webhook:
                    delivery.post_chat(
                        job.webhook,
                        self._text(job, with_links=True),
                        self.settings.outbound_allow,
                    )
            else:
                with self.db.transaction(write=True) as s:
                    delivery.notify_browser(s, job.owner, job.id, job.title, self._text(job))
                    reminders.record_sent(s, job.id, self.clock())
                metrics.record_delivery(job.channel, "sent")
                return
        except delivery.DeliveryError as exc:
            log.warning("reminder %d (%s) for %s failed: %s", job.id, job.channel, job.owner, exc)
            with self.db.transaction(write=True) as s:
                reminders.record_failure(s, job.id, self.clock(), str(exc))
            metrics.record_delivery(job.channel, "failed")
            return
        with self.db.transaction(write=True) as s:
            reminders.record_sent(s, job.id, self.clock())
        metrics.record_delivery(job.channel, "sent")

    def _email(self, job: Job) -> None:
        language = job.language
        subject = (
            say(language, "Reminder: {title}, {when}", title=job.title, when=self._when(job))
            if job.starts_at
            else say(language, "Reminder: {title}", title=job.title)
        )
        delivery.send_email(
            self.settings.smtp_url,
            self.settings.mail_from,
            job.email,
            subject,
            self._text(job, with_links=True),
            f"reminder-{job.id}",
        )

    def _when(self, job: Job) -> str:
        """The start in the owner's time zone, as their language writes dates."""
        assert job.starts_at is not None
        return catalogs.moment(job.language, job.starts_at, times.zone(job.timezone))

    def _text(self, job: Job, with_links: bool = False) -> str:
        language = job.language
        lines = [job.title]
        if job.starts_at:
            lines.append(say(language, "When: {when}", when=self._when(job)))
        if job.location:
            lines.append(say(language, "Where: {where}", where=job.location))
        if with_links:
            home = self.settings.link_url + "/"
            lines.append(say(language, "Calendar: {link}", link=home))
            if job.repeat:
                text = REPEATING.get(job.repeat, REPEATING["daily"])
                lines.append(say(language, text, link=self.stop_link(job.id)))
        return "\n".join(lines)

    def stop_link(self, reminder_id: int) -> str:
        with self.db.transaction() as s:
            signature = links.sign(s, stop_purpose(s.get_one(Reminder, reminder_id)))
        return (
            f"{self.settings.link_url}/api/reminders/{reminder_id}/stop?sig={signature}"
        )


def stop_purpose(row: Reminder) -> str:
    """What a stop link's signature covers: the row id and whose reminder of which item it
    is, so a link never works for another reminder that later gets the same id."""
    return f"stop-reminder:{row.id}:{row.owner}:{row.collection_id}:{row.href}:{row.key}"


def stop(s: Session, reminder_id: int, now: datetime) -> Reminder:
    """Stop a reminder and its repeats, and record it in the item (RFC 9074 ACKNOWLEDGED)."""
    row = s.get(Reminder, reminder_id)
    if row is None:
        raise LookupError(f"no reminder {reminder_id}")
    reminders.stop_chain(s, row)
    parent = s.get(Collection, row.collection_id)
    collection = store.get_collection(s, parent.path) if parent else None
    item = store.get_item(s, collection.id, row.href) if collection else None
    if collection is not None and item is not None:
        base_key = row.key.removesuffix(reminders.REPEAT_SUFFIX)
        text = alarms.acknowledge(item.text, base_key, now)
        store.put_item(s, collection, item.with_text(text), actor=row.owner)
    return row


def dead_local_workers(s: Session) -> list[str]:
    """Dispatchers on this machine that died holding claims: no need to await their lease."""
    host = socket.gethostname()
    dead = []
    for worker in reminders.claimants(s):
        name, _, rest = worker.partition(":")
        pid = rest.partition(":")[0]
        if name == host and pid.isdigit() and not leases.process_alive(int(pid)):
            dead.append(worker)
    return dead
