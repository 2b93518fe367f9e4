"""The web calendar shows and edits times in the account's time zone, not the device's.

The account says Europe/Zurich, the browser runs in America/New_York: the week view,
a drag-selected new event, the New event button and drag to move all work in Zurich
time, and what the UI stores is checked over DAV. Uses the browser fixtures of
test_web_browser.py (SQLite server, console errors fail the test, screenshots to
tests/artifacts/).
"""
# ruff: noqa: F811 (the tests take the imported browser fixtures as arguments)

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from playwright.sync_api import Page, expect
from test_web_browser import ZONE, browser, browser_page, log_in, shoot, show_week_of  # noqa: F401

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
DEVICE = "America/New_York"
ACCOUNT = ZoneInfo(ZONE)  # Europe/Zurich


@pytest.fixture
def page(browser, server) -> Iterator[Page]:
    yield from browser_page(browser, server, DEVICE)


def zurich_user(server) -> tuple[str, str]:
    """A user whose account time zone is Zurich, and their default calendar's path."""
    login = server.user()
    with server.client(login) as http:
        answer = http.patch("/api/me/preferences", json={"timezone": ZONE})
        assert answer.status_code == 200 and answer.json()["timezone"] == ZONE
        return login, http.get("/api/calendars").json()["calendars"][0]["path"]


def put_event(server, login: str, calendar: str, uid: str, start: datetime) -> None:
    """An hour-long event stored over DAV, DTSTART with the TZID of ``start``'s zone."""
    ics = icalendar.Calendar()
    ics.add("prodid", "-//calcard tests//EN")
    ics.add("version", "2.0")
    event = icalendar.Event()
    for name, value in (
        ("uid", uid),
        ("summary", uid.capitalize()),
        ("dtstamp", datetime.now(UTC)),
        ("dtstart", start),
        ("dtend", start + timedelta(hours=1)),
    ):
        event.add(name, value)
    ics.add_component(event)
    ics.add_missing_timezones()
    with server.client(login) as http:
        answer = http.put(f"{calendar}{uid}.ics", content=ics.to_ical())
    assert answer.status_code == 201, answer.text


def stored_start(server, login: str, calendar: str, title: str, day: date) -> datetime:
    """DTSTART of the event called ``title`` on ``day``, as a DAV client reads it."""
    window = {"start": f"{day}T00:00:00+00:00", "end": f"{day + timedelta(days=2)}T00:00:00+00:00"}
    with server.client(login) as http:
        found = http.get("/api/events", params={"calendar": calendar, **window}).json()
        href = next(e["href"] for e in found["events"] if e["title"] == title)
        text = http.get(f"{calendar}{href}").text
    return icalendar.Calendar.from_ical(text).walk("VEVENT")[0]["DTSTART"].dt


def slot(page: Page, day: date, hhmm: str) -> tuple[float, float]:
    """A point just inside the week view's half-hour slot starting at ``hhmm`` on ``day``."""
    lane = page.locator(f".fc-timegrid-slot-lane[data-time='{hhmm}:00']")
    lane.scroll_into_view_if_needed()
    column = page.locator(f".fc-timegrid-col[data-date='{day}']").bounding_box()
    row = lane.bounding_box()
    assert column and row
    return column["x"] + column["width"] / 2, row["y"] + 4


def expect_at(page: Page, event, hhmm: str) -> None:
    """The event's box starts on the week view's row for ``hhmm``, and its time says so
    (FullCalendar's English format: 12-hour, without am/pm)."""
    hour, minute = hhmm.split(":")
    label = f"{int(hour) % 12 or 12}:{minute} "
    expect(event.locator(".fc-event-time")).to_have_text(re.compile(f"^{label}"))
    event.scroll_into_view_if_needed()
    row = page.locator(f".fc-timegrid-slot-lane[data-time='{hhmm}:00']").bounding_box()
    box = event.bounding_box()
    assert row and box and abs(box["y"] - row["y"]) <= 3, (row, box)


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()


def test_the_calendar_shows_and_edits_in_the_account_zone(page: Page, server):
    login, calendar = zurich_user(server)
    day = datetime.now(ACCOUNT).date() + timedelta(days=1)

    def at(hour: int) -> datetime:
        return datetime.combine(day, time(hour), ACCOUNT)

    put_event(server, login, calendar, "standup", at(10))
    tokyo = ZoneInfo("Asia/Tokyo")
    put_event(server, login, calendar, "call", at(12).astimezone(tokyo))
    log_in(page, login)
    expect(page.locator(".fc-timegrid")).to_be_visible()
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == DEVICE
    hint = page.locator("#zone-hint")
    expect(hint).to_contain_text(f"your account's time zone, {ZONE}")
    expect(hint).to_contain_text(DEVICE)

    show_week_of(page, at(10))
    expect_at(page, page.locator(".fc-timegrid-event", has_text="Standup"), "10:00")
    shoot(page, "timezone-week")

    # The New event button proposes the next whole hour of the account's clock.
    hours = {(datetime.now(ACCOUNT) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:00")}
    page.click("#new-event")
    hours.add((datetime.now(ACCOUNT) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:00"))
    assert page.input_value("#event-form [name=start]") in hours
    expect(page.locator("#event-form [name=timezone]")).to_have_value(ZONE)
    page.click("#cancel-event")

    # Selecting 14:00-15:00 in the week view fills the form with Zurich times.
    drag(page, slot(page, day, "14:00"), slot(page, day, "14:30"))
    expect(page.locator("#event-dialog")).to_be_visible()
    expect(page.locator("#event-form [name=start]")).to_have_value(f"{day}T14:00")
    expect(page.locator("#event-form [name=end]")).to_have_value(f"{day}T15:00")
    expect(page.locator("#event-form [name=timezone]")).to_have_value(ZONE)
    page.fill("#event-form [name=title]", "Review")
    shoot(page, "timezone-new-event")
    page.click("#save-event")
    review = page.locator(".fc-timegrid-event", has_text="Review")
    expect_at(page, review, "14:00")
    start = stored_start(server, login, calendar, "Review", day)
    assert start == at(14) and start.tzinfo.key == ZONE

    # Dragging it an hour later stores 15:00 Zurich time.
    box = review.bounding_box()
    assert box
    grab = (box["x"] + box["width"] / 2, box["y"] + 6)
    hour_down = slot(page, day, "15:00")[1] - slot(page, day, "14:00")[1]
    with page.expect_response("**/api/event/move") as moved:
        drag(page, grab, (grab[0], grab[1] + hour_down))
    assert moved.value.ok
    expect_at(page, review, "15:00")
    start = stored_start(server, login, calendar, "Review", day)
    assert start == at(15) and start.tzinfo.key == ZONE
    shoot(page, "timezone-moved")

    # An event with its own zone keeps it when moved: shown at 12:00, stored in Tokyo time.
    call = page.locator(".fc-timegrid-event", has_text="Call")
    expect_at(page, call, "12:00")
    box = call.bounding_box()
    assert box
    grab = (box["x"] + box["width"] / 2, box["y"] + 6)
    with page.expect_response("**/api/event/move") as moved:
        drag(page, grab, (grab[0], grab[1] + hour_down))
    assert moved.value.ok
    start = stored_start(server, login, calendar, "Call", day)
    assert start == at(13) and start.tzinfo.key == "Asia/Tokyo"

    # Month and list views show the account's clock too.
    page.click(".fc-dayGridMonth-button")
    month = page.locator(".fc-daygrid-event", has_text="Standup")
    expect(month.locator(".fc-event-time")).to_have_text(re.compile(r"^10"))
    page.click(".fc-listWeek-button")
    listed = page.locator(".fc-list-event", has_text="Review")
    expect(listed.locator(".fc-list-event-time")).to_have_text(re.compile(r"^3:00pm"))
    shoot(page, "timezone-list")
