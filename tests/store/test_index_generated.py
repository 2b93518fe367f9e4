"""The occurrence index against independent expansions, on generated calendars.

Hypothesis writes events and tasks ten years back to twenty ahead: single and
recurring (daily, weekly by day, monthly, yearly; COUNT, UNTIL or no end), with
EXDATEs and an override moved by days, in a zone, floating or all-day; and asks
ranges from a day to ten years anywhere in that span. For events, free-busy must
be recurring-ical-events' expansion exactly, and calendar-query's candidates must
hold every event that overlaps (and those the index calls sure must overlap).
For tasks, the candidates must hold every task Radicale's own filter matches.
Rules stay within the per-item cap (calcard.core.recurrence), where answers are
exact by design.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
import recurring_ical_events
import vobject
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from radicale.item import filter as radicale_filter
from sqlalchemy import delete

from calcard import freebusy, store
from calcard.core.models import Item

from helpers import calendar, component, local, utc

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
ZURICH = "Europe/Zurich"
RULES = {  # rule: (RRULE without end, step between occurrences for EXDATE/overrides)
    "daily": ("FREQ=DAILY;INTERVAL=9", timedelta(days=9)),
    "weekly": ("FREQ=WEEKLY;BYDAY={weekday}", timedelta(weeks=1)),
    "monthly": ("FREQ=MONTHLY", None),
    "yearly": ("FREQ=YEARLY", None),
}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@st.composite
def items(draw, name: str) -> tuple[str, datetime, str]:
    """(text, first start, shape) of one generated VEVENT or VTODO."""
    start = NOW + timedelta(days=draw(st.integers(-3650, 7300)), hours=draw(st.integers(-12, 12)))
    shape = draw(st.sampled_from(["zoned", "utc", "floating", "all-day"]))
    hours = draw(st.sampled_from([0, 1, 5, 24, 72]))

    def value(moment: datetime) -> str:
        if shape == "all-day":
            return f";VALUE=DATE:{moment:%Y%m%d}"
        if shape == "zoned":
            return f";TZID={ZURICH}:{local(moment)}"
        return f":{utc(moment)}" if shape == "utc" else f":{local(moment)}"

    end_name = "DTEND" if name == "VEVENT" else "DUE"
    span = timedelta(days=max(1, hours // 24)) if shape == "all-day" else timedelta(hours=hours)
    lines = [f"DTSTART{value(start)}"]
    if hours or shape == "all-day":
        lines.append(f"{end_name}{value(start + span)}")
    rule = draw(st.sampled_from([None, *RULES]))
    if rule is not None:
        text, step = RULES[rule]
        text = text.format(weekday=WEEKDAYS[start.weekday()])
        ending = draw(st.sampled_from(["count", "until", "open"]))
        if ending == "count":
            text += f";COUNT={draw(st.integers(1, 400))}"
        elif ending == "until":
            text += f";UNTIL={utc(start + timedelta(days=draw(st.integers(1, 9000))))}"
        lines.append(f"RRULE:{text}")
        if step is not None and draw(st.booleans()):
            lines.append(f"EXDATE{value(start + step)}")
        if step is not None and draw(st.booleans()):
            moved = start + 2 * step + timedelta(days=draw(st.integers(-40, 40)))
            override = [f"RECURRENCE-ID{value(start + 2 * step)}", f"DTSTART{value(moved)}"]
            if len(lines) > 1 and not lines[1].startswith("RRULE"):
                override.append(f"{end_name}{value(moved + span)}")
            return (
                calendar(component(name, "g", *lines), component(name, "g", *override)),
                start,
                shape,
            )
    return calendar(component(name, "g", *lines)), start, shape


ranges = st.tuples(st.integers(-3700, 7400), st.sampled_from([1, 7, 31, 366, 3653])).map(
    lambda r: (NOW + timedelta(days=r[0]), NOW + timedelta(days=r[0] + r[1]))
)


@pytest.fixture
def own_calendar(server, backend):
    """The default calendar of a fresh user (zone UTC: floating times are UTC)."""
    login = server.user()
    with backend.db.transaction() as s:
        collection = store.get_collection(s, f"{login}/calendar")
    assert collection is not None
    return backend, login, collection


def _store(backend, login: str, collection, text: str) -> None:
    """The generated item alone in the calendar, as an import stores it."""
    with backend.db.transaction(write=True, owners=[login]) as s:
        s.execute(delete(Item).where(Item.collection_id == collection.id))
        current = store.get_collection(s, collection.path)
        store.put_items(s, current, [store.ItemData.from_text("g.ics", text)])


def _instant(value: date | datetime) -> int:
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())


def _expanded(text: str, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """Every occurrence overlapping [start, end) by recurring-ical-events, no cap."""
    lo, hi = int(start.timestamp()), int(end.timestamp())
    found = []
    for event in recurring_ical_events.of(icalendar.Calendar.from_ical(text)).between(start, end):
        a, b = (_instant(event[k].dt) for k in ("DTSTART", "DTEND"))
        if (a < hi and b > lo) or (a == b and lo <= a < hi):
            found.append((a, b))
    return found


def _merged(periods) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for a, b in sorted(p for p in periods if p[1] > p[0]):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(item=items("VEVENT"), window=ranges)
def test_events_answer_as_their_expansion_at_any_date(own_calendar, item, window):
    backend, login, collection = own_calendar
    text, _, _ = item
    start, end = window
    _store(backend, login, collection, text)
    truth = _expanded(text, start, end)
    with backend.db.transaction() as s:
        busy = freebusy._busy(s, {collection.id: login}, start, end)
        found = store.filter_events(s, collection.id, int(start.timestamp()), int(end.timestamp()))
    lo, hi = int(start.timestamp()), int(end.timestamp())
    clipped = [(a, b) for _, a, b, _ in busy if a < hi and b > lo]
    assert _merged(clipped) == _merged(p for p in truth if p[1] > p[0]), text
    if truth:
        assert [i.href for i, _ in found] == ["g.ics"], text
    assert not any(sure for _, sure in found) or truth, text


@SETTINGS
@given(item=items("VTODO"), window=ranges)
def test_tasks_are_candidates_wherever_radicale_matches_them(own_calendar, item, window):
    backend, login, collection = own_calendar
    text, _, _ = item
    start, end = window
    _store(backend, login, collection, text)
    time_range = ET.Element(
        "{urn:ietf:params:xml:ns:caldav}time-range", start=utc(start), end=utc(end)
    )
    matched = radicale_filter.time_range_match(vobject.readOne(text), time_range, "VTODO", None)
    with backend.db.transaction() as s:
        found = store.filter_todos(s, collection.id, int(start.timestamp()), int(end.timestamp()))
    assert not matched or [i.href for i in found] == ["g.ics"], text
