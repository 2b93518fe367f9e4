"""Settings, sharing, trash and branding in a real browser (Playwright, Debian's chromium).

Like test_web_browser.py: the suite's SQLite server, no console errors allowed,
screenshots of the new views in tests/artifacts/.
"""

from __future__ import annotations

import plistlib
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from calcard import accounts

from browser import (
    ZONE,
    log_in,
    open_settings,
    shoot,
    shoot_part,
    show_week_of,
    tomorrow_at_ten,
)
from helpers import code, enable_2fa, png, web_session

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
PROPFIND = {"Depth": "0"}


@contextmanager
def other_page(browser: Browser, server) -> Iterator[Page]:
    """A second, separate browser (another person), also failing on console errors."""
    context = browser.new_context(
        base_url=server.url, timezone_id=ZONE, viewport={"width": 1280, "height": 900}
    )
    second = context.new_page()
    errors: list[str] = []
    second.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    second.on("pageerror", lambda e: errors.append(str(e)))
    yield second
    context.close()
    assert errors == [], errors


def shows_image(page: Page, selector: str) -> bool:
    return page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")


def add_event(server, login: str, title: str) -> dict:
    start = tomorrow_at_ten()
    body = {
        "calendar": f"/{login}/calendar/",
        "title": title,
        "start": start.strftime("%Y-%m-%dT%H:%M"),
        "end": start.replace(hour=11).strftime("%Y-%m-%dT%H:%M"),
        "timezone": ZONE,
    }
    with server.client(login) as http:
        created = http.post("/api/event", json=body)
    assert created.status_code == 201, created.text
    return created.json()


def test_login_with_a_totp_code_as_second_step(page, server):
    login = server.user()
    secret = enable_2fa(server, login)
    log_in(page, login)
    expect(page.locator("#otp")).to_be_visible()
    expect(page.locator("#password")).to_be_hidden()
    expect(page.locator("#login-error")).to_be_hidden()
    shoot(page, "login-totp")
    page.fill("#otp", "000000" if code(secret, 1) != "000000" else "111111")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("wrong or expired two-factor code")
    expect(page.locator("#otp")).to_be_visible()
    page.fill("#otp", code(secret, 1))
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile("/web/$"))
    expect(page.locator(".fc-timegrid")).to_be_visible()
    page.errors.clear()  # the browser logs the refused steps' 401 answers as errors


def test_app_password_created_shown_once_used_over_dav_and_revoked(page, server):
    login = server.user()
    open_settings(page, login, "app-passwords")
    expect(page.locator("#no-app-passwords")).to_be_visible()
    page.fill("#app-password-form [name=label]", "Work laptop")
    page.click("#app-password-form button[type=submit]")
    secret = page.locator("#new-app-password-value")
    expect(secret).to_have_value(re.compile(r"^[a-z2-9]{6}(-[a-z2-9]{6}){3}$"))
    password = secret.input_value()
    expect(page.locator("#app-password-list tr", has_text="Work laptop")).to_have_count(1)
    shoot(page, "settings")
    with server.client(login, password) as dav:
        assert dav.request("PROPFIND", f"/{login}/", headers=PROPFIND).status_code == 207
    page.reload()
    row = page.locator("#app-password-list tr", has_text="Work laptop")
    expect(row).not_to_contain_text("never")  # its last use is shown
    expect(page.locator("#new-app-password")).to_be_hidden()  # shown once
    row.get_by_role("button", name="Revoke Work laptop").click()
    expect(page.locator("#app-password-status")).to_contain_text("Revoked")
    expect(row).to_have_count(0)
    with server.client(login, password) as dav:
        assert dav.request("PROPFIND", f"/{login}/", headers=PROPFIND).status_code == 401


def test_device_setup_qr_code_and_apple_profile_download(page, server):
    login = server.user()
    open_settings(page, login, "devices")
    expect(page.locator("#account-url")).to_have_text(f"{server.url}/{login}/")
    expect(page.locator("#account-qr")).to_be_visible()
    assert shows_image(page, "#account-qr")
    shoot_part(page, "#devices", "settings-devices")
    with page.expect_download() as waiting:
        page.click("#apple-profile")
    download = waiting.value
    assert download.suggested_filename == f"calcard-{login}.mobileconfig"
    profile = plistlib.loads(download.path().read_bytes())
    kinds = {p["PayloadType"]: p for p in profile["PayloadContent"]}
    assert set(kinds) == {"com.apple.caldav.account", "com.apple.carddav.account"}
    password = kinds["com.apple.caldav.account"]["CalDAVPassword"]
    with server.client(login, password) as dav:
        assert dav.request("PROPFIND", f"/{login}/", headers=PROPFIND).status_code == 207
    expect(page.locator("#apple-status")).to_contain_text("Profile downloaded")
    expect(page.locator("#app-password-list tr", has_text="Apple device profile")).to_have_count(1)


def test_two_factor_turned_on_with_the_qr_code_and_off_again(page, server):
    login = server.user()
    open_settings(page, login, "two-factor")
    expect(page.locator("#two-factor-state")).to_have_text("Two-factor authentication is off.")
    page.click("#two-factor-begin")
    expect(page.locator("#two-factor-qr")).to_be_visible()
    assert shows_image(page, "#two-factor-qr")
    secret = page.inner_text("#two-factor-secret")
    shoot_part(page, "#two-factor", "settings-2fa")
    page.fill("#two-factor-confirm [name=code]", code(secret))
    page.click("#two-factor-confirm button[type=submit]")
    expect(page.locator("#two-factor-state")).to_have_text("Two-factor authentication is on.")
    with server.client(login) as dav:  # the account password no longer works over DAV
        assert dav.request("PROPFIND", f"/{login}/", headers=PROPFIND).status_code == 401
    page.fill("#two-factor-disable [name=code]", code(secret, 1))
    page.click("#two-factor-disable button[type=submit]")
    expect(page.locator("#two-factor-state")).to_have_text("Two-factor authentication is off.")


def test_preferences_steer_the_calendar(page, server):
    login = server.user()
    with server.client(login) as http:
        assert http.request("MKCALENDAR", f"/{login}/work/").status_code == 201
    open_settings(page, login)
    form = "#preferences-form"
    page.select_option(f"{form} [name=week_start]", "1")  # English alone starts on Sunday
    page.select_option(f"{form} [name=default_calendar]", f"/{login}/work/")
    page.fill(f"{form} [name=chat_webhook]", "https://chat.example.org/hooks/1")
    page.fill(f"{form} [name=timezone]", "Mars/Olympus")
    page.click(f"{form} button[type=submit]")
    expect(page.locator("#preferences-status")).to_contain_text("unknown time zone")
    page.errors.clear()  # the browser logs the refusal's 400 as an error
    page.click("#use-browser-zone")
    expect(page.locator(f"{form} [name=timezone]")).to_have_value(ZONE)
    page.click(f"{form} button[type=submit]")
    expect(page.locator("#preferences-status")).to_have_text("Saved.")
    page.click("text=Back to the calendar")
    expect(page.locator(".fc-col-header-cell").first).to_contain_text("Mon")
    page.click("#new-event")
    expect(page.locator("#event-form [name=calendar]")).to_have_value(f"/{login}/work/")
    page.click("#cancel-event")


def test_share_a_calendar_who_then_sees_it_and_a_public_link(page, server, browser):
    owner, sharee = server.user(), server.user()
    add_event(server, owner, "Shared planning")
    log_in(page, owner)
    page.click("#share-button")
    dialog = page.locator("#share-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#share-collection")).to_have_value(f"/{owner}/calendar/")
    page.select_option("#share-kind", "user")
    page.fill("#share-name", "nobody-" + sharee)
    page.click("#share-form button[type=submit]")
    expect(page.locator("#share-status")).to_contain_text("no user")
    page.errors.clear()  # the browser logs the refusal's 404 as an error
    page.fill("#share-name", sharee)
    page.select_option("#share-access", "read")
    page.click("#share-form button[type=submit]")
    expect(page.locator("#share-list li", has_text=sharee)).to_have_count(1)

    page.select_option("#link-expiry", "7d")
    page.click("#create-link")
    url = page.locator("#link-url")
    expect(url).to_have_value(re.compile(r"/api/public/.+\.ics$"))
    feed = httpx.get(url.input_value())
    assert feed.status_code == 200 and "SUMMARY:Shared planning" in feed.text
    expect(page.locator("#link-list li")).to_have_count(1)
    expect(page.locator("#link-list li")).to_contain_text("expires")
    shoot(page, "share-dialog")

    with other_page(browser, server) as theirs:
        log_in(theirs, sharee)
        entry = theirs.locator("#calendar-list li", has_text="read-only")
        expect(entry).to_have_count(1)
        show_week_of(theirs, tomorrow_at_ten())
        expect(theirs.locator(".fc-event", has_text="Shared planning")).to_have_count(1)

    page.locator("#link-list li").get_by_role("button", name="Revoke").click()
    expect(page.locator("#link-list li")).to_have_count(0)
    assert httpx.get(url.input_value()).status_code == 404
    page.locator("#share-list li", has_text=sharee).get_by_role("button", name="Revoke").click()
    expect(page.locator("#share-list li")).to_have_count(0)
    with server.client(sharee) as http:
        assert [
            c for c in http.get("/api/calendars").json()["calendars"] if c["owner"] == owner
        ] == []


def test_deleted_event_restored_from_the_trash_page_and_a_clash_offers_choices(page, server):
    login = server.user()
    add_event(server, login, "Dentist")
    log_in(page, login)
    show_week_of(page, tomorrow_at_ten())
    page.locator(".fc-event", has_text="Dentist").click()
    page.click("#delete-event")
    expect(page.locator(".fc-event", has_text="Dentist")).to_have_count(0)

    page.click("text=Trash")
    expect(page).to_have_url(re.compile("/web/trash$"))
    row = page.locator("#trash-list tr", has_text="Dentist")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"/{login}/calendar/")
    expect(page.locator("#retention")).to_contain_text("30 days")
    shoot(page, "trash")
    row.get_by_role("button", name="Restore").click()
    expect(page.locator("#trash-status")).to_contain_text("Restored")
    expect(row).to_have_count(0)
    page.click("text=Back to the calendar")
    show_week_of(page, tomorrow_at_ten())
    expect(page.locator(".fc-event", has_text="Dentist")).to_have_count(1)

    # Deleted again, and its UID reused by a new event: the restore asks what to do.
    created = add_event(server, login, "Checkup")
    with server.client(login) as http:
        base = f"/{login}/calendar/"
        text = http.get(base + created["href"]).text
        assert http.delete(base + created["href"]).status_code == 200
        again = text.replace("SUMMARY:Checkup", "SUMMARY:Checkup (new)")
        put = http.put(
            base + "reused.ics", content=again, headers={"Content-Type": "text/calendar"}
        )
        assert put.status_code == 201
    page.goto("/web/trash")
    row = page.locator("#trash-list tr", has_text="Checkup")
    row.get_by_role("button", name="Restore").click()
    conflict = page.locator("#trash-list tr.conflict")
    expect(conflict).to_contain_text("in use again")
    page.errors.clear()  # the browser logs the 409 as an error
    shoot(page, "trash-conflict")
    conflict.get_by_role("button", name="Restore as a copy (new UID)").click()
    expect(page.locator("#trash-status")).to_contain_text("Restored")
    with server.client(login) as http:
        titles = [e["title"] for e in http.get("/api/events", params=_week(login)).json()["events"]]
    assert sorted(titles) == ["Checkup", "Checkup (new)", "Dentist"]


def _week(login: str) -> dict:
    start = tomorrow_at_ten().replace(hour=0)
    return {
        "calendar": f"/{login}/calendar/",
        "start": start.isoformat(),
        "end": start.replace(hour=23).isoformat(),
    }


def test_org_admin_sets_logo_and_colors_and_the_login_page_shows_them(page, server, browser):
    org = f"Acme {uuid.uuid4().hex[:6]}"
    with server.backend.db.transaction(write=True) as s:
        accounts.create_org(s, org, plan="team")
    admin = server.user("administrator", org=org)
    member = server.user("collaborator", org=org)
    open_settings(page, admin, "organization")
    expect(page.locator("#organization")).to_be_visible()
    page.fill("#colors-form [name=accent]", "#0f766e")
    page.fill("#colors-form [name=background]", "#fde68a")
    page.click("#colors-form button[type=submit]")
    expect(page.locator("#organization-status")).to_have_text("Colors saved.")
    page.set_input_files(
        "#logo-file", files=[{"name": "logo.png", "mimeType": "image/png", "buffer": png(120, 48)}]
    )
    expect(page.locator("#organization-status")).to_have_text("Logo saved.")
    expect(page.locator("#org-logo-preview")).to_be_visible()
    shoot_part(page, "#organization", "settings-organization")
    page.click("text=Back to the calendar")
    expect(page.locator(".topbar")).to_have_css("background-color", "rgb(253, 230, 138)")
    expect(page.locator(".topbar #org-logo")).to_be_visible()
    shoot(page, "app-branded")

    with other_page(browser, server) as visitor:
        visitor.goto(f"/web/login?org={org}")
        expect(visitor.locator("#org-name")).to_have_text(org)
        expect(visitor.locator("#org-logo")).to_be_visible()
        assert shows_image(visitor, "#org-logo")
        expect(visitor.locator("body")).to_have_css("background-color", "rgb(253, 230, 138)")
        submit = visitor.locator("button[type=submit]")
        expect(submit).to_have_css("background-color", "rgb(15, 118, 110)")
        shoot(visitor, "login-branded")

    http, _ = web_session(server, member)
    assert http.get("/api/me").json()["current_org"] == org
    with other_page(browser, server) as colleague:
        open_settings(colleague, member)
        expect(colleague.locator("#organization")).to_be_hidden()  # not an administrator
        expect(colleague.locator(".topbar #org-logo")).to_be_visible()
        colleague.goto("/web/contacts")
        expect(colleague.locator("#logout")).to_be_enabled()
        expect(colleague.locator(".topbar")).to_have_css("background-color", "rgb(253, 230, 138)")
        colleague.click("#logout")  # back to the organization's own login page
        expect(colleague).to_have_url(re.compile(r"/web/login\?org=Acme%20[0-9a-f]{6}$"))
        expect(colleague.locator("#org-logo")).to_be_visible()


def test_settings_trash_and_sharing_on_a_phone(page, server):
    login = server.user()
    created = add_event(server, login, "Gone")
    with server.client(login) as http:
        assert http.delete(f"/{login}/calendar/{created['href']}").status_code == 200
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, login)
    expect(page).to_have_url(re.compile("/web/$"))
    page.goto("/web/settings")
    expect(page.locator("body.ready")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "settings-phone")
    page.goto("/web/trash")
    expect(page.locator("#trash-list tr", has_text="Gone")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "trash-phone")
    page.goto("/web/")
    expect(page.locator(".fc-list, .fc-list-empty").first).to_be_visible()  # the app started
    page.click("#menu-button")
    page.click("#share-button")
    expect(page.locator("#share-dialog")).to_be_visible()
    page.keyboard.press("Escape")  # keyboard: the dialog closes
    expect(page.locator("#share-dialog")).to_be_hidden()
    page.click("#share-button")
    expect(page.locator("#link-list")).to_be_attached()
    shoot(page, "share-phone")


def test_invitations_are_answered_and_a_new_address_waits_for_verification(page, server):
    """Issue 14: membership by consent and verified addresses, on the settings page."""
    login = server.user()
    boss = server.user("legal-representative")
    inviting = [f"org-{boss}"]
    other_boss = server.user("legal-representative")
    inviting.append(f"org-{other_boss}")
    for manager, org in ((boss, inviting[0]), (other_boss, inviting[1])):
        with server.client(manager) as http:
            response = http.post(
                f"/api/orgs/{org}/members", json={"login": login, "role": "external"}
            )
            assert response.status_code == 201 and response.json()["status"] == "pending"
    open_settings(page, login)
    items = page.locator("#invitation-list li")
    expect(items).to_have_count(2)
    items.filter(has_text=inviting[0]).locator("text=Accept").click()
    expect(page.locator("#invitations-status")).to_contain_text(f"member of {inviting[0]}")
    items.filter(has_text=inviting[1]).locator("text=Decline").click()
    expect(page.locator("#invitations-status")).to_contain_text("declined")
    expect(page.locator("#invitations")).to_be_hidden()
    with server.client(login) as http:
        orgs = {o["org"] for o in http.get("/api/me").json()["organizations"]}
    assert inviting[0] in orgs and inviting[1] not in orgs
    form = "#preferences-form"
    page.fill(f"{form} [name=email]", f"neu.{login}@example.org")
    page.click(f"{form} button[type=submit]")
    expect(page.locator("#preferences-status")).to_contain_text("Open the link mailed")
    expect(page.locator("#email-pending-address")).to_have_text(f"neu.{login}@example.org")
    expect(page.locator(f"{form} [name=email]")).to_have_value(f"{login}@example.com")
    shoot_part(page, "#preferences", "settings-email-pending")
