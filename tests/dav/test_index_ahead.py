"""A query past the index's horizon extends it a bounded batch at a time (issue 16).

A calendar with thousands of series without end asked for a decade ahead used to
index every one of them in the query's own request and write transaction: ten
minutes at 100,000 events (benchmarks/README.md), the database's write lock held
all along. Now a query spends at most ``runtime.EXTEND_SECONDS`` on it, in short
transactions, and expands the rest itself; the next query goes on from there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from calcard import store
from calcard.core.models import IndexedItem
from calcard_radicale import runtime

from helpers import calendar, hrefs, local, vevent

START = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(
    days=3 * 365
)
FAR = datetime.now(UTC) + timedelta(days=15 * 365)


def endless(n: int) -> str:
    return calendar(
        vevent(
            f"endless-{n}",
            f"DTSTART;TZID=Europe/Zurich:{local(START + timedelta(days=n))}",
            f"DTEND;TZID=Europe/Zurich:{local(START + timedelta(days=n, hours=1))}",
            "RRULE:FREQ=WEEKLY",
        )
    )


def indexed_past(db, login: str, moment: datetime) -> int:
    with db.transaction() as s:
        return len(
            s.scalars(
                select(IndexedItem.href).where(
                    IndexedItem.owner == login, IndexedItem.window_end >= moment.timestamp()
                )
            ).all()
        )


def test_a_far_query_extends_the_index_one_bounded_batch_at_a_time(server, monkeypatch):
    login = server.user()
    path = f"/{login}/calendar/"
    with server.client(login) as http:
        for n in range(5):
            assert http.put(f"{path}endless-{n}.ics", content=endless(n)).status_code == 201
    db = server.backend.db
    runtime.use(db)
    monkeypatch.setattr(runtime, "EXTEND_SECONDS", 0.0)  # one batch per query
    monkeypatch.setattr(runtime, "EXTEND_BATCH", 2)
    with db.transaction() as s:
        collection = store.get_collection(s, f"{login}/calendar")
    assert collection is not None
    end = int((FAR + timedelta(days=7)).timestamp())
    done = []
    for _ in range(4):
        runtime.index_ahead(collection, end)
        done.append(indexed_past(db, login, FAR))
        with db.transaction() as s:  # the index keeps every series a candidate meanwhile
            found = store.filter_events(s, collection.id, int(FAR.timestamp()), end)
        assert len(found) == 5, done
    assert done == [2, 4, 5, 5]
    with server.client(login) as http:  # and the server answers the far week exactly
        assert len(hrefs(http, path, FAR, FAR + timedelta(days=7))) == 5
