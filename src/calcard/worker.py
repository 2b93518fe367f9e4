"""The worker loop: every package's due work, one round at a time.

Each round queues the birthday notifications (``contacts.birthdays``, every few
minutes), runs the hourly housekeeping (trash purge, old inbox messages, the
holiday calendars' window), extends the reminder schedule and the occurrence
index (``store.reminders``, ``store.busy``), then sends queued mail, due push
messages (``push.dispatch``) and the due reminders (``reminders.dispatch``,
which says how claims survive a crash), and last, for up to a second, the index's
queued extensions past its horizon (``busy.extend_queued``).
Runs inside `calcard serve` and as `calcard reminders run`, on any number of
nodes.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

from calcard import trash
from calcard.calendar import public_holidays
from calcard.contacts import birthdays
from calcard.core import times
from calcard.core.config import Settings
from calcard.core.db import Database, describe, unavailable
from calcard.push import dispatch as push
from calcard.reminders import dispatch
from calcard.store import busy, inbox, reminders

log = logging.getLogger("calcard.reminders")
BIRTHDAY_PERIOD = timedelta(minutes=10)
PURGE_PERIOD = timedelta(hours=1)  # old trash and inbox messages go; holidays move on
EXTEND_SECONDS = 1.0  # a round's time for the index's queued extensions, at least a batch


def system_clock() -> datetime:
    return times.utcnow()


class Dispatcher:
    def __init__(
        self, db: Database, settings: Settings, clock: dispatch.Clock = system_clock
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.grace = timedelta(minutes=settings.reminder_grace_minutes)
        self.stopping = threading.Event()
        self.sender = dispatch.Sender(db, settings, self.now)
        self._birthdays_checked: datetime | None = None
        self._purged: datetime | None = None
        self.extended = 0  # series of the index's queue read in the last round

    def run_once(self, limit: int = 100) -> int:
        """Deliver what is due now; returns how many rows were delivered (the index's
        extensions of the round are in ``extended``)."""
        now = self.now()
        if self._birthdays_checked is None or now - self._birthdays_checked >= BIRTHDAY_PERIOD:
            with self.db.transaction(write=True) as s:
                birthdays.queue_reminders(s, now)
            self._birthdays_checked = now
        if self._purged is None or now - self._purged >= PURGE_PERIOD:
            self.housekeeping(now)
        with self.db.transaction(write=True) as s:
            reminders.extend_horizon(s, now)
            busy.extend_windows(s, now)
            jobs = dispatch.claim(s, self.worker, now, self.grace, limit)
        mailed = self.sender.send_mail(now)
        for done, job in enumerate(jobs):
            if self.stopping.is_set():
                with self.db.transaction(write=True) as s:
                    dispatch.release(s, jobs[done:])
                return mailed + done
            self.sender.deliver(job)
        # After the reminders, so a slow push service cannot hold claimed reminders past
        # their lease; with the time now, as push claims run from here.
        pushed = push.run(self.db, self.settings, self.worker, self.now())
        self.extended = self.extend_index(self.now())
        return mailed + len(jobs) + pushed

    def extend_index(self, now: datetime) -> int:
        """The occurrence index's queued extensions past its horizon (``busy.extend_queued``),
        a batch at a time, the calendar waiting longest first, for at most
        ``EXTEND_SECONDS``: a round's share, after the deliveries, so a calendar of
        thousands of series without end that a query asked for a decade ahead delays no
        reminder by more than that. A batch that fails (but for an outage) drops its
        calendar from the queue, logged, so it cannot hold up the others' turns.
        Returns how many series were read."""
        deadline, done = time.monotonic() + EXTEND_SECONDS, 0
        while True:
            with self.db.transaction() as s:
                queued = busy.queued_extension(s)
            if queued is None:
                return done
            collection_id, owner = queued
            try:
                with self.db.transaction(write=True, owners=[owner]) as s:
                    done += busy.extend_queued(s, collection_id, now)
            except Exception as error:
                if unavailable(error):
                    raise
                log.exception("index extension of collection %s failed", collection_id)
                with self.db.transaction(write=True, owners=[owner]) as s:
                    busy.drop_extension(s, collection_id)
            if time.monotonic() >= deadline:
                return done
            now = self.now()  # each batch's turn stamped in order: fair among calendars

    def housekeeping(self, now: datetime) -> None:
        """The hourly part: old trash, inbox messages and expired push subscriptions go,
        holiday calendars move on."""
        trash.purge(self.db, now)
        inbox.purge(self.db, now)
        push.purge_expired(self.db, now)
        public_holidays.refresh_due(self.db, now.date())
        self._purged = now

    def now(self) -> datetime:
        """Always UTC: SQLite compares stored datetimes as text, without zones."""
        return self.clock().astimezone(UTC)

    def run_forever(self, interval: float = 1.0) -> None:
        log.info("reminder dispatcher %s started", self.worker)
        while not self.stopping.is_set():
            try:
                handled = self.run_once()
            except Exception as error:  # noqa: BLE001 - keep dispatching after a database hiccup
                if unavailable(error):  # an outage: one line a round, not a traceback
                    log.warning("reminder dispatch waits for the database: %s", describe(error))
                else:
                    log.exception("reminder dispatch failed")
                handled = self.extended = 0
            if not handled and not self.extended:  # else straight on with the rest
                self.stopping.wait(interval)
        log.info("reminder dispatcher %s stopped", self.worker)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="reminders", daemon=True)
        thread.start()
        return thread
