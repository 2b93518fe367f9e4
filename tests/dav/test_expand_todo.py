"""calendar-query with ``expand`` on recurring VTODOs (RFC 4791 §9.6.5, §9.9).

A daily task with DTSTART and DUE in Europe/Zurich, one instance moved (a
RECURRENCE-ID override) and one removed (EXDATE): each instance in the expand
window comes back as a VTODO of its own, in UTC, with its RECURRENCE-ID and
without RRULE or EXDATE, the override as overridden (SQLite and PostgreSQL).
"""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import pytest

from calcard.core import recurrence

from conftest import report
from helpers import dav_calendar

ICS = {"Content-Type": "text/calendar; charset=utf-8"}
TASK = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//calcard tests//EN
BEGIN:VTIMEZONE
TZID:Europe/Zurich
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VTODO
UID:daily-task
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Zurich:20270201T090000
DUE;TZID=Europe/Zurich:20270201T100000
RRULE:FREQ=DAILY;COUNT=10
EXDATE;TZID=Europe/Zurich:20270204T090000
SUMMARY:Water the plants
END:VTODO
BEGIN:VTODO
UID:daily-task
DTSTAMP:20260101T000000Z
RECURRENCE-ID;TZID=Europe/Zurich:20270203T090000
DTSTART;TZID=Europe/Zurich:20270203T140000
DUE;TZID=Europe/Zurich:20270203T150000
SUMMARY:Water the plants (afternoon)
END:VTODO
END:VCALENDAR
"""
ELSEWHERE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//calcard tests//EN
BEGIN:VTODO
UID:other-task
DTSTAMP:20260101T000000Z
DTSTART:20270601T090000Z
DUE:20270601T100000Z
SUMMARY:Far away
END:VTODO
END:VCALENDAR
"""
QUERY = """<?xml version="1.0" encoding="utf-8" ?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data>{expand}</C:calendar-data></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO">
    <C:time-range start="{start}" end="{end}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""


def expand_query(start: str, end: str, expand: str | None = None) -> str:
    if expand is None:
        expand = f'<C:expand start="{start}" end="{end}"/>'
    return QUERY.format(start=start, end=end, expand=expand)


def instances(response) -> list[icalendar.Todo]:
    """Every VTODO of every calendar-data in a 207 answer."""
    assert response.status_code == 207, response.text
    found = []
    for chunk in response.text.split("<C:calendar-data>")[1:]:
        text = chunk.split("</C:calendar-data>")[0].replace("&#13;", "\r")
        found += icalendar.Calendar.from_ical(text).walk("VTODO")
    return found


@pytest.fixture
def tasks(server):
    login = server.user()
    with server.client(login) as http:
        for name, text in (("daily.ics", TASK), ("far.ics", ELSEWHERE)):
            put = http.put(f"/{login}/calendar/{name}", content=text.encode(), headers=ICS)
            assert put.status_code == 201, put.text
    return login


def test_each_instance_in_range_is_its_own_vtodo_in_utc(server, tasks):
    with server.client(tasks) as http:
        response = report(
            http, f"/{tasks}/calendar/", expand_query("20270202T000000Z", "20270206T000000Z")
        )
        found = instances(response)
    assert "daily.ics" in response.text and "far.ics" not in response.text
    assert "BEGIN:VTIMEZONE" not in response.text and "TZID" not in response.text
    by_id = {str(t["RECURRENCE-ID"].to_ical().decode()): t for t in found}
    # Feb 2 and 3 (moved) and 5; Feb 4 is an EXDATE. 09:00 in Zurich is 08:00 UTC.
    assert sorted(by_id) == ["20270202T080000Z", "20270203T080000Z", "20270205T080000Z"]
    moved = by_id["20270203T080000Z"]
    assert moved["SUMMARY"] == "Water the plants (afternoon)"
    assert moved["DTSTART"].to_ical() == b"20270203T130000Z"
    plain = by_id["20270205T080000Z"]
    assert plain["DTSTART"].to_ical() == b"20270205T080000Z"
    assert plain["DUE"].to_ical() == b"20270205T090000Z"
    for todo in found:
        assert not {"RRULE", "EXDATE", "RDATE", "EXRULE"} & set(todo)


def test_a_task_with_no_instance_in_the_expand_window_is_left_out(server, tasks):
    with server.client(tasks) as http:
        response = report(
            http,
            f"/{tasks}/calendar/",
            expand_query(
                "20270101T000000Z",
                "20280101T000000Z",
                '<C:expand start="20270301T000000Z" end="20270401T000000Z"/>',
            ),
        )
    assert response.status_code == 207
    assert "daily.ics" not in response.text
    assert "far.ics" not in response.text  # no instance in March either


def test_section_9_9_an_instance_touching_the_range_start_is_not_in_it(server, tasks):
    """DTSTART and DUE: (start < DUE or start <= DTSTART) and (end > DTSTART or end >= DUE)."""
    with server.client(tasks) as http:
        response = report(
            http, f"/{tasks}/calendar/", expand_query("20270202T090000Z", "20270202T120000Z")
        )
    assert instances(response) == []
    assert "daily.ics" not in response.text


def test_the_caldav_library_gets_one_expanded_task(server, tasks):
    """What caldav-server-tester's search.recurrences.expanded.todo asks."""
    calendar = dav_calendar(server, tasks)
    found = calendar.search(
        start=datetime(2027, 2, 5, tzinfo=UTC),
        end=datetime(2027, 2, 6, tzinfo=UTC),
        todo=True,
        server_expand=True,
        post_filter=False,
    )
    assert len(found) == 1
    assert found[0].icalendar_component["DTSTART"].dt == datetime(2027, 2, 5, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    "expand",
    [
        '<C:expand start="20270202T000000Z"/>',
        '<C:expand end="20270202T000000Z"/>',
        '<C:expand start="yesterday" end="20270202T000000Z"/>',
        '<C:expand start="20270202T000000" end="20270203T000000Z"/>',
        '<C:expand start="20271302T000000Z" end="20270203T000000Z"/>',
    ],
)
def test_a_malformed_expand_is_a_400(server, tasks, expand):
    with server.client(tasks) as http:
        response = report(
            http,
            f"/{tasks}/calendar/",
            expand_query("20270202T000000Z", "20270206T000000Z", expand),
        )
    assert response.status_code == 400, response.text


def test_a_stranger_expands_nothing(server, tasks):
    stranger = server.user()
    with server.client(stranger) as http:
        response = report(
            http, f"/{tasks}/calendar/", expand_query("20270202T000000Z", "20270206T000000Z")
        )
    assert response.status_code in (403, 404)
    assert "VTODO" not in response.text


ENDLESS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//calcard tests//EN
BEGIN:VTODO
UID:hourly-forever
DTSTAMP:20260101T000000Z
DTSTART:20260101T000000Z
DUE:20260101T003000Z
RRULE:FREQ=HOURLY
SUMMARY:Check the queue
END:VTODO
END:VCALENDAR
"""


@pytest.mark.parametrize(
    "window",
    [("00010101T000000Z", "20270101T000000Z"), ("20260101T000000Z", "99991231T235959Z")],
)
def test_an_endless_task_over_any_window_is_bounded_and_never_a_500(server, window):
    """Year 1 to 9999 and an hourly rule without end: a bounded answer (the expansion
    cap, RFC 4791 §9.6.5 leaves the count to the server), found in bounded time."""
    login = server.user()
    with server.client(login) as http:
        put = http.put(f"/{login}/calendar/hourly.ics", content=ENDLESS.encode(), headers=ICS)
        assert put.status_code == 201, put.text
        found = instances(report(http, f"/{login}/calendar/", expand_query(*window)))
    assert 0 < len(found) <= recurrence.MAX_OCCURRENCES
