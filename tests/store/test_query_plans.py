"""A write reads only the rows it touches: SQLite's plans for what a PUT asks.

SQLite uses a partial index (``uq_items_live_uid``: live items with a UID) only when
the query's WHERE implies the index's own; a lookup by UID that leaves out
``uid <> ''`` walks every item of the calendar instead, which made a PUT into a
calendar of 100,000 events take 600 ms (benchmarks/README.md).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from calcard import scheduling, store
from calcard.store import ItemData

# A plan step that reads the calendar's items by collection alone, or all items.
WHOLE_CALENDAR = re.compile(
    r"^(SCAN items\b|SEARCH items USING (COVERING )?INDEX \w+ \(collection_id=\?\)$)"
)


def event_item(n: int) -> ItemData:
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:plan-{n}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T100000Z\r\n"
        "DTEND:20260105T110000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    return ItemData(f"plan-{n}.ics", f"plan-{n}", store.etag_of(text), text, "VEVENT", 0, 10)


@pytest.fixture
def sqlite_calendar(backend):
    if backend.name != "sqlite":
        pytest.skip("the plans of SQLite's query planner")
    with backend.db.transaction(write=True) as s:
        collection, _, _ = store.create_collection(
            s, "plans/cal", {"tag": "VCALENDAR"}, [event_item(n) for n in range(300)]
        )
    return backend.db, collection


def whole_calendar_reads(db, work) -> list[str]:
    """The plan steps of ``work``'s SELECTs that read a whole calendar's items."""
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "items" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.transaction(write=True) as s:
            work(s)
            raw = s.connection().connection.driver_connection
            return [
                f"{detail}  <- {statement}"
                for statement, parameters in seen
                for *_, detail in raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                if WHOLE_CALENDAR.match(detail)
            ]
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)


def test_a_put_looks_its_uid_and_href_up_by_index(sqlite_calendar):
    db, collection = sqlite_calendar
    assert whole_calendar_reads(db, lambda s: store.put_item(s, collection, event_item(1000))) == []


def test_finding_a_meetings_copy_by_uid_reads_no_whole_calendar(sqlite_calendar):
    db, _ = sqlite_calendar
    found = whole_calendar_reads(db, lambda s: scheduling.find_copy(s, "plans", "plan-7", set()))
    assert found == []
