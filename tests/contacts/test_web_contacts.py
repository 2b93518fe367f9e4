"""The contacts page, import with a progress bar, export and the service worker, in chromium.

Shares the browser fixtures of test_web_browser.py (console errors fail a test);
screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest
import vobject
from playwright.sync_api import Page, expect

from browser import log_in, shoot
from helpers import many_events

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
IMPORT_PATIENCE_MS = 900_000  # a loaded shared machine may be slow; not a speed requirement


def open_contacts(page: Page, login: str) -> None:
    log_in(page, login)
    expect(page).to_have_url(re.compile("/web/$"))
    page.click("nav.views >> text=Contacts")
    expect(page).to_have_url(re.compile("/web/contacts$"))
    expect(page.locator("#new-contact")).to_be_enabled()


def rows(page: Page):
    return page.locator("#contact-list .contact-row")


def new_contact(page: Page, given: str, family: str, email: str, phone: str = "") -> None:
    page.click("#new-contact")
    expect(page.locator("#contact-dialog")).to_be_visible()
    page.fill("#contact-form [name=given]", given)
    page.fill("#contact-form [name=family]", family)
    page.fill("#email-list li:first-child input", email)
    if phone:
        page.fill("#phone-list li:first-child input", phone)
    page.click("#save-contact")
    expect(page.locator("#contact-dialog")).to_be_hidden()


def test_contacts_create_search_edit_group_merge_and_delete(page, server):
    login = server.user()
    book = f"/{login}/contacts/"
    open_contacts(page, login)
    expect(page.locator("#contact-count")).to_have_text("No contacts yet.")

    page.click("#new-contact")
    page.fill("#contact-form [name=given]", "Zoé")
    page.fill("#contact-form [name=family]", "Brunner")
    expect(page.locator("#contact-form [name=name]")).to_have_value("Zoé Brunner")
    page.fill("#email-list li:first-child input", "zoe@brunner-ag.example")
    page.select_option("#email-list li:first-child select", "work")
    page.fill("#phone-list li:first-child input", "+41 79 123 45 67")
    page.fill("#contact-form [name=org]", "Brunner AG")
    page.fill("#contact-form [name=city]", "Zürich")
    page.fill("#contact-form [name=birthday]", "1984-02-29")
    shoot(page, "contact-form")
    page.click("#save-contact")
    expect(page.locator("#contact-dialog")).to_be_hidden()
    new_contact(page, "Max", "Muster", "max@example.org", "044 555 66 77")
    expect(rows(page)).to_have_count(2)
    expect(page.locator("#contact-count")).to_have_text("2 contacts")
    shoot(page, "contacts")

    page.fill("#contact-search", "brunner ag")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Zoé Brunner")
    page.fill("#contact-search", "0445556677")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Max Muster")
    page.fill("#contact-search", "nobody at all")
    expect(page.locator("#contact-count")).to_have_text("No contact matches.")
    page.fill("#contact-search", "")
    expect(rows(page)).to_have_count(2)

    rows(page).filter(has_text="Zoé").click()
    expect(page.locator("#contact-form [name=org]")).to_have_value("Brunner AG")
    page.fill("#contact-form [name=org]", "Brunner Holding")
    page.click("#add-email")
    page.fill("#email-list li:nth-child(2) input", "zoe@home.example")
    page.select_option("#email-list li:nth-child(2) select", "home")
    page.click("#save-contact")
    expect(rows(page).filter(has_text="Zoé")).to_contain_text("Brunner Holding")
    with server.client(login) as http:
        found = http.get("/api/contacts", params={"addressbook": book, "q": "zoé"})
        (zoe,) = found.json()["contacts"]
        card = vobject.readOne(http.get(book + zoe["href"]).text)  # as a CardDAV client sees it
    assert sorted(e.value for e in card.contents["email"]) == [
        "zoe@brunner-ag.example",
        "zoe@home.example",
    ]
    assert card.org.value == ["Brunner Holding"] and card.bday.value == "1984-02-29"

    page.click("#new-group")
    page.fill("#group-form [name=name]", "Board")
    page.click("#save-group")
    board = page.locator(".group-filter", has_text="Board")
    expect(board).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#contact-count")).to_have_text("No contact matches.")
    page.click(".group-filter >> text=All contacts")
    rows(page).filter(has_text="Zoé").click()
    page.check("#group-choices input")
    page.click("#save-contact")
    expect(board.locator(".count")).to_have_text("1")
    board.click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Zoé Brunner")
    shoot(page, "contacts-group")
    page.click(".group-filter >> text=All contacts")

    with server.client(login) as http:  # a phone adds the same person again
        twin = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:twin\r\nFN:Zoe Brunner\r\nN:Brunner;Zoe;;;\r\n"
        twin += "EMAIL:ZOE@brunner-ag.example\r\nTEL:+41 44 000 11 22\r\nEND:VCARD\r\n"
        assert http.put(book + "twin.vcf", content=twin.encode()).status_code == 201
    page.reload()
    expect(rows(page)).to_have_count(3)
    page.click("#show-duplicates")
    duplicates = page.locator("#duplicate-list li")
    expect(duplicates).to_have_count(1)
    expect(duplicates.first).to_contain_text("e-mail zoe@brunner-ag.example")
    shoot(page, "contacts-duplicates")
    duplicates.first.locator("button", has_text="Keep Zoé Brunner").click()
    expect(page.locator("#duplicate-list")).to_contain_text("No duplicates found.")
    expect(rows(page)).to_have_count(2)
    page.click("#close-duplicates")
    page.locator(".toast", has_text="Merged into").locator("button", has_text="Undo").click()
    expect(rows(page)).to_have_count(3)

    page.once("dialog", lambda dialog: dialog.accept())
    rows(page).filter(has_text="Max").click()
    page.click("#delete-contact")
    expect(rows(page)).to_have_count(2)
    expect(rows(page).filter(has_text="Max")).to_have_count(0)
    with server.client(login) as http:
        trash = http.get("/api/trash").json()["trash"]
    assert [t["title"] for t in trash if t["kind"] == "vcard"] == ["Max Muster"]

    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#menu-button")).to_be_visible()
    expect(page.locator("#sidebar")).not_to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out
    shoot(page, "contacts-phone")
    page.click("#menu-button")
    expect(page.locator("#sidebar")).to_be_in_viewport(ratio=1)
    shoot(page, "contacts-phone-menu")


def test_import_thousands_with_progress_then_export_a_calendar(page, server, tmp_path):
    login = server.user()
    big = tmp_path / "big.ics"
    big.write_text(many_events(2000))
    log_in(page, login)
    expect(page.locator(".fc-timegrid")).to_be_visible()
    page.click("#open-transfer")
    dialog = page.locator("#transfer-dialog")
    expect(dialog).to_be_visible()
    page.set_input_files("#import-file", str(big))
    expect(page.locator("#import-target")).to_have_value(f"/{login}/calendar/")
    page.click("#import-start")
    expect(page.locator("#import-bar")).to_be_visible()
    status = page.locator("#import-status")
    moving = re.compile(r"^(Importing big\.ics: [1-9]|Done)")  # a fast machine may skip ahead
    expect(status).to_have_text(moving, timeout=IMPORT_PATIENCE_MS)
    shoot(page, "import-progress")
    expect(status).to_have_text(re.compile("^Done"), timeout=IMPORT_PATIENCE_MS)
    expect(page.locator("#import-bar")).to_have_js_property("value", 100)
    expect(page.locator("#import-summary")).to_have_text(
        "big.ics: 1,998 added, 0 updated, 2 skipped."
    )
    page.click("#transfer-dialog summary")
    expect(page.locator("#import-skipped li")).to_have_count(2)
    expect(page.locator("#import-skipped li").first).to_contain_text("bulk-10")
    shoot(page, "import-done")

    page.select_option("#export-source", f"/{login}/calendar/")
    with page.expect_download() as started:
        page.click("#export-link")
    download = started.value
    assert download.suggested_filename.endswith(".ics")
    exported = open(download.path(), encoding="utf-8").read()
    assert exported.count("BEGIN:VEVENT") == 1998 and "SUMMARY:Event 1999" in exported
    page.click("#transfer-close")
    expect(dialog).to_be_hidden()


def test_service_worker_caches_the_shell_and_never_the_api(page, server):
    login = server.user()
    log_in(page, login)
    expect(page.locator(".fc-timegrid")).to_be_visible()
    state = page.evaluate("navigator.serviceWorker.ready.then(r => r.active.state)")
    assert state in ("activating", "activated")
    page.reload()
    expect(page.locator(".fc-timegrid")).to_be_visible()
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    cached = page.evaluate(
        """async () => {
            const urls = [];
            for (const key of await caches.keys()) {
                const cache = await caches.open(key);
                urls.push(...(await cache.keys()).map((r) => new URL(r.url).pathname));
            }
            return urls;
        }"""
    )
    assert "/web/static/pages/app.js" in cached and "/web/static/pages/contacts.js" in cached
    assert "/web/vendor/fullcalendar/index.global.min.js" in cached
    assert "/web/manifest/de.webmanifest" in cached  # the installed app's, in every language
    assert all(re.match("^/web/(static|vendor|i18n|manifest)/", url) for url in cached), cached
    page.click("#logout")
    expect(page).to_have_url(re.compile("/web/login$"))
    page.goto("/web/contacts")  # the controlled page must not come from any cache
    expect(page).to_have_url(re.compile("/web/login$"))


def test_worker_script_is_versioned_and_pages_allow_it(server):
    worker = httpx.get(server.url + "/web/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    assert "__VERSION__" not in worker.text and "__SHELL__" not in worker.text
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", worker.text).group(1))
    assert "/web/static/pages/contacts.js" in shell and "/web/static/sw.js" not in shell
    assert all(re.match("^/web/(static|vendor|i18n|manifest)/", url) for url in shell), shell
    assert "/web/manifest/en.webmanifest" in shell and "/web/manifest/fr.webmanifest" in shell
    assert "/web/i18n/de.json" in shell and "/web/i18n/en.json" not in shell  # English: none
    login_page = httpx.get(server.url + "/web/login")
    assert "worker-src 'self'" in login_page.headers["content-security-policy"]
    contacts_page = httpx.get(server.url + "/web/contacts", follow_redirects=False)
    assert contacts_page.status_code == 303 and contacts_page.headers["location"] == "/web/login"
