"""A query past the index's horizon extends it a bounded batch at a time (issue 16).

A calendar with thousands of series without end asked for a decade ahead used to
index every one of them in the query's own request and write transaction: ten
minutes at 100,000 events (benchmarks/README.md), the database's write lock held
all along. Now a query spends at most ``runtime.EXTEND_SECONDS`` on it, in short
transactions, and expands the rest itself; the next query goes on from there.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from calcard import store
from calcard.core.config import Settings
from calcard.core.models import IndexedItem, IndexExtension
from calcard.store import busy
from calcard.worker import Dispatcher
from calcard_radicale import runtime

from helpers import TIME_RANGE_QUERY, calendar, hrefs, local, report, share, utc, vevent

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


def dispatcher(server) -> Dispatcher:
    return Dispatcher(
        server.backend.db, Settings(data_dir=server.log.parent, database_url=server.backend.url)
    )


def queued(db) -> list[tuple[int, int, str]]:
    with db.transaction() as s:
        rows = s.execute(
            select(IndexExtension.collection_id, IndexExtension.until, IndexExtension.after)
        )
        return [tuple(row) for row in rows]


def test_a_far_query_extends_one_bounded_batch_and_queues_the_rest(server, monkeypatch):
    login = server.user()
    path = f"/{login}/calendar/"
    with server.client(login) as http:
        for n in range(5):
            assert http.put(f"{path}endless-{n}.ics", content=endless(n)).status_code == 201
    db = server.backend.db
    runtime.use(db)
    monkeypatch.setattr(runtime, "EXTEND_SECONDS", 0.0)  # one batch per query
    monkeypatch.setattr(busy, "EXTEND_BATCH", 2)
    with db.transaction() as s:
        collection = store.get_collection(s, f"{login}/calendar")
    assert collection is not None
    end = int((FAR + timedelta(days=7)).timestamp())
    worker, done = dispatcher(server), []
    for _ in range(3):
        runtime.index_ahead(collection, end)  # the first one batch, then the queue's
        done.append(indexed_past(db, login, FAR))
    assert done == [2, 2, 2]
    assert queued(db) == [(collection.id, end, "endless-1.ics")]  # one row, however many
    for _ in range(4):
        worker.run_once()  # a round: the deliveries, then one batch of the queue
        done.append(indexed_past(db, login, FAR))
        with db.transaction() as s:  # the index keeps every series a candidate meanwhile
            found = store.filter_events(s, collection.id, int(FAR.timestamp()), end)
        assert len(found) == 5, done
    assert done == [2, 2, 2, 4, 5, 5, 5]
    assert queued(db) == []  # the pass found none left: the row went
    with server.client(login) as http:  # and the server answers the far week exactly
        assert len(hrefs(http, path, FAR, FAR + timedelta(days=7))) == 5


STATE = (
    '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:sync-token/>'
    "</D:prop></D:propfind>"
)


def seen(http, path: str) -> list[str]:
    """What a client syncing the calendar sees: every etag and the sync token."""
    response = http.request("PROPFIND", path, content=STATE, headers={"Depth": "1"})
    assert response.status_code == 207, response.text
    return sorted(re.findall(r"<[^>]*(?:getetag|sync-token)>([^<]+)<", response.text))


def far_week(http, path: str):
    body = TIME_RANGE_QUERY.format(
        start=utc(FAR), end=utc(FAR + timedelta(days=7)), extra="", component="VEVENT"
    )
    return report(http, path, body)


def test_a_sharee_far_query_extends_nothing_the_owner_sees(server):
    """A reader's far query writes the index only: the owner's etags and sync token
    stay as they were, and the answer is exact."""
    owner = server.user()
    reader = server.user(org=f"org-{owner}")
    path = f"/{owner}/calendar/"
    with server.client(owner) as http:
        for n in range(3):
            assert http.put(f"{path}endless-{n}.ics", content=endless(n)).status_code == 201
        before = seen(http, path)
    share(server, owner, "user", reader)
    with server.client(reader) as http:
        for _ in range(5):
            assert len(re.findall(r"endless-\d\.ics", far_week(http, path).text)) == 3
    assert indexed_past(server.backend.db, owner, FAR) == 3
    with server.client(owner) as http:
        assert seen(http, path) == before
    assert queued(server.backend.db) == []  # done within the query's own two seconds


def test_an_outsider_far_query_is_refused_and_touches_no_index(server):
    owner = server.user()
    outsider = server.user()  # another organization
    path = f"/{owner}/calendar/"
    with server.client(owner) as http:
        assert http.put(f"{path}endless-0.ics", content=endless(0)).status_code == 201
    with server.client(outsider) as http:
        assert far_week(http, path).status_code in (403, 404)
    with httpx.Client(base_url=server.url) as anonymous:
        assert far_week(anonymous, path).status_code == 401
    assert indexed_past(server.backend.db, owner, FAR) == 0
    assert queued(server.backend.db) == []


def test_a_queued_calendar_moved_to_the_trash_is_not_extended(server, monkeypatch):
    """The trash drops a calendar's index rows; its queued extension writes none back
    and leaves the queue."""
    login = server.user()
    path = f"/{login}/calendar/"
    with server.client(login) as http:
        for n in range(3):
            assert http.put(f"{path}endless-{n}.ics", content=endless(n)).status_code == 201
    db = server.backend.db
    runtime.use(db)
    monkeypatch.setattr(runtime, "EXTEND_SECONDS", 0.0)
    monkeypatch.setattr(busy, "EXTEND_BATCH", 1)
    with db.transaction() as s:
        collection = store.get_collection(s, f"{login}/calendar")
    assert collection is not None
    runtime.index_ahead(collection, int((FAR + timedelta(days=7)).timestamp()))
    assert len(queued(db)) == 1 and indexed_past(db, login, FAR) == 1
    with server.client(login) as http:
        assert http.delete(path).status_code in (200, 204)  # into the trash
    worker = dispatcher(server)
    while worker.extend_index(datetime.now(UTC)):
        pass
    assert queued(db) == [] and indexed_past(db, login, FAR) == 0  # its rows went with it
