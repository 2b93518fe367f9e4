"""Calendars, tasks, link attachments and holidays in a real browser (Playwright, chromium).

Uses the browser fixtures of test_web_browser.py (SQLite server, console errors fail the
test, screenshots to tests/artifacts/), and checks from the DAV side what the UI did.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from browser import ZONE, log_in, shoot
from helpers import dav

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def today() -> date:
    return datetime.now(ZoneInfo(ZONE)).date()


def calendar_color(server, login: str, path: str) -> str:
    answer = server.client(login).request(
        "PROPFIND",
        path,
        headers={"Depth": "0"},
        content='<propfind xmlns="DAV:"><prop><calendar-color '
        'xmlns="http://apple.com/ns/ical/"/></prop></propfind>',
    )
    return answer.text.split("calendar-color", 2)[1].split(">")[1].split("<")[0]


def test_create_a_calendar_and_recolor_it(page: Page, server):
    login = server.user()
    log_in(page, login)
    expect(page.locator(".fc-timegrid")).to_be_visible()
    page.get_by_role("button", name="New calendar").click()
    page.fill("#calendar-form [name=name]", "Garden club")
    page.fill("#calendar-form [name=color]", "#059669")
    shoot(page, "calendar-new")
    page.click("#save-calendar")
    row = page.locator("#calendar-list li", has_text="Garden club")
    expect(row.locator(".swatch")).to_have_css("background-color", "rgb(5, 150, 105)")
    path = f"/{login}/garden-club/"
    assert calendar_color(server, login, path) == "#059669"

    row.get_by_role("button", name="Edit calendar Garden club").click()
    expect(page.locator("#calendar-form [name=name]")).to_have_value("Garden club")
    page.get_by_role("button", name="Color #7c3aed").click()
    page.fill("#calendar-form [name=name]", "Garden")
    page.click("#save-calendar")
    row = page.locator("#calendar-list li", has_text="Garden")
    expect(row.locator(".swatch")).to_have_css("background-color", "rgb(124, 58, 237)")
    assert calendar_color(server, login, path) == "#7c3aed"

    page.click("#new-event")
    page.fill("#event-form [name=title]", "Planting")
    page.select_option("#event-form [name=calendar]", path)
    page.click("#save-event")
    planting = page.locator(".fc-event", has_text="Planting")
    expect(planting).to_have_css("background-color", "rgb(124, 58, 237)")
    planting.scroll_into_view_if_needed()
    shoot(page, "calendar-recolored")


def test_create_a_task_complete_it_and_see_it_in_the_calendar(page: Page, server):
    login = server.user()
    log_in(page, login)
    page.click("#tasks-button")
    expect(page.locator("#tasks-pane")).to_be_visible()
    page.click("#new-task")
    page.fill("#task-form [name=summary]", "Buy seeds")
    page.select_option("#task-form [name=due_kind]", "date")
    page.fill("#task-form [name=due_date]", today().isoformat())
    page.select_option("#task-form [name=priority]", "1")
    page.fill("#task-form [name=description]", "Tomatoes and basil")
    shoot(page, "task-form")
    page.click("#save-task")
    item = page.locator("#task-list .task-item", has_text="Buy seeds")
    expect(item).to_be_visible()
    expect(item.locator(".priority")).to_have_text("high")
    in_calendar = page.locator(".fc-event.task", has_text="Buy seeds")
    expect(in_calendar).to_have_count(1)
    shoot(page, "tasks")

    item.get_by_role("checkbox", name="Completed: Buy seeds").check()
    expect(item).to_have_count(0)  # completed tasks are hidden until asked for
    page.check("#show-completed")
    expect(page.locator("#task-list .task-item.done", has_text="Buy seeds")).to_be_visible()
    expect(page.locator(".fc-event.task.done", has_text="Buy seeds")).to_have_count(1)
    shoot(page, "tasks-completed")

    calendar = dav(server, login).principal().calendar(cal_id="calendar")
    (todo,) = [t.icalendar_component for t in calendar.todos(include_completed=True)]
    assert todo["SUMMARY"] == "Buy seeds" and todo["STATUS"] == "COMPLETED"
    assert todo["PERCENT-COMPLETE"] == 100 and todo["DUE"].dt == today()

    page.locator(".fc-event.task", has_text="Buy seeds").click()
    expect(page.locator("#task-form [name=summary]")).to_have_value("Buy seeds")
    page.uncheck("#task-form [name=completed]")
    page.click("#save-task")
    expect(page.locator("#task-list .task-item:not(.done)", has_text="Buy seeds")).to_be_visible()
    assert calendar.todos()[0].icalendar_component["STATUS"] == "NEEDS-ACTION"


def test_add_a_link_attachment_to_an_event(page: Page, server):
    login = server.user()
    log_in(page, login)
    page.click("#new-event")
    page.fill("#event-form [name=title]", "Design review")
    page.fill("#event-form [name=attachment-url]", "javascript:alert(1)")
    page.click("#add-attachment")
    expect(page.locator("#attachment-error")).to_have_text(
        "Only http and https links can be attached."
    )
    page.fill("#event-form [name=attachment-url]", "https://example.org/spec.pdf")
    page.press("#event-form [name=attachment-url]", "Enter")
    link = page.locator("#attachment-list a")
    expect(link).to_have_attribute("href", "https://example.org/spec.pdf")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(page.locator("#event-dialog")).to_be_visible()  # Enter added the link, no submit
    page.click("#save-event")
    page.locator(".fc-event", has_text="Design review").click()
    expect(link).to_have_text("https://example.org/spec.pdf")
    expect(link).to_have_attribute("target", "_blank")
    shoot(page, "event-attachment")
    (event,) = dav(server, login).principal().calendar(cal_id="calendar").events()
    assert str(event.icalendar_component["ATTACH"]) == "https://example.org/spec.pdf"

    page.get_by_role("button", name="Remove link https://example.org/spec.pdf").click()
    page.click("#save-event")
    expect(page.locator("#event-dialog")).to_be_hidden()
    (event,) = dav(server, login).principal().calendar(cal_id="calendar").events()
    assert "ATTACH" not in event.icalendar_component


def test_holiday_overlay_toggles_and_the_calendar_can_be_added_and_removed(page: Page, server):
    login = server.user()
    first = today()
    window = {
        "country": "CH",
        "start": first.isoformat(),
        "end": first.replace(year=first.year + 1).isoformat(),
    }
    upcoming = server.client(login).get("/api/holidays", params=window).json()["holidays"][0]
    day = date.fromisoformat(upcoming["date"])
    log_in(page, login)
    page.click(".fc-dayGridMonth-button")
    for _ in range((day.year - first.year) * 12 + day.month - first.month):
        page.click(".fc-next-button")
    page.select_option("#holiday-country", "CH")
    expect(page.locator("#holiday-country option:checked")).to_have_text("Switzerland")
    holiday = page.locator(".fc-event.holiday", has_text=upcoming["name"])
    expect(holiday).to_have_count(0)
    page.check("#show-holidays")
    expect(holiday).to_have_count(1)
    shoot(page, "holiday-overlay")
    page.uncheck("#show-holidays")
    expect(holiday).to_have_count(0)
    page.check("#show-holidays")

    page.click("#subscribe-holidays")
    subscribed = page.locator("#calendar-list li", has_text="Holidays in Switzerland")
    expect(subscribed).to_contain_text("(read-only)")
    expect(page.locator("#subscribe-holidays")).to_have_text("Added ✓")
    expect(page.locator("#show-holidays")).to_be_disabled()
    expect(holiday).to_have_count(0)  # the overlay gave way to the calendar
    expect(page.locator(".fc-event", has_text=upcoming["name"])).to_have_count(1)
    shoot(page, "holiday-subscribed")
    calendars = dav(server, login).principal().calendars()
    assert f"/{login}/holidays-ch/" in {c.url.path for c in calendars}

    subscribed.get_by_role("button", name="Edit calendar Holidays in Switzerland").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove from my calendars").click()
    expect(subscribed).to_have_count(0)
    expect(page.locator("#subscribe-holidays")).to_have_text("Add to my calendars")
    expect(holiday).to_have_count(1)  # the overlay is back
    assert f"/{login}/holidays-ch/" not in {
        c.url.path for c in dav(server, login).principal().calendars()
    }


def test_phone_layout_with_the_task_pane(page: Page, server):
    login = server.user()
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, login)
    # Measure the calendar page, not the login page it navigates away from.
    expect(page.locator("#tasks-button")).to_be_visible()
    # The top bar fits: nothing scrolls sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click("#tasks-button")
    expect(page.locator("#tasks-pane")).to_be_in_viewport(ratio=1)
    shoot(page, "phone-tasks")
    page.click("#close-tasks")
    expect(page.locator("#tasks-pane")).to_be_hidden()
    expect(page.locator("#tasks-button")).to_be_focused()
