"""A query past the index's horizon queues its extension for the dispatcher (issue 16).

A calendar with thousands of series without end asked for a decade ahead used to
index every one of them in the query's own request and write transaction: ten
minutes at 100,000 events (benchmarks/README.md), the database's write lock held
all along. Now the query queues it (one row per calendar) and expands those series
itself; the dispatcher extends a batch of them per round, in short transactions.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from calcard import store
from calcard import worker as worker_module
from calcard.core.config import Settings
from calcard.core.models import IndexedItem, IndexExtension
from calcard.store import busy
from calcard.worker import Dispatcher
from calcard_radicale import runtime

from helpers import (
    TIME_RANGE_QUERY,
    calendar,
    catch_up_index,
    hrefs,
    local,
    report,
    share,
    utc,
    vevent,
)

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


def own_calendar(db, login: str):
    """The user's default calendar as the plugins see it; the index is queued by it."""
    with db.transaction() as s:
        collection = store.get_collection(s, f"{login}/calendar")
    assert collection is not None
    return collection


def dispatcher(server) -> Dispatcher:
    return Dispatcher(
        server.backend.db, Settings(data_dir=server.log.parent, database_url=server.backend.url)
    )


def queued(db, owner: str) -> list[tuple[int, int, str]]:
    """The owner's calendars queued for extension (other tests' servers share the DB)."""
    with db.transaction() as s:
        rows = s.execute(
            select(IndexExtension.collection_id, IndexExtension.until, IndexExtension.after).where(
                IndexExtension.owner == owner
            )
        )
        return [tuple(row) for row in rows]


def test_a_far_query_queues_the_extension_and_the_dispatcher_does_it(server, monkeypatch):
    login = server.user()
    path = f"/{login}/calendar/"
    with server.client(login) as http:
        for n in range(5):
            assert http.put(f"{path}endless-{n}.ics", content=endless(n)).status_code == 201
    db = server.backend.db
    runtime.use(db)
    monkeypatch.setattr(worker_module, "EXTEND_SECONDS", 0.0)  # one batch per round
    monkeypatch.setattr(busy, "EXTEND_BATCH", 2)
    collection = own_calendar(db, login)
    end = int((FAR + timedelta(days=7)).timestamp())
    catch_up_index(server)  # what other tests on this database queued goes first
    for _ in range(3):
        runtime.index_ahead(collection, end)  # a query writes nothing of the index itself
    assert indexed_past(db, login, FAR) == 0
    last = busy.extension_end(end)  # a step past the query's end
    assert end <= last < end + busy.WINDOW_AFTER.total_seconds()
    assert queued(db, login) == [(collection.id, last, "")]  # one row, however many queries
    worker, done = dispatcher(server), []
    for _ in range(4):
        worker.run_once()  # a round: the deliveries, then one batch of the queue
        done.append(indexed_past(db, login, FAR))
        with db.transaction() as s:  # the index keeps every series a candidate meanwhile
            found = store.filter_events(s, collection.id, int(FAR.timestamp()), end)
        assert len(found) == 5, done
    assert done == [2, 4, 5, 5]
    assert queued(db, login) == []  # the pass found none left: the row went
    runtime.index_ahead(collection, end)  # and nothing is left to queue
    assert queued(db, login) == []
    with server.client(login) as http:  # and the server answers the far week exactly
        assert len(hrefs(http, path, FAR, FAR + timedelta(days=7))) == 5


def test_a_further_query_widens_the_queued_row_and_starts_its_pass_again(server):
    login = server.user()
    path = f"/{login}/calendar/"
    with server.client(login) as http:
        assert http.put(f"{path}endless-0.ics", content=endless(0)).status_code == 201
    db = server.backend.db
    runtime.use(db)
    collection = own_calendar(db, login)
    near, far = (int((FAR + timedelta(days=d)).timestamp()) for d in (7, 1500))
    runtime.index_ahead(collection, far)
    runtime.index_ahead(collection, near)  # nearer: the row stays as it is
    assert queued(db, login) == [(collection.id, busy.extension_end(far), "")]
    dispatcher(server).extend_index(datetime.now(UTC))
    assert queued(db, login) == [] and indexed_past(db, login, FAR + timedelta(days=1490)) == 1


FREE_BUSY = (
    '<?xml version="1.0"?><C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
    '<C:time-range start="{start}" end="{end}"/></C:free-busy-query>'
)
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
    """A reader's far queries queue one extension; done, it has written the index only:
    the owner's etags and sync token stay as they were, and the answers are exact."""
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
    assert len(queued(server.backend.db, owner)) == 1
    dispatcher(server).extend_index(datetime.now(UTC))
    assert indexed_past(server.backend.db, owner, FAR) == 3
    with server.client(reader) as http:
        assert len(re.findall(r"endless-\d\.ics", far_week(http, path).text)) == 3
    with server.client(owner) as http:
        assert seen(http, path) == before
    assert queued(server.backend.db, owner) == []


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
    assert queued(server.backend.db, owner) == []


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
    monkeypatch.setattr(worker_module, "EXTEND_SECONDS", 0.0)
    monkeypatch.setattr(busy, "EXTEND_BATCH", 1)
    collection = own_calendar(db, login)
    runtime.index_ahead(collection, int((FAR + timedelta(days=7)).timestamp()))
    worker = dispatcher(server)
    worker.extend_index(datetime.now(UTC))
    assert len(queued(db, login)) == 1 and indexed_past(db, login, FAR) == 1
    with server.client(login) as http:
        assert http.delete(path).status_code in (200, 204)  # into the trash
    while worker.extend_index(datetime.now(UTC)):
        pass
    assert queued(db, login) == [] and indexed_past(db, login, FAR) == 0  # its rows went with it


def daily_since(years: int) -> str:
    first = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    first -= timedelta(days=years * 365)
    return calendar(
        vevent(
            "daily",
            f"DTSTART:{utc(first)}",
            f"DTEND:{utc(first + timedelta(minutes=30))}",
            "RRULE:FREQ=DAILY",
        )
    )


def refused(db, login: str) -> list[int | None]:
    with db.transaction() as s:
        return list(s.scalars(select(IndexedItem.refused_last).where(IndexedItem.owner == login)))


def test_a_series_the_cap_would_cut_is_refused_once_not_queued_by_every_far_query(server):
    """A daily series of five years has its whole past indexed to the horizon (under the
    3,000-occurrence cap) but not to fifteen years ahead: the dispatcher refuses it
    once and marks it, later far queries queue nothing, and still answer it."""
    login = server.user()
    path = f"/{login}/calendar/"
    with server.client(login) as http:
        assert http.put(f"{path}daily.ics", content=daily_since(5)).status_code == 201
    db = server.backend.db
    runtime.use(db)
    collection = own_calendar(db, login)
    end = int((FAR + timedelta(days=7)).timestamp())
    runtime.index_ahead(collection, end)
    assert len(queued(db, login)) == 1
    catch_up_index(server)
    assert refused(db, login) == [busy.extension_end(end)] and indexed_past(db, login, FAR) == 0
    for earlier in (0, 1, 2, 3600):  # nor by ends a second apart: one pass per step
        runtime.index_ahead(collection, end - earlier)
        assert queued(db, login) == []
    with server.client(login) as http:
        assert hrefs(http, path, FAR, FAR + timedelta(days=7)) == ["daily.ics"]
        assert http.put(f"{path}daily.ics", content=daily_since(4)).status_code == 204
    assert refused(db, login) == [None]  # a new text is judged anew


def test_a_series_the_cap_cuts_at_its_end_is_extended_once_and_then_refused(server):
    """Twelve times a day from next month: its whole past (none) is indexed but the cap
    ends its window some 250 days on; an extension takes it as far as the cap allows,
    once, and no later far query queues it again (each pass rewrote it before)."""
    login = server.user()
    path = f"/{login}/calendar/"
    first = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first += timedelta(days=30)
    text = calendar(
        vevent(
            "busy",
            f"DTSTART:{utc(first.replace(hour=9))}",
            f"DTEND:{utc(first.replace(hour=9, minute=30))}",
            "RRULE:FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16,17,18,19,20",
        )
    )
    with server.client(login) as http:
        assert http.put(f"{path}busy.ics", content=text).status_code == 201
    db = server.backend.db
    runtime.use(db)
    collection = own_calendar(db, login)
    end = int((FAR + timedelta(days=7)).timestamp())
    runtime.index_ahead(collection, end)
    assert len(queued(db, login)) == 1
    catch_up_index(server)
    assert refused(db, login) == [busy.extension_end(end)]
    runtime.index_ahead(collection, end)
    assert queued(db, login) == []
    with server.client(login) as http:  # still answered, by expansion
        assert hrefs(http, path, FAR, FAR + timedelta(days=7)) == ["busy.ics"]
    for _ in range(20):  # nor does the dispatcher's rolling horizon re-expand it each round
        with db.transaction(write=True) as s:
            if not busy.extend_windows(s, datetime.now(UTC), limit=10_000):
                break
    else:
        raise AssertionError("extend_windows re-expands the same items every round")


def test_a_failing_batch_drops_its_calendar_and_the_others_go_on(server, monkeypatch):
    db = server.backend.db
    runtime.use(db)
    catch_up_index(server)
    logins, collections = [server.user(), server.user()], []
    for login in logins:
        with server.client(login) as http:
            put = http.put(f"/{login}/calendar/endless-0.ics", content=endless(0))
            assert put.status_code == 201
        with db.transaction() as s:
            collections.append(store.get_collection(s, f"{login}/calendar"))
    end = int((FAR + timedelta(days=7)).timestamp())
    for collection in collections:
        runtime.index_ahead(collection, end)
    broken, extend = collections[0].id, busy.extend

    def failing(s, owner, collection_id, *args):
        if collection_id == broken:
            raise RuntimeError("a library's bug")
        return extend(s, owner, collection_id, *args)

    monkeypatch.setattr(busy, "extend", failing)
    dispatcher(server).extend_index(datetime.now(UTC))
    assert queued(db, logins[0]) == [] and indexed_past(db, logins[0], FAR) == 0
    assert queued(db, logins[1]) == [] and indexed_past(db, logins[1], FAR) == 1


def test_a_free_busy_query_queues_nothing_for_a_calendar_out_of_free_busy(server):
    owner = server.user()
    colleague = server.user(org=f"org-{owner}")
    path = f"/{owner}/calendar/"
    with server.client(owner) as http:
        assert http.put(f"{path}endless-0.ics", content=endless(0)).status_code == 201
        out = http.put("/api/freebusy/calendars", json={"path": path, "counts": False})
        assert out.status_code == 200, out.text
    share(server, owner, "user", colleague)  # so the colleague may see their free/busy
    body = FREE_BUSY.format(start=utc(FAR), end=utc(FAR + timedelta(days=7)))
    with server.client(colleague) as http:
        answer = report(http, path, body)
    assert answer.status_code == 200 and "\nFREEBUSY" not in answer.text
    assert queued(server.backend.db, owner) == []
