"""What calcard counts for Prometheus: every metric's definition, and their exposition.

Counters and histograms are written where things happen (``calcard.web.metrics``
counts requests, ``reminders.dispatch`` deliveries); the queue gauges are read
from the database when scraped (``QueueCollector``), so every node answers the
same. Labels stay bounded (HTTP methods, statuses, route groups, channels): never
a raw path or a login.

With several worker processes (``calcard serve --workers N``) each process writes
its values to files in ``PROMETHEUS_MULTIPROC_DIR`` (``prometheus_client``'s
multiprocess mode, chosen when the variable is set before this module is first
imported), and a scrape answered by any worker sums them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from datetime import timedelta

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import SQLAlchemyError

from calcard.core import leases, times
from calcard.core.models import OutgoingMail, Reminder

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
OVERDUE_AFTER = timedelta(minutes=1)  # a dispatcher looks every second: later is a backlog
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

HTTP_REQUESTS = Counter("calcard_http_requests", "HTTP requests answered.", ["method", "status"])
HTTP_DURATION = Histogram(
    "calcard_http_request_duration_seconds",
    "Time to answer a request, by route group (dav:METHOD, api:RESOURCE, web, ...).",
    ["route"],
    buckets=DURATION_BUCKETS,
)
REMINDER_DELIVERIES = Counter(
    "calcard_reminder_deliveries",
    "Reminder deliveries by this server's dispatchers (outcome: sent or failed).",
    ["channel", "outcome"],
)
MAIL_DELIVERIES = Counter(
    "calcard_mail_deliveries",
    "Queued mails (invitations, replies) sent by this server's dispatchers, by outcome.",
    ["outcome"],
)
POOL_CHECKED_OUT = Gauge(
    "calcard_db_pool_checked_out",
    "Database connections checked out of this process's pool.",
    multiprocess_mode="liveall",  # one series per live process (label pid)
)


def record_delivery(channel: str, outcome: str) -> None:
    """Count one reminder delivery attempt (``outcome``: "sent" or "failed")."""
    REMINDER_DELIVERIES.labels(channel=channel, outcome=outcome).inc()


def record_mail(sent: bool) -> None:
    """Count one attempt to send a queued mail."""
    MAIL_DELIVERIES.labels(outcome="sent" if sent else "failed").inc()


def watch_pool(engine: Engine) -> None:
    """Follow ``engine``'s pool: a connection checked out counts until it is checked in
    (SQLAlchemy fires ``checkin`` once per checkout, also for an invalidated one)."""
    event.listen(engine, "checkout", lambda *_: POOL_CHECKED_OUT.inc())
    event.listen(engine, "checkin", lambda *_: POOL_CHECKED_OUT.dec())


class QueueCollector(Collector):
    """Pending and overdue reminders and the mail queue, counted at scrape time.

    The rows are shared by all nodes, so the numbers are the same whichever node is
    asked. An unreachable database gives ``calcard_database_up 0`` and no queue
    numbers rather than a failed scrape.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("calcard_database_up", "Whether the database answered.")
        try:
            counts = self._counts()
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        for name, doc, value in counts:
            yield GaugeMetricFamily(name, doc, value=value)

    def _counts(self) -> list[tuple[str, str, int]]:
        now = times.utcnow()
        waiting = Reminder.status.in_(["pending", "sending"])
        with self.engine.connect() as conn:
            count = select(func.count()).select_from(Reminder)
            pending = conn.scalar(count.where(waiting)) or 0
            overdue = conn.scalar(count.where(waiting, Reminder.due_at < now - OVERDUE_AFTER))
            mail = conn.scalar(
                select(func.count())
                .select_from(OutgoingMail)
                .where(OutgoingMail.status.in_(["pending", "sending"]))
            )
        return [
            ("calcard_reminders_pending", "Reminders scheduled and not yet delivered.", pending),
            (
                "calcard_reminders_overdue",
                f"Reminders due more than {OVERDUE_AFTER.seconds} s ago and not delivered.",
                overdue or 0,
            ),
            ("calcard_mail_queue", "Queued mails not yet sent.", mail or 0),
        ]


def exposition(collectors: Iterable[Collector]) -> bytes:
    """The Prometheus text of every process's metrics and of ``collectors``."""
    registry = CollectorRegistry()
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        mark_dead_processes(directory)
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry.register(REGISTRY)
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)


def forget_this_process() -> None:
    """Drop this process's live gauges as it stops (multiprocess mode only)."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        multiprocess.mark_process_dead(os.getpid(), directory)


_LIVE_FILE = re.compile(r"gauge_live\w*?_(\d+)\.db")


def mark_dead_processes(directory: str) -> None:
    """Drop the live gauges of worker processes that are gone (killed, restarted):
    their counters stay, so totals never go backwards."""
    for name in os.listdir(directory):
        found = _LIVE_FILE.fullmatch(name)
        if found and not leases.process_alive(int(found.group(1))):
            multiprocess.mark_process_dead(int(found.group(1)), directory)


@contextlib.contextmanager
def multiprocess_dir(enabled: bool) -> Iterator[None]:
    """A fresh ``PROMETHEUS_MULTIPROC_DIR`` for the worker processes started inside,
    removed afterwards; nothing when not ``enabled`` or when the operator set one."""
    if not enabled or os.environ.get(MULTIPROC_ENV):
        yield
        return
    directory = tempfile.mkdtemp(prefix="calcard-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)
