"""The web calendar in a real browser: Playwright driving Debian's chromium.

Runs against the suite's `calcard serve` on SQLite (the server side is the
same code on PostgreSQL, tested in test_web_api.py). Screenshots of the main
views go to tests/artifacts/ for a human to look at; every page must finish
without console errors.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from calcard.core.models import Notification

from browser import ZONE, log_in, shoot, show_week_of, tomorrow_at_ten
from conftest import PASSWORD

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_wrong_password_then_log_in_and_out(page, server):
    login = server.user()
    log_in(page, login, "not the password")
    expect(page.locator("#login-error")).to_have_text("wrong login or password")
    page.errors.clear()  # the browser logs the 401 of the refused login as an error
    shoot(page, "login-refused")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile("/web/$"))
    expect(page.locator(".fc-timegrid")).to_be_visible()
    page.click("#logout")
    expect(page).to_have_url(re.compile("/web/login$"))
    page.goto("/web/")
    expect(page).to_have_url(re.compile("/web/login$"))


def create_weekly_event(page: Page, start: datetime) -> None:
    page.click("#new-event")
    dialog = page.locator("#event-dialog")
    expect(dialog).to_be_visible()
    page.fill("#event-form [name=title]", "Team sync")
    page.fill("#event-form [name=start]", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#event-form [name=end]", (start + timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M"))
    page.select_option("#event-form [name=freq]", "WEEKLY")
    page.check(
        f"#weekdays input[value={('MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU')[start.weekday()]}]"
    )
    page.select_option("#event-form [name=ends]", "count")
    page.fill("#event-form [name=count]", "4")
    page.click("#add-alarm")
    page.select_option("#alarm-list [name=alarm-minutes]", "15")
    page.select_option("#alarm-list [name=alarm-repeat]", "hourly")
    shoot(page, "event-form")
    page.click("#save-event")
    expect(dialog).to_be_hidden()


def test_weekly_event_with_reminder_in_week_and_month_and_one_occurrence_edited(page, server):
    login = server.user()
    start = tomorrow_at_ten()
    log_in(page, login)
    create_weekly_event(page, start)
    show_week_of(page, start)
    expect(page.locator(".fc-event", has_text="Team sync")).to_have_count(1)
    shoot(page, "week")

    reminders = server.client(login).get("/api/reminders").json()["reminders"]
    assert {(r["title"], r["repeat"]) for r in reminders} == {("Team sync", "hourly")}

    page.click(".fc-dayGridMonth-button")
    # The month of the second occurrence shows at least two, whatever the date today
    # (the month of the first may end before the second: Nov 30 with a grid to Dec 6).
    month = (start + timedelta(days=7)).strftime("%B %Y")
    if page.inner_text(".fc-toolbar-title") != month:
        page.click(".fc-next-button")
    expect(page.locator(".fc-toolbar-title")).to_have_text(month)
    in_month = page.locator(".fc-event", has_text="Team sync")
    # The month view first shows the week's cached occurrence, then the month's fetch:
    # count once a second one is there.
    expect(in_month.nth(1)).to_be_visible()
    occurrences = in_month.count()
    shoot(page, "month")

    in_month.nth(1).click()
    expect(page.locator("#scope-fields")).to_be_visible()
    page.check("#scope-fields input[value=occurrence]")
    page.fill("#event-form [name=title]", "Team sync (moved)")
    page.click("#save-event")
    expect(page.locator(".fc-event", has_text="Team sync (moved)")).to_have_count(1)
    expect(in_month).to_have_count(occurrences)
    page.click(".fc-listWeek-button")
    shoot(page, "list")

    page.click(".fc-dayGridMonth-button")
    page.emulate_media(media="print")
    expect(page.locator("#sidebar")).to_be_hidden()
    expect(page.locator(".fc-daygrid")).to_be_visible()
    shoot(page, "print-month")
    page.emulate_media(media="screen")
    show_week_of(page, start)
    page.emulate_media(media="print")
    expect(page.locator(".fc-timegrid")).to_be_visible()
    shoot(page, "print-week")


def test_reminder_notification_shows_and_stops(page, server):
    login = server.user()
    log_in(page, login)
    create_weekly_event(page, tomorrow_at_ten())
    reminder = server.client(login).get("/api/reminders").json()["reminders"][0]
    page.wait_for_timeout(500)  # the stream is open once the page has settled
    with server.backend.db.transaction(write=True) as s:
        s.add(
            Notification(
                owner=login, reminder_id=reminder["id"], title="Team sync", body="at 10:00"
            )
        )
    toast = page.locator(".toast", has_text="Team sync")
    expect(toast).to_be_visible(timeout=10_000)
    shoot(page, "notification")
    toast.get_by_role("button", name="Stop").click()
    expect(toast).to_be_hidden()
    stopped = server.client(login).get("/api/reminders?status=stopped").json()["reminders"]
    assert reminder["id"] in {r["id"] for r in stopped}  # with its chat twin


def test_slot_finder_marks_unknown_participants(page, server):
    login, colleague = server.user(), server.user()
    log_in(page, login)
    page.click("#new-event")
    page.fill("#event-form [name=title]", "Planning")
    page.fill("#event-form [name=attendees]", f"{colleague}, stranger@example.org")
    page.click("#find-time")
    expect(page.locator("#find-result")).to_contain_text("Everyone is free")
    marks = page.locator("#participant-list .unknown")
    expect(marks).to_have_count(2)  # a colleague who shares nothing is unknown too
    assert marks.first.get_attribute("title")
    assert page.input_value("#event-form [name=start]")
    shoot(page, "slot-finder")
    page.click("#cancel-event")


def test_birthday_overlay_toggles(page, server):
    login = server.user()
    today = datetime.now(ZoneInfo(ZONE)).date()
    card = "\r\n".join(
        [
            "BEGIN:VCARD",
            "VERSION:3.0",
            "UID:ada",
            "FN:Ada Lovelace",
            "N:Lovelace;Ada;;;",
            f"BDAY:1990{today:%m%d}",
            "END:VCARD",
            "",
        ]
    )
    put = server.client(login).put(f"/{login}/contacts/ada.vcf", content=card)
    assert put.status_code == 201
    log_in(page, login)
    page.click(".fc-dayGridMonth-button")
    birthday = page.locator(".fc-event", has_text="Ada Lovelace")
    expect(birthday).to_have_count(1)
    page.uncheck("#show-birthdays")
    expect(birthday).to_have_count(0)
    page.check("#show-birthdays")
    expect(birthday).to_have_count(1)


def test_phone_layout(page, server):
    login = server.user()
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, login)
    expect(page.locator(".fc-list, .fc-list-empty").first).to_be_visible()
    expect(page.locator("#sidebar")).not_to_be_in_viewport()
    shoot(page, "phone")
    page.click("#menu-button")
    expect(page.locator("#sidebar")).to_be_in_viewport(ratio=1)
    page.wait_for_timeout(300)  # the slide-in transition
    shoot(page, "phone-menu")
