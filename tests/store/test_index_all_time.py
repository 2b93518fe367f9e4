"""The occurrence index at any date: ten years back, twenty ahead, a decade at once.

Each calendar-query is asked as a simple time-range filter (answered from the
index) and with an always-true prop-filter (Radicale's full filter on every
candidate): both must agree. Free-busy is compared with an expansion of every
item. And the index must be what answers: finite items are indexed for all
time, a series without end is indexed past a far query once it was asked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import recurring_ical_events
from sqlalchemy import select

from calcard.core.models import IndexedItem
from calcard.store import busy, consistency

from conftest import report
from helpers import FULL_FILTER, calendar, catch_up_index, hrefs, local, periods, utc, vevent

NOW = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
ZURICH = "Europe/Zurich"


def years(n: float) -> datetime:
    moment = NOW + timedelta(days=round(365.25 * n))
    return moment - timedelta(days=moment.weekday())  # a Monday


def dst_sunday(year: int, month: int) -> datetime:
    """The last Sunday of March or October at noon UTC: Europe's DST changes."""
    last = datetime(year, month, 31, 12, tzinfo=UTC)
    return last - timedelta(days=(last.weekday() + 1) % 7)


SPRING_BACK = dst_sunday(NOW.year - 9, 3)
FALL_AHEAD = dst_sunday(NOW.year + 19, 10)

EVENTS = {
    # a weekly series since ten years ago, without end: EXDATE, RDATE, one override
    # moved out of its week and one moved into another
    "weekly-open": calendar(
        vevent(
            "weekly-open",
            f"DTSTART;TZID={ZURICH}:{local(years(-10) + timedelta(hours=-4))}",
            f"DTEND;TZID={ZURICH}:{local(years(-10) + timedelta(hours=-3))}",
            "RRULE:FREQ=WEEKLY;BYDAY=MO",
            f"EXDATE;TZID={ZURICH}:{local(years(-3) + timedelta(hours=-4))}",
            f"RDATE;TZID={ZURICH}:{local(years(-3) + timedelta(days=4, hours=-4))}",
        ),
        vevent(
            "weekly-open",
            f"RECURRENCE-ID;TZID={ZURICH}:{local(years(-5) + timedelta(hours=-4))}",
            f"DTSTART;TZID={ZURICH}:{local(years(-5) + timedelta(days=10))}",
            f"DTEND;TZID={ZURICH}:{local(years(-5) + timedelta(days=10, hours=1))}",
        ),
        vevent(
            "weekly-open",
            f"RECURRENCE-ID;TZID={ZURICH}:{local(years(18) + timedelta(days=7, hours=-4))}",
            f"DTSTART;TZID={ZURICH}:{local(years(18) + timedelta(days=5))}",
            f"DTEND;TZID={ZURICH}:{local(years(18) + timedelta(days=5, hours=2))}",
        ),
    ),
    # monthly for thirty years, crossing both DST weeks' months
    "monthly-until": calendar(
        vevent(
            "monthly-until",
            f"DTSTART;TZID={ZURICH}:{local(SPRING_BACK - timedelta(days=28, hours=11))}",
            f"DTEND;TZID={ZURICH}:{local(SPRING_BACK - timedelta(days=28, hours=10))}",
            f"RRULE:FREQ=WEEKLY;INTERVAL=4;UNTIL={utc(FALL_AHEAD + timedelta(days=60))}",
        )
    ),
    "yearly-allday": calendar(
        vevent(
            "yearly-allday",
            f"DTSTART;VALUE=DATE:{years(-12):%Y%m%d}",
            f"DTEND;VALUE=DATE:{years(-12) + timedelta(days=1):%Y%m%d}",
            "RRULE:FREQ=YEARLY",
        )
    ),
    "floating-daily": calendar(
        vevent(
            "floating-daily",
            f"DTSTART:{local(years(-2) + timedelta(hours=-3))}",
            f"DTEND:{local(years(-2) + timedelta(hours=-2))}",
            "RRULE:FREQ=DAILY;COUNT=1000",
        )
    ),
    "dst-night": calendar(
        vevent(
            "dst-night",
            f"DTSTART;TZID={ZURICH}:{local(SPRING_BACK.replace(hour=1, minute=30))}",
            f"DTEND;TZID={ZURICH}:{local(SPRING_BACK.replace(hour=3, minute=30))}",
        )
    ),
    # a series without end that begins after the horizon
    "future-open": calendar(
        vevent(
            "future-open",
            f"DTSTART:{utc(years(5))}",
            f"DTEND:{utc(years(5) + timedelta(hours=1))}",
            "RRULE:FREQ=WEEKLY",
        )
    ),
    "far-single": calendar(
        vevent(
            "far-single",
            f"DTSTART:{utc(years(20))}",
            f"DTEND:{utc(years(20) + timedelta(hours=3))}",
        )
    ),
    "old-single": calendar(
        vevent("old-single", f"DTSTART:{utc(years(-10) + timedelta(days=2))}", "DURATION:PT45M")
    ),
}

RANGES = [
    (years(-10) - timedelta(days=7), years(-10) + timedelta(days=7)),
    (years(-5), years(-5) + timedelta(days=14)),
    (years(-3), years(-3) + timedelta(days=7)),
    (SPRING_BACK - timedelta(days=3), SPRING_BACK + timedelta(days=4)),
    (years(0), years(0) + timedelta(days=7)),
    (years(1.5), years(1.5) + timedelta(days=7)),
    (years(18), years(18) + timedelta(days=7)),
    (FALL_AHEAD - timedelta(days=3), FALL_AHEAD + timedelta(days=4)),
    (years(20) - timedelta(days=1), years(20) + timedelta(days=1)),
    (years(5), years(5) + timedelta(days=14)),
    (years(-8), years(2)),  # a ten-year span
]


@pytest.fixture
def spread(server):
    login = server.user()
    http = server.client(login)
    path = f"/{login}/calendar/"
    for name, text in EVENTS.items():
        response = http.put(f"{path}{name}.ics", content=text)
        assert response.status_code == 201, response.text
    yield http, path, login
    http.close()


def windows(backend, login: str) -> dict[str, tuple[int, int]]:
    with backend.db.transaction() as s:
        rows = s.execute(
            select(IndexedItem.href, IndexedItem.window_start, IndexedItem.window_end).where(
                IndexedItem.owner == login
            )
        ).all()
    return {href: (first, last) for href, first, last in rows}


def test_every_range_at_any_date_answers_like_the_full_filter(spread):
    http, path, _ = spread
    for start, end in RANGES:
        fast = hrefs(http, path, start, end)
        assert fast == hrefs(http, path, start, end, FULL_FILTER), (start, end)

    # (each occurrence of weekly-open: 08:00 in Zurich, inside [04:00Z, 10:00Z])
    def around(moment: datetime) -> list[str]:
        return hrefs(http, path, moment - timedelta(hours=8), moment - timedelta(hours=2))

    assert "weekly-open.ics" not in around(years(-3))  # the EXDATE
    assert "weekly-open.ics" in around(years(-3) + timedelta(days=4))  # the RDATE
    assert "weekly-open.ics" in around(years(-3) + timedelta(days=7))  # the next Monday
    assert "weekly-open.ics" not in around(years(-5))  # moved away ten days later
    assert "weekly-open.ics" in around(years(-5) + timedelta(days=10, hours=6))
    assert "weekly-open.ics" not in around(years(18) + timedelta(days=7))  # moved to Saturday
    assert "weekly-open.ics" in around(years(18) + timedelta(days=5, hours=6))
    assert "weekly-open.ics" in around(years(19))  # nineteen years on, still every Monday
    assert "far-single.ics" in hrefs(http, path, *RANGES[8])
    assert "old-single.ics" in hrefs(http, path, *RANGES[0])
    assert "dst-night.ics" in hrefs(http, path, *RANGES[3])


def test_finite_items_are_indexed_for_all_time_and_a_far_query_extends_open_series(
    spread, backend, server
):
    http, path, login = spread
    before = windows(backend, login)
    for name in ("monthly-until", "floating-daily", "dst-night", "far-single", "old-single"):
        assert before[f"{name}.ics"] == (busy.FOREVER_BEFORE, busy.FOREVER_AFTER), name
    future = before["future-open.ics"]
    assert future[0] == busy.FOREVER_BEFORE
    assert years(5).timestamp() < future[1] < busy.FOREVER_AFTER
    first, last = before["weekly-open.ics"]
    assert first == busy.FOREVER_BEFORE  # its whole past since ten years ago
    assert last < years(18).timestamp()  # its future up to the horizon
    assert "weekly-open.ics" in hrefs(http, path, *RANGES[6])  # eighteen years ahead
    catch_up_index(server)  # the dispatcher's work, which that query queued
    extended = windows(backend, login)["weekly-open.ics"]
    assert extended[0] == busy.FOREVER_BEFORE and extended[1] >= RANGES[6][1].timestamp()
    assert "weekly-open.ics" in hrefs(http, path, *RANGES[6])


FREEBUSY = (
    '<?xml version="1.0"?><C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
    '<C:time-range start="{start}" end="{end}"/></C:free-busy-query>'
)


def reported(http, path: str, start: datetime, end: datetime) -> set[tuple[int, int]]:
    response = report(http, path, FREEBUSY.format(start=utc(start), end=utc(end)))
    assert response.status_code == 200, response.text
    return {
        tuple(int(stamp(v).timestamp()) for v in span.split("/"))  # type: ignore[misc]
        for _, span in periods(response.text)
    }


def stamp(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def expanded(start: datetime, end: datetime) -> set[tuple[int, int]]:
    """Every item expanded on its own over the range (recurring-ical-events, no cap),
    floating times in the owner's zone (UTC); periods overlapping the range whole, as
    calcard's free-busy answers them."""
    lo, hi = int(start.timestamp()), int(end.timestamp())
    found = set()
    for text in EVENTS.values():
        calendar = icalendar.Calendar.from_ical(text)
        for event in recurring_ical_events.of(calendar).between(start, end):
            a, b = (_instant(event[k].dt) for k in ("DTSTART", "DTEND"))
            if a < hi and b > lo:
                found.add((a, b))
    return found


def _instant(value) -> int:
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())


def test_free_busy_at_any_date_is_every_occurrence(spread):
    http, path, _ = spread
    for start, end in RANGES:
        got = reported(http, path, start, end)
        want = expanded(start, end)
        assert _merged(got) == _merged(want), (start, end)


def _merged(periods: set[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for a, b in sorted(periods):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [tuple(p) for p in out]  # type: ignore[misc]


def test_items_indexed_before_the_upgrade_answer_exactly_and_are_reindexed(spread, backend):
    """Migration 0019 expires every window; until the dispatcher's window extension has
    re-expanded an item, queries expand it (the same answers), then the index answers."""
    http, path, login = spread
    with backend.db.transaction(write=True, owners=[login]) as s:
        s.execute(
            IndexedItem.__table__.update().where(IndexedItem.owner == login).values(window_end=0)
        )
    assert problems_of(backend, login) == []  # `calcard check` right after the upgrade
    for start, end in RANGES[:4]:
        assert hrefs(http, path, start, end) == hrefs(http, path, start, end, FULL_FILTER)
    for start, end in RANGES[:-1]:  # weeks: on the fly, each expansion is capped
        assert _merged(reported(http, path, start, end)) == _merged(expanded(start, end))
    with backend.db.transaction(write=True) as s:
        while busy.extend_windows(s, datetime.now(UTC)):
            pass
    after = windows(backend, login)
    assert after["old-single.ics"] == (busy.FOREVER_BEFORE, busy.FOREVER_AFTER)
    assert after["weekly-open.ics"][0] == busy.FOREVER_BEFORE
    assert after["weekly-open.ics"][1] > datetime.now(UTC).timestamp()
    assert _merged(reported(http, path, *RANGES[-1])) == _merged(expanded(*RANGES[-1]))


def test_a_new_time_zone_moves_floating_and_all_day_busy_times_at_once(server, backend):
    """Floating times and dates are the owner's local ones (RFC 5545 §3.3.5, §3.3.4):
    after the owner changes zone, free-busy follows at once, before the dispatcher has
    re-indexed them, and after; fixed-instant events stay where they are."""
    login = server.user()
    path = f"/{login}/calendar/"
    far = years(12)  # a Monday twelve years ahead: indexed, not expanded per query
    texts = {
        "floating": vevent(
            "floating",
            f"DTSTART:{far:%Y%m%d}T090000",
            f"DTEND:{far:%Y%m%d}T100000",
            "RRULE:FREQ=DAILY;COUNT=3",
        ),
        "day": vevent("day", f"DTSTART;VALUE=DATE:{far + timedelta(days=3):%Y%m%d}"),
        "fixed": vevent(
            "fixed",
            f"DTSTART:{utc(far + timedelta(hours=3))}",
            f"DTEND:{utc(far + timedelta(hours=4))}",
        ),
    }
    day = int(timedelta(days=1).total_seconds())
    base = int(datetime(far.year, far.month, far.day, tzinfo=UTC).timestamp())

    def expected(offset_hours: int) -> list[tuple[int, int]]:
        shift = -offset_hours * 3600
        wall = {
            (base + n * day + 9 * 3600 + shift, base + n * day + 10 * 3600 + shift)
            for n in range(3)
        }
        wall.add((base + 3 * day + shift, base + 4 * day + shift))
        fixed = int((far + timedelta(hours=3)).timestamp())
        return _merged(wall | {(fixed, fixed + 3600)})

    with server.client(login) as http:
        for name, text in texts.items():
            assert http.put(f"{path}{name}.ics", content=calendar(text)).status_code == 201
        week = (far - timedelta(days=1), far + timedelta(days=6))
        assert _merged(reported(http, path, *week)) == expected(0)
        changed = http.patch("/api/me/preferences", json={"timezone": "Asia/Tokyo"})
        assert changed.status_code == 200, changed.text
        assert _merged(reported(http, path, *week)) == expected(9)
        assert problems_of(backend, login) == []
        with backend.db.transaction(write=True) as s:
            while busy.extend_windows(s, datetime.now(UTC)):
                pass
        assert problems_of(backend, login) == []
        assert windows(backend, login)["floating.ics"] != (0, 0)
        assert _merged(reported(http, path, *week)) == expected(9)


def problems_of(backend, login: str) -> list[str]:
    """What ``calcard check`` finds wrong in ``login``'s collections."""
    found: list = []
    consistency.scan(backend.db, report=found.append)
    return [str(p) for p in found if p.path.split("/")[0] == login]
