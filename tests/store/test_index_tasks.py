"""Tasks in the occurrence index: calendar-query time ranges on VTODO (RFC 4791 §9.9)
at any date, ten years back to twenty ahead.

Each query is asked as a plain time-range filter (candidates from the index, then
Radicale's filter) and with an always-true prop-filter (Radicale's filter on every
task whose stored range overlaps): both must agree, for every shape of task the
RFC's table names, recurring ones with overrides, floating and all-day ones. And
the index must be what answers: anchored tasks have TODO rows, the others an entry
that makes them candidates everywhere.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import vobject
from alembic import command
from radicale.item import filter as radicale_filter
from sqlalchemy import delete, select

from calcard import accounts, store
from calcard.core.db import Database, alembic_config
from calcard.core.models import IndexedItem, Occurrence
from calcard.store import busy

from conftest import PASSWORD
from helpers import FULL_FILTER, calendar, hrefs, local, utc, vtodo

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
ZURICH = "Europe/Zurich"


def at(years: float, hours: float = 0) -> datetime:
    return NOW + timedelta(days=round(365.25 * years), hours=hours)


TASKS = {
    "start-due": vtodo("start-due", f"DTSTART:{utc(at(-10))}", f"DUE:{utc(at(-10, 5))}"),
    "start-duration": vtodo("start-duration", f"DTSTART:{utc(at(19))}", "DURATION:PT3H"),
    "start-only": vtodo("start-only", f"DTSTART;TZID={ZURICH}:{local(at(1.5))}"),
    "due-only": vtodo("due-only", f"DUE:{utc(at(-3))}"),
    "due-date": vtodo("due-date", f"DUE;VALUE=DATE:{at(5):%Y%m%d}"),
    "floating": vtodo("floating", f"DTSTART:{local(at(-7))}", f"DUE:{local(at(-7, 2))}"),
    "completed": vtodo("completed", f"COMPLETED:{utc(at(-2))}"),
    "created-completed": vtodo(
        "created-completed", f"CREATED:{utc(at(-6))}", f"COMPLETED:{utc(at(-5))}"
    ),
    "created-only": vtodo("created-only", f"CREATED:{utc(at(-4))}"),
    "no-dates": vtodo("no-dates", "SUMMARY:someday"),
    "weekly-open": calendar(
        vtodo(
            "weekly-open",
            f"DTSTART;TZID={ZURICH}:{local(at(-10, 3))}",
            f"DUE;TZID={ZURICH}:{local(at(-10, 4))}",
            "RRULE:FREQ=WEEKLY",
            f"EXDATE;TZID={ZURICH}:{local(at(-10, 3) + timedelta(weeks=2))}",
        ),
        vtodo(
            "weekly-open",
            f"RECURRENCE-ID;TZID={ZURICH}:{local(at(-10, 3) + timedelta(weeks=5))}",
            f"DTSTART;TZID={ZURICH}:{local(at(-10, 3) + timedelta(weeks=5, days=3))}",
            f"DUE;TZID={ZURICH}:{local(at(-10, 4) + timedelta(weeks=5, days=3))}",
        ),
    ),
    "monthly-ahead": vtodo(
        "monthly-ahead",
        f"DTSTART:{utc(at(18))}",
        f"DUE:{utc(at(18, 1))}",
        "RRULE:FREQ=MONTHLY;COUNT=30",
    ),
    "due-recurring": vtodo("due-recurring", f"DUE:{utc(at(-1))}", "RRULE:FREQ=DAILY;COUNT=5"),
}


def week(moment: datetime) -> tuple[datetime, datetime]:
    return moment - timedelta(days=3), moment + timedelta(days=4)


RANGES = [
    week(at(-10)),
    week(at(-10) + timedelta(weeks=2)),  # the EXDATE's week
    week(at(-10) + timedelta(weeks=5)),  # the override's
    week(at(-3)),
    (at(-3) - timedelta(hours=1), at(-3)),  # ends at a DUE: RFC 4791 §9.9 `end >= DUE`
    (at(-3), at(-3) + timedelta(hours=1)),  # starts at it: no match
    week(at(-7)),
    week(NOW),
    week(at(1.5)),
    (at(5) - timedelta(days=1), at(5) + timedelta(days=1)),
    week(at(19)),
    week(at(18) + timedelta(days=61)),
    week(at(25)),
    (at(-8), at(2)),  # ten years
]


@pytest.fixture
def tasks(server):
    login = server.user()
    path = f"/{login}/calendar/"
    with server.client(login) as http:
        for name, text in TASKS.items():
            body = text if text.startswith("BEGIN:VCALENDAR") else calendar(text)
            response = http.put(f"{path}{name}.ics", content=body)
            assert response.status_code == 201, response.text
        yield http, path, login


def matched(start: datetime, end: datetime) -> list[str]:
    """The tasks Radicale's own time-range test matches, each read on its own."""
    time_range = ET.Element(
        "{urn:ietf:params:xml:ns:caldav}time-range", start=utc(start), end=utc(end)
    )
    found = []
    for name, text in TASKS.items():
        item = vobject.readOne(text if text.startswith("BEGIN:VCALENDAR") else calendar(text))
        if radicale_filter.time_range_match(item, time_range, "VTODO", None):
            found.append(f"{name}.ics")
    return sorted(found)


def test_every_range_at_any_date_answers_like_radicales_filter(tasks):
    http, path, _ = tasks
    found_any = set()
    for start, end in RANGES:
        indexed = hrefs(http, path, start, end, component="VTODO")
        assert indexed == matched(start, end), (start, end)
        assert indexed == hrefs(http, path, start, end, FULL_FILTER, "VTODO"), (start, end)
        found_any.update(indexed)
    assert found_any >= {f"{name}.ics" for name in TASKS}  # each is found somewhere


def test_anchored_tasks_are_indexed_and_the_others_are_candidates_everywhere(tasks, backend):
    _, _, login = tasks
    with backend.db.transaction() as s:
        windows = dict(
            s.execute(
                select(IndexedItem.href, IndexedItem.window_end).where(IndexedItem.owner == login)
            ).all()
        )
        rows = set(
            s.scalars(
                select(Occurrence.href).where(
                    Occurrence.owner == login, Occurrence.kind == busy.TODO
                )
            )
        )
    unanchored = {"completed", "created-completed", "created-only", "no-dates", "due-recurring"}
    assert set(windows) == {f"{name}.ics" for name in TASKS}
    assert rows == {f"{name}.ics" for name in TASKS if name not in unanchored}
    assert windows["start-due.ics"] == busy.FOREVER_AFTER  # a finite task: all time
    assert windows["weekly-open.ics"] < busy.FOREVER_AFTER  # to the horizon


def test_a_far_query_reads_only_tasks_near_it(tasks, backend):
    """A week twenty-five years ahead: the candidates are the tasks the index cannot
    place and the open series (extended there by the query), not all of them."""
    http, path, login = tasks
    start, end = week(at(25))
    hrefs(http, path, start, end, component="VTODO")
    with backend.db.transaction() as s:
        calendar_id = store.get_collection(s, f"{login}/calendar").id  # type: ignore[union-attr]
        found = store.filter_todos(s, calendar_id, int(start.timestamp()), int(end.timestamp()))
    names = {item.href.removesuffix(".ics") for item in found}
    assert names <= {
        "completed",
        "created-completed",
        "created-only",
        "no-dates",
        "due-recurring",
        "weekly-open",
    }
    assert "start-due" not in names and "monthly-ahead" not in names


def test_tasks_stored_before_the_upgrade_become_indexed(empty_url):
    """Migration 0020: tasks written before it have no index entry; they get an expired
    one, answer as before, and the dispatcher's window extension indexes them."""
    db = Database(empty_url)
    try:
        db.upgrade()
        with db.transaction(write=True, owners=["mig"]) as s:
            accounts.create_org(s, "Mig", plan="team")
            accounts.add_user(s, "mig", "Mig", "collaborator", PASSWORD)
            collection = store.get_collection(s, "mig/calendar")
            assert collection is not None
            text = calendar(TASKS["start-due"])
            item = store.ItemData.from_text("start-due.ics", text)
            store.put_items(s, collection, [item])
            s.execute(delete(Occurrence).where(Occurrence.owner == "mig"))
            s.execute(delete(IndexedItem).where(IndexedItem.owner == "mig"))
        command.downgrade(alembic_config(empty_url), "0019")
        command.upgrade(alembic_config(empty_url), "head")
        first, last = (int(moment.timestamp()) for moment in week(at(-10)))
        with db.transaction(write=True) as s:
            window = s.scalar(select(IndexedItem.window_end).where(IndexedItem.owner == "mig"))
            assert window is not None and busy.expired(window)
            assert [i.href for i in store.filter_todos(s, collection.id, first, last)] == [
                "start-due.ics"
            ]
            while busy.extend_windows(s, datetime.now(UTC)):
                pass
        with db.transaction() as s:
            assert s.scalar(select(IndexedItem.window_end).where(IndexedItem.owner == "mig")) == (
                busy.FOREVER_AFTER
            )
            assert [i.href for i in store.filter_todos(s, collection.id, first, last)] == [
                "start-due.ics"
            ]
    finally:
        db.dispose()


def test_a_task_stored_by_calcard_itself_matches_a_range_ending_at_its_due(server, backend):
    """Imports and the web calendar store the range calcard computes (store.ical), DAV
    Radicale's: both must let a DUE-only task match a range that ends at its DUE."""
    login = server.user()
    due = at(-3)
    with backend.db.transaction(write=True, owners=[login]) as s:
        collection = store.get_collection(s, f"{login}/calendar")
        assert collection is not None
        text = calendar(vtodo("imported", f"DUE:{utc(due)}"))
        store.put_items(s, collection, [store.ItemData.from_text("imported.ics", text)])
    with server.client(login) as http:
        path = f"/{login}/calendar/"
        assert hrefs(http, path, due - timedelta(hours=1), due, component="VTODO") == [
            "imported.ics"
        ]
        assert hrefs(http, path, due, due + timedelta(hours=1), component="VTODO") == []
