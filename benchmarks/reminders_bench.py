"""Reminder dispatch figures: due-row lookup among 100,000 scheduled reminders, and the
delay from due time to delivery with 1,000 reminders due in the same minute.

Runs on PostgreSQL (a scratch database it creates and drops) and on SQLite, with a
real SMTP server (aiosmtpd) on loopback. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/reminders_bench.py [--scheduled 100000] [--burst 1000]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes

import psycopg
from aiosmtpd.controller import Controller
from sqlalchemy import select, text

from calcard.core.config import Settings
from calcard.core.db import Database
from calcard.core.models import Reminder, User
from calcard.worker import Dispatcher

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


class Inbox:
    def __init__(self) -> None:
        self.received: dict[str, float] = {}

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        message = message_from_bytes(envelope.content)
        self.received[message["Message-ID"]] = time.time()
        return "250 OK"


def rows(count: int, start: datetime, spread: timedelta, owner: str) -> list[dict]:
    step = spread / max(count, 1)
    return [
        {
            "owner": owner,
            "collection_id": 1,
            "href": f"e{n}.ics",
            "key": f"k{n}",
            "channel": "email",
            "fire_at": start + step * n,
            "due_at": start + step * n,
            "status": "pending",
            "attempts": 0,
            "last_error": "",
            "claimed_by": "",
            "repeat": "",
            "title": f"Event {n}",
            "location": "",
        }
        for n in range(count)
    ]


def insert(db: Database, data: list[dict]) -> None:
    with db.transaction(write=True) as s:
        for chunk in range(0, len(data), 5000):
            s.execute(Reminder.__table__.insert(), data[chunk : chunk + 5000])


def lookup_figures(db: Database, scheduled: int) -> None:
    now = datetime.now(UTC)
    insert(db, rows(scheduled, now + timedelta(hours=1), timedelta(days=60), "bench"))
    query = (
        select(Reminder.id)
        .where(Reminder.status == "pending", Reminder.due_at <= now)
        .order_by(Reminder.due_at)
        .limit(100)
        .with_for_update(skip_locked=True)
    )
    timings = []
    for _ in range(20):
        with db.transaction(write=True) as s:
            begin = time.perf_counter()
            s.execute(query).all()
            timings.append((time.perf_counter() - begin) * 1000)
    print(
        f"  due-row lookup among {scheduled:,} scheduled: median "
        f"{statistics.median(timings):.2f} ms, max {max(timings):.2f} ms"
    )
    if db.is_postgres:
        with db.engine.connect() as conn:
            conn.execute(text("ANALYZE reminders"))
            compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
            plan = conn.execute(text(f"EXPLAIN {compiled}")).scalars().all()
        print("  PostgreSQL plan of the claim query:")
        for line in plan:
            print("    " + line)


def burst_figures(db: Database, burst: int) -> None:
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    with db.transaction(write=True) as s:
        s.add(User(login="burst", email="burst@example.com", password_hash="x"))
    due = (datetime.now(UTC) + timedelta(seconds=5)).replace(microsecond=0)
    insert(db, rows(burst, due, timedelta(seconds=50), "burst"))
    settings = Settings(
        data_dir=tempfile.gettempdir(),
        database_url=db.url,  # type: ignore[arg-type]
        smtp_url=f"smtp://127.0.0.1:{port}",
    )
    dispatcher = Dispatcher(db, settings)
    thread = dispatcher.start_thread()
    deadline = time.time() + 300
    while len(inbox.received) < burst and time.time() < deadline:
        time.sleep(0.5)
    dispatcher.stopping.set()
    thread.join(30)
    controller.stop()
    with db.transaction() as s:
        fire = {
            f"<reminder-{i}@calcard>": f
            for i, f in s.execute(
                select(Reminder.id, Reminder.fire_at).where(Reminder.owner == "burst")
            )
        }
    delays = [
        at - (f.replace(tzinfo=UTC) if f.tzinfo is None else f).timestamp()
        for mid, at in inbox.received.items()
        if (f := fire.get(mid)) is not None
    ]
    delays.sort()
    print(
        f"  {burst:,} reminders due within one minute: delivered {len(delays):,}; delay from "
        f"due time median {statistics.median(delays):.2f} s, p95 "
        f"{delays[int(len(delays) * 0.95) - 1]:.2f} s, max {delays[-1]:.2f} s"
    )


def run(label: str, url: str, scheduled: int, burst: int) -> None:
    print(f"{label}:")
    db = Database(url)
    db.upgrade()
    lookup_figures(db, scheduled)
    burst_figures(db, burst)
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scheduled", type=int, default=100_000)
    parser.add_argument("--burst", type=int, default=1_000)
    args = parser.parse_args()
    name = f"calcard_rbench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        run(
            "PostgreSQL",
            f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
            args.scheduled,
            args.burst,
        )
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", f"sqlite:///{tmp}/bench.db", args.scheduled, args.burst)


if __name__ == "__main__":
    main()
