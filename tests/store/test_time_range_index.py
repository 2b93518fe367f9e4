"""calendar-query time ranges answered from the occurrence index (RFC 4791 §9.9).

Each query is asked twice: as a simple time-range filter, which calcard answers
from the materialized occurrences, and with an always-true extra prop-filter,
which makes Radicale run its own full filter on every candidate. Both must give
the same events, across boundaries, recurrences, exceptions and event shapes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from calcard.core.models import IndexedItem

from helpers import FULL_FILTER, calendar, hrefs, local, utc, vevent

# A Monday at noon UTC four weeks from now: inside the index window whenever the
# tests run, and far from any DST change in Europe/Zurich for the next few weeks.
BASE = (datetime.now(UTC) + timedelta(weeks=4)).replace(hour=12, minute=0, second=0, microsecond=0)
BASE -= timedelta(days=BASE.weekday())


def day(offset: int, hours: int = 0) -> datetime:
    return BASE + timedelta(days=offset, hours=hours)


EVENTS = {
    "zero-length": calendar(
        vevent("zero-length", f"DTSTART:{utc(day(1))}", f"DTEND:{utc(day(1))}")
    ),
    "start-only": calendar(vevent("start-only", f"DTSTART:{utc(day(2, 3))}")),
    "duration": calendar(vevent("duration", f"DTSTART:{utc(day(3))}", "DURATION:PT90M")),
    "transparent": calendar(
        vevent(
            "transparent", f"DTSTART:{utc(day(4))}", f"DTEND:{utc(day(4, 1))}", "TRANSP:TRANSPARENT"
        )
    ),
    "cancelled": calendar(
        vevent("cancelled", f"DTSTART:{utc(day(5))}", f"DTEND:{utc(day(5, 1))}", "STATUS:CANCELLED")
    ),
    "long": calendar(vevent("long", f"DTSTART:{utc(day(8))}", f"DTEND:{utc(day(30))}")),
    "floating": calendar(
        vevent("floating", f"DTSTART:{local(day(9))}", f"DTEND:{local(day(9, 1))}")
    ),
    "all-day": calendar(
        vevent(
            "all-day", f"DTSTART;VALUE=DATE:{day(10):%Y%m%d}", f"DTEND;VALUE=DATE:{day(11):%Y%m%d}"
        )
    ),
    "far-future": calendar(
        vevent("far-future", f"DTSTART:{utc(day(1200))}", f"DTEND:{utc(day(1200, 1))}")
    ),
    "weekly": calendar(
        vevent(
            "weekly",
            f"DTSTART;TZID=Europe/Zurich:{local(day(0, 2))}",
            f"DTEND;TZID=Europe/Zurich:{local(day(0, 3))}",
            "RRULE:FREQ=WEEKLY;BYDAY=MO,TH",
            f"EXDATE;TZID=Europe/Zurich:{local(day(7, 2))}",
        ),
        vevent(
            "weekly",
            f"RECURRENCE-ID;TZID=Europe/Zurich:{local(day(14, 2))}",
            f"DTSTART;TZID=Europe/Zurich:{local(day(16, 8))}",
            f"DTEND;TZID=Europe/Zurich:{local(day(16, 9))}",
        ),
    ),
    "daily-count": calendar(
        vevent(
            "daily-count",
            f"DTSTART:{utc(day(20, -3))}",
            f"DTEND:{utc(day(20, -2))}",
            "RRULE:FREQ=DAILY;COUNT=3",
        )
    ),
}


@pytest.fixture
def indexed(server):
    login = server.user()
    http = server.client(login)
    path = f"/{login}/calendar/"
    for name, text in EVENTS.items():
        response = http.put(
            f"{path}{name}.ics", content=text, headers={"Content-Type": "text/calendar"}
        )
        assert response.status_code == 201, response.text
    yield http, path, login
    http.close()


def test_index_answers_like_the_full_filter_across_shapes_and_boundaries(indexed):
    http, path, _ = indexed
    ranges = [
        (day(d, h), day(d, h) + span)
        for d in range(-1, 33, 1)
        for h, span in (
            (0, timedelta(hours=1)),
            (-12, timedelta(days=1)),
        )
    ]
    ranges += [(day(d), day(d + 7)) for d in range(-7, 35, 3)]
    ranges += [(day(1), day(1, 1)), (day(1, -1), day(1)), (day(1, -1), day(1, 1))]
    ranges += [(day(2, 3), day(2, 4)), (day(2, 2), day(2, 3)), (day(3, 1), day(3, 2))]
    ranges += [(day(1190), day(1210)), (day(-400), day(1300))]
    for start, end in ranges:
        fast = hrefs(http, path, start, end)
        assert fast == hrefs(http, path, start, end, FULL_FILTER), (start, end)


def test_index_edge_cases_match_rfc_4791(indexed):
    http, path, _ = indexed
    # An instant (no DTEND) matches a range starting at it, not one ending at it;
    # DTEND equal to DTSTART matches only a range around it.
    assert "start-only.ics" in hrefs(http, path, day(2, 3), day(2, 4))
    assert "start-only.ics" not in hrefs(http, path, day(2, 2), day(2, 3))
    assert "zero-length.ics" not in hrefs(http, path, day(1), day(1, 1))
    assert "zero-length.ics" in hrefs(http, path, day(1, -1), day(1, 1))
    # Transparent and cancelled events still match time ranges (they are only free).
    assert {"transparent.ics", "cancelled.ics"} <= set(hrefs(http, path, day(4), day(6)))
    # A three-week event is found in its middle week (stored in week-long pieces).
    assert hrefs(http, path, day(21), day(21, 1)) == ["long.ics"]
    # The EXDATE removes the Monday of week 1; the moved occurrence of week 2 is on Wednesday.
    assert "weekly.ics" not in hrefs(http, path, day(7), day(8))
    assert "weekly.ics" not in hrefs(http, path, day(14), day(15))
    assert "weekly.ics" in hrefs(http, path, day(16, 7), day(16, 10))
    # Beyond the index window the full filter answers.
    assert hrefs(http, path, day(1190), day(1210)) == ["far-future.ics", "weekly.ics"]


def test_exact_flag_marks_only_items_with_fixed_instants(indexed, backend):
    _, _, login = indexed
    with backend.db.transaction() as s:
        exact = dict(
            s.execute(
                select(IndexedItem.href, IndexedItem.exact).where(IndexedItem.owner == login)
            ).all()
        )
    assert exact["floating.ics"] is False
    assert exact["all-day.ics"] is False
    assert all(exact[f"{name}.ics"] for name in EVENTS if name not in ("floating", "all-day"))
