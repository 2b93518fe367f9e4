"""Import-side metadata: calcard's time range must enclose Radicale's for every shape."""

from __future__ import annotations

import pytest
from radicale import item as radicale_item

from calcard.store import ical

CASES = {
    "single": "DTSTART:20260310T100000Z\r\nDTEND:20260310T110000Z",
    "all-day": "DTSTART;VALUE=DATE:20260310\r\nDTEND;VALUE=DATE:20260311",
    "floating": "DTSTART:20260310T100000\r\nDURATION:PT2H",
    "weekly-count": "DTSTART:20260105T090000Z\r\nDTEND:20260105T093000Z\r\n"
    "RRULE:FREQ=WEEKLY;COUNT=10",
    "daily-until": "DTSTART:20260105T090000Z\r\nDTEND:20260105T093000Z\r\n"
    "RRULE:FREQ=DAILY;UNTIL=20260201T000000Z",
    "endless": "DTSTART:20260105T090000Z\r\nDTEND:20260105T093000Z\r\nRRULE:FREQ=MONTHLY",
    "rdate": "DTSTART:20260105T090000Z\r\nDTEND:20260105T093000Z\r\nRDATE:20261224T090000Z",
}


def calendar(body: str, component: str = "VEVENT") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\n"
        f"BEGIN:{component}\r\nUID:u\r\nDTSTAMP:20260101T000000Z\r\n{body}\r\n"
        f"END:{component}\r\nEND:VCALENDAR\r\n"
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_time_range_encloses_radicales(name):
    text = calendar(CASES[name])
    (entry,) = list(ical.split_calendar(text))
    vobj = radicale_item.read_components(text)[0]
    radicale_range = radicale_item.Item(collection_path="x", vobject_item=vobj).time_range
    assert entry.start <= radicale_range[0]
    assert entry.end >= radicale_range[1]
    if name != "endless":  # bounded series stay bounded
        assert entry.end < ical.TIMESTAMP_MAX


def test_task_without_dates_spans_everything_and_uidless_entries_are_reported():
    (todo,) = list(ical.split_calendar(calendar("SUMMARY:someday", "VTODO")))
    assert (todo.start, todo.end) == (ical.TIMESTAMP_MIN, ical.TIMESTAMP_MAX)
    broken = calendar("DTSTART:20260310T100000Z").replace("UID:u\r\n", "")
    (error,) = list(ical.split_calendar(broken))
    assert isinstance(error, ical.ParseError)


def test_overrides_stay_with_their_master_and_carry_their_time_zone():
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\n"
        "BEGIN:VTIMEZONE\r\nTZID:Europe/Zurich\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
        "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
        "BEGIN:VEVENT\r\nUID:r\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART;TZID=Europe/Zurich:20260105T090000\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:r\r\nDTSTAMP:20260101T000000Z\r\n"
        "RECURRENCE-ID;TZID=Europe/Zurich:20260112T090000\r\n"
        "DTSTART;TZID=Europe/Zurich:20260112T100000\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:other\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    entries = {e.uid: e for e in ical.split_calendar(text)}
    assert entries["r"].text.count("BEGIN:VEVENT") == 2
    assert "BEGIN:VTIMEZONE" in entries["r"].text
    assert "BEGIN:VTIMEZONE" not in entries["other"].text
