"""The web calendar shows and edits times in the account's time zone, not the device's.

The account says Europe/Zurich, the browser runs in America/New_York: the week, month
and list views, a drag-selected new event, the New event button, drag to move and
resize all work in Zurich time, an event with a TZID of its own keeps it when moved,
and what the UI stores is checked over DAV. Uses the browser fixtures of
test_web_browser.py (SQLite server, console errors fail the test, screenshots to
tests/artifacts/).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from playwright.sync_api import Page, expect

from browser import ZONE, browser_page, log_in, shoot, show_week_of

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


def stored(server, login: str, calendar: str, title: str, day: date) -> tuple[datetime, ...]:
    """DTSTART and DTEND of the event called ``title`` on ``day``, as a DAV client reads them."""
    window = {"start": f"{day}T00:00:00+00:00", "end": f"{day + timedelta(days=2)}T00:00:00+00:00"}
    with server.client(login) as http:
        found = http.get("/api/events", params={"calendar": calendar, **window}).json()
        href = next(e["href"] for e in found["events"] if e["title"] == title)
        text = http.get(f"{calendar}{href}").text
    event = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]
    return event["DTSTART"].dt, event["DTEND"].dt


def slot(page: Page, day: date, hhmm: str) -> tuple[float, float]:
    """A point just inside the week view's half-hour slot starting at ``hhmm`` on ``day``."""
    lane = page.locator(f".fc-timegrid-slot-lane[data-time='{hhmm}:00']")
    lane.scroll_into_view_if_needed()
    column = page.locator(f".fc-timegrid-col[data-date='{day}']").bounding_box()
    row = lane.bounding_box()
    assert column and row
    return column["x"] + column["width"] / 2, row["y"] + 4


def event_box(page: Page, title: str):
    """The week view's box of the event called ``title`` (as drawn last), in view."""
    event = page.locator(".fc-timegrid-event:not([data-stale])", has_text=title)
    event.scroll_into_view_if_needed()
    return event


def expect_at(page: Page, title: str, hhmm: str) -> None:
    """The event's box starts on the week view's row for ``hhmm``, and its time says so
    (FullCalendar's English format: 12-hour, without am/pm)."""
    hour, minute = hhmm.split(":")
    event = event_box(page, title)
    label = f"{int(hour) % 12 or 12}:{minute} "
    expect(event.locator(".fc-event-time")).to_have_text(re.compile(f"^{label}"))
    page.wait_for_function(
        """([title, time]) => {
            const top = (e) => e && e.getBoundingClientRect().top;
            const row = document.querySelector(`.fc-timegrid-slot-lane[data-time="${time}:00"]`);
            const box = [...document.querySelectorAll(".fc-timegrid-event:not([data-stale])")]
                .find((e) => e.textContent.includes(title));
            return row && box && Math.abs(top(box) - top(row)) <= 3;
        }""",
        arg=[title, hhmm],
    )


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()


def change(page: Page, title: str, resize: bool, by: float) -> None:
    """Drag the event down by ``by`` pixels (its bottom edge when ``resize``); returns once
    the change is saved and the week drawn again from the server's answer."""
    event = event_box(page, title)
    box = event.bounding_box()
    assert box
    event.hover()  # shows the resize handle
    grab = (box["x"] + box["width"] / 2, box["y"] + (box["height"] - 2 if resize else 6))
    page.evaluate(
        "document.querySelectorAll('.fc-timegrid-event').forEach((e) => e.dataset.stale = 1)"
    )
    with page.expect_response("**/api/event/move") as saved:
        drag(page, grab, (grab[0], grab[1] + by))
    assert saved.value.ok, saved.value.text()
    event_box(page, title).wait_for()


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
    expect_at(page, "Standup", "10:00")
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
    expect_at(page, "Review", "14:00")
    start, end = stored(server, login, calendar, "Review", day)
    assert (start, end) == (at(14), at(15)) and start.tzinfo.key == ZONE

    # Dragging it an hour later stores 15:00 Zurich time; resizing it, a later end.
    hour = slot(page, day, "15:00")[1] - slot(page, day, "14:00")[1]
    change(page, "Review", resize=False, by=hour)
    expect_at(page, "Review", "15:00")
    start, end = stored(server, login, calendar, "Review", day)
    assert (start, end) == (at(15), at(16)) and start.tzinfo.key == ZONE
    shoot(page, "timezone-moved")
    change(page, "Review", resize=True, by=hour)
    start, end = stored(server, login, calendar, "Review", day)
    assert (start, end) == (at(15), at(17)) and end.tzinfo.key == ZONE

    # An event with its own zone keeps it when moved: shown at 12:00, stored in Tokyo time.
    expect_at(page, "Call", "12:00")
    change(page, "Call", resize=False, by=hour)
    expect_at(page, "Call", "13:00")
    start, _ = stored(server, login, calendar, "Call", day)
    assert start == at(13) and start.tzinfo.key == "Asia/Tokyo"

    # Month and list views show the account's clock too.
    page.click(".fc-dayGridMonth-button")
    month = page.locator(".fc-daygrid-event", has_text="Standup")
    expect(month.locator(".fc-event-time")).to_have_text(re.compile(r"^10"))
    page.click(".fc-listWeek-button")
    listed = page.locator(".fc-list-event", has_text="Review")
    expect(listed.locator(".fc-list-event-time")).to_have_text(re.compile(r"^3:00pm"))
    shoot(page, "timezone-list")


def test_an_account_on_the_default_zone_adopts_the_browsers(page: Page, server):
    login = server.user()  # never chose a zone: the account says UTC
    log_in(page, login)
    expect(page.locator("#tasks-button")).to_be_enabled()
    with server.client(login) as http:
        found = http.get("/api/me/preferences").json()
    assert (found["timezone"], found["timezone_chosen"]) == (DEVICE, True)
    assert page.errors == []  # type: ignore[attr-defined]
