"""Browser fixtures and page helpers shared by the test_web_* modules (a pytest plugin,
loaded by conftest.py's ``pytest_plugins``).

Playwright drives Debian's chromium; every page fails its test on a console error.
Screenshots go to tests/artifacts/ for a human to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ZONE = "Europe/Zurich"
# Chromium has no push service in a Playwright context (it logs an error for the Push API in
# incognito), so pages get a PushManager that declines; test_web_push installs one that works.
NO_PUSH = """Object.defineProperty(ServiceWorkerRegistration.prototype, "pushManager", {
  configurable: true,
  get: () => ({
    getSubscription: async () => null,
    subscribe: async () => { throw new DOMException("no push service in tests", "AbortError"); },
  }),
});"""
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server) -> Iterator[Page]:
    yield from browser_page(browser, server, ZONE)


def browser_page(
    browser: Browser, server, timezone_id: str, locale: str = "en-US"
) -> Iterator[Page]:
    """A fresh browser context on the server, its clock in ``timezone_id`` and its
    language (Accept-Language, navigator.language) ``locale``; fails the test on any
    console error."""
    context = browser.new_context(
        base_url=server.url,
        timezone_id=timezone_id,
        locale=locale,
        viewport={"width": 1280, "height": 900},
    )
    context.grant_permissions(["notifications"], origin=server.url)
    context.add_init_script(NO_PUSH)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()
    assert errors == [], errors


def log_in(page: Page, login: str, password: str = PASSWORD) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile("/web/login$"))
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit]")


def shoot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def shoot_part(page: Page, selector: str, name: str) -> None:
    """A screenshot of one part of the page."""
    page.locator(selector).screenshot(path=str(ARTIFACTS / f"{name}.png"))


def tomorrow_at_ten() -> datetime:
    return (datetime.now(ZoneInfo(ZONE)) + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )


def week_of(day: date, week_start: int = 0) -> date:
    """The first day of ``day``'s week when weeks start on ``week_start`` (0 = Sunday, as
    FullCalendar's firstDay; English pages start on Sunday unless the user chose)."""
    return day - timedelta(days=(day.isoweekday() - week_start) % 7)


def show_week_of(page: Page, day: datetime, week_start: int = 0) -> None:
    """Week view of ``day`` (the week of an English page: from Sunday)."""
    page.click(".fc-timeGridWeek-button")
    today = datetime.now(ZoneInfo(ZONE)).date()
    if week_of(day.date(), week_start) > week_of(today, week_start):
        page.click(".fc-next-button")


def open_settings(page: Page, login: str, section: str = "") -> None:
    log_in(page, login)
    expect(page).to_have_url(re.compile("/web/$"))
    page.click("text=Settings")
    expect(page).to_have_url(re.compile("/web/settings$"))
    expect(page.locator("body.ready")).to_have_count(1)
    if section:
        page.locator(f"#{section}").scroll_into_view_if_needed()
