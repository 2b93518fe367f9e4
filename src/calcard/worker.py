"""The reminder dispatcher: claim due rows, deliver, record the outcome.

Rows are claimed in one short transaction and each outcome is committed right
after its delivery, so a crash loses nothing (the lease expires and another
dispatcher takes the row) and can repeat at most the one delivery in flight.
Runs inside `calcard serve` and as `calcard reminders run`, on any number of
nodes.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from calcard import accounts, store, trash
from calcard.calendar import public_holidays
from calcard.contacts import birthdays
from calcard.core import links, mailqueue, times
from calcard.core.config import Settings
from calcard.core.db import Database
from calcard.core.models import Collection, Reminder, User
from calcard.reminders import delivery
from calcard.store import alarms, busy, inbox, reminders

log = logging.getLogger("calcard.reminders")
Clock = Callable[[], datetime]
BIRTHDAY_PERIOD = timedelta(minutes=10)
BIRTHDAY_HOUR = 8  # morning-of notification, in the user's time zone
PURGE_PERIOD = timedelta(hours=1)  # old trash and inbox messages go; holidays move on


def system_clock() -> datetime:
    return times.utcnow()


@dataclass(frozen=True)
class Job:
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


class Dispatcher:
    def __init__(self, db: Database, settings: Settings, clock: Clock = system_clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.grace = timedelta(minutes=settings.reminder_grace_minutes)
        self.stopping = threading.Event()
        self._birthdays_checked: datetime | None = None
        self._purged: datetime | None = None

    def run_once(self, limit: int = 100) -> int:
        """Deliver what is due now; returns how many rows were handled."""
        now = self.now()
        if self._birthdays_checked is None or now - self._birthdays_checked >= BIRTHDAY_PERIOD:
            with self.db.transaction(write=True) as s:
                schedule_birthdays(s, now)
            self._birthdays_checked = now
        if self._purged is None or now - self._purged >= PURGE_PERIOD:
            self.housekeeping(now)
        with self.db.transaction(write=True) as s:
            reminders.extend_horizon(s, now)
            busy.extend_windows(s, now)
            dead = dead_local_workers(s)
            claimed = reminders.claim(s, self.worker, now, self.grace, limit, dead)
            jobs = [self._job(s, row) for row in claimed]
        mailed = self._send_mail(now)
        for done, job in enumerate(jobs):
            if self.stopping.is_set():
                with self.db.transaction(write=True) as s:
                    reminders.release(s, [j.id for j in jobs[done:]])
                return mailed + done
            self._deliver(job)
        return mailed + len(jobs)

    def housekeeping(self, now: datetime) -> None:
        """The hourly part: old trash and inbox messages go, holiday calendars move on."""
        trash.purge(self.db, now)
        inbox.purge(self.db, now)
        public_holidays.refresh_due(self.db, now.date())
        self._purged = now

    def now(self) -> datetime:
        """Always UTC: SQLite compares stored datetimes as text, without zones."""
        return self.clock().astimezone(UTC)

    def _send_mail(self, now: datetime) -> int:
        """Deliver queued mail (invitations, replies) with the same retry rules."""
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
                mailqueue.record(s, mail_id, self.now(), error)
        return len(queued)

    def run_forever(self, interval: float = 1.0) -> None:
        log.info("reminder dispatcher %s started", self.worker)
        while not self.stopping.is_set():
            try:
                handled = self.run_once()
            except Exception:  # noqa: BLE001 - keep dispatching after a database hiccup
                log.exception("reminder dispatch failed")
                handled = 0
            if not handled:
                self.stopping.wait(interval)
        log.info("reminder dispatcher %s stopped", self.worker)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="reminders", daemon=True)
        thread.start()
        return thread

    def _job(self, s, row: Reminder) -> Job:
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
        )

    def _deliver(self, job: Job) -> None:
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
                    reminders.record_sent(s, job.id, self.now())
                return
        except delivery.DeliveryError as exc:
            log.warning("reminder %d (%s) for %s failed: %s", job.id, job.channel, job.owner, exc)
            with self.db.transaction(write=True) as s:
                reminders.record_failure(s, job.id, self.now(), str(exc))
            return
        with self.db.transaction(write=True) as s:
            reminders.record_sent(s, job.id, self.now())

    def _email(self, job: Job) -> None:
        delivery.send_email(
            self.settings.smtp_url,
            self.settings.mail_from,
            job.email,
            f"Reminder: {job.title}" + (f" at {self._when(job)}" if job.starts_at else ""),
            self._text(job, with_links=True),
            f"reminder-{job.id}",
        )

    def _when(self, job: Job) -> str:
        zone = times.zone(job.timezone)
        assert job.starts_at is not None
        return job.starts_at.astimezone(zone).strftime(f"%a %d %b %Y %H:%M ({job.timezone})")

    def _text(self, job: Job, with_links: bool = False) -> str:
        lines = [job.title]
        if job.starts_at:
            lines.append(f"When: {self._when(job)}")
        if job.location:
            lines.append(f"Where: {job.location}")
        if with_links:
            lines.append(f"Calendar: {self.settings.base_url.rstrip('/')}/")
            if job.repeat:
                lines.append(f"Repeats {job.repeat} until you stop it: {self.stop_link(job.id)}")
        return "\n".join(lines)

    def stop_link(self, reminder_id: int) -> str:
        with self.db.transaction() as s:
            signature = links.sign(s, stop_purpose(s.get_one(Reminder, reminder_id)))
        return (
            f"{self.settings.base_url.rstrip('/')}/api/reminders/{reminder_id}/stop?sig={signature}"
        )


def stop_purpose(row: Reminder) -> str:
    """What a stop link's signature covers: the row id and whose reminder of which item it
    is, so a link never works for another reminder that later gets the same id."""
    return f"stop-reminder:{row.id}:{row.owner}:{row.collection_id}:{row.href}:{row.key}"


def schedule_birthdays(s, now: datetime) -> int:
    """Queue today's birthday notifications (display and chat) from 08:00 local time.

    Idempotent: the reminders' unique key makes a second run (or another node)
    add nothing.
    """
    added = 0
    for login, zone_name in s.execute(select(User.login, User.timezone)).all():
        zone = times.zone(zone_name)
        local = now.astimezone(zone)
        if local.hour < BIRTHDAY_HOUR:
            continue
        fire_at = datetime.combine(local.date(), time(BIRTHDAY_HOUR), zone).astimezone(UTC)
        for entry in birthdays.morning_reminders(s, login, local.date()):
            title = f"{entry.name} ({entry.age})" if entry.age is not None else entry.name
            for channel in ("display", "chat"):
                added += _add_once(
                    s,
                    Reminder(
                        owner=login,
                        collection_id=0,
                        href=f"{entry.kind}:{entry.contact_uid}",
                        key=f"{entry.kind}|{local.date().isoformat()}",
                        channel=channel,
                        fire_at=fire_at,
                        due_at=fire_at,
                        status="pending",
                        attempts=0,
                        last_error="",
                        claimed_by="",
                        repeat="",
                        title=f"{entry.kind.title()}: {title}",
                        location="",
                    ),
                )
    return added


def _add_once(s, row: Reminder) -> int:
    exists = s.scalar(
        select(Reminder.id).where(
            Reminder.collection_id == row.collection_id,
            Reminder.href == row.href,
            Reminder.key == row.key,
            Reminder.channel == row.channel,
        )
    )
    if exists:
        return 0
    try:
        with s.begin_nested():
            s.add(row)
    except IntegrityError:
        return 0  # another node queued it at the same moment
    return 1


def dead_local_workers(s) -> list[str]:
    """Dispatchers on this machine that died holding claims: no need to await their lease."""
    host = socket.gethostname()
    dead = []
    for worker in reminders.claimants(s):
        name, _, rest = worker.partition(":")
        pid = rest.partition(":")[0]
        if name == host and pid.isdigit() and not _alive(int(pid)):
            dead.append(worker)
    return dead


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop(s, reminder_id: int, now: datetime) -> Reminder:
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
