"""Slot finder figures: 20 participants, each with a year of calendar (3,000 events,
300 of them weekly recurring), time to answer a find over a 14-day horizon, and how it
grows with the number of events. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/freebusy_bench.py [--participants 20] [--events 3000]
        [--postgres]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from calcard import accounts, freebusy, sharing, store
from calcard.core.db import Database
from calcard.store.ical import split_calendar

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def event_text(uid: str, start: datetime, minutes: int, weekly: bool) -> str:
    rule = "RRULE:FREQ=WEEKLY\r\n" if weekly else ""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:bench\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\n"
        f"DTEND:{start + timedelta(minutes=minutes):%Y%m%dT%H%M%SZ}\r\n{rule}"
        f"SUMMARY:{uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def load(db: Database, organizer: str, logins: list[str], events: int, first: datetime) -> float:
    """Give every participant ``events`` events over a year; returns seconds taken."""
    rng = random.Random(7)
    begin = time.perf_counter()
    for login in logins:
        with db.transaction(write=True, owners=[login]) as s:
            calendar = store.get_collection(s, f"{login}/calendar")
            for n in range(events):
                weekly = n < events // 10
                day = rng.randrange(0 if weekly else 0, 7 if weekly else 365)
                start = first + timedelta(days=day, hours=rng.randrange(7, 18))
                (entry,) = split_calendar(event_text(f"{login}-{n}", start, 60, weekly))
                store.put_item(
                    s,
                    calendar,
                    store.ItemData(
                        f"{n}.ics",
                        entry.uid,
                        entry.etag,
                        entry.text,
                        entry.component,
                        entry.start,
                        entry.end,
                    ),
                )
            if login != organizer:
                sharing.add_share(s, f"/{login}/calendar/", "user", organizer, "read")
    return time.perf_counter() - begin


def timed_find(db: Database, organizer: str, logins: list[str], start: datetime) -> list[float]:
    timings = []
    for offset in range(15):
        with db.transaction() as s:
            begin = time.perf_counter()
            freebusy.find(
                s,
                organizer,
                logins[1:],
                start + timedelta(hours=offset * 7),
                timedelta(minutes=60),
                14,
                2,
            )
            timings.append((time.perf_counter() - begin) * 1000)
    return timings


def run(url: str, participants: int, sizes: list[int]) -> None:
    first = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    print(f"{'events each':>12} {'load s':>8} {'find median ms':>15} {'find max ms':>12}")
    for size in sizes:
        db = Database(url if "{n}" not in url else url.format(n=size))
        db.upgrade()
        suffix = uuid.uuid4().hex[:6]
        with db.transaction(write=True) as s:
            accounts.create_org(s, f"bench-{suffix}", "team")
            logins = [
                accounts.add_user(
                    s, f"p{n}-{suffix}", f"bench-{suffix}", "collaborator", "benchmark-password"
                ).login
                for n in range(participants)
            ]
        seconds = load(db, logins[0], logins, size, first)
        timings = timed_find(db, logins[0], logins, first + timedelta(days=30, hours=9))
        print(
            f"{size:>12,} {seconds:>8.1f} {statistics.median(timings):>15.1f} {max(timings):>12.1f}"
        )
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=20)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    sizes = sorted({max(args.events // 6, 1), args.events // 2, args.events})
    print(
        f"slot finder: {args.participants} participants, 14-day horizon, 2 alternatives, "
        f"10% weekly recurring ({'PostgreSQL' if args.postgres else 'SQLite'})"
    )
    if not args.postgres:
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/fb-{{n}}.db", args.participants, sizes)
        return
    names = []
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            for size in sizes:
                names.append(f"calcard_fbbench_{size}_{uuid.uuid4().hex[:6]}")
                conn.execute(f'CREATE DATABASE "{names[-1]}"')
        base = "postgresql+psycopg://postgres@127.0.0.1:5432/"
        for size, name in zip(sizes, names, strict=True):
            run(base + name, args.participants, [size])
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
