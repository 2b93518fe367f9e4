"""The web calendar in the reader's language (issue 20): the catalog served to the browser,
``<html lang>`` chosen by setting or Accept-Language, the language preference and its
guards, and the pages in German and French in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from calcard import accounts

from browser import ZONE, browser_page, log_in
from conftest import PASSWORD
from helpers import set_language, web_session

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
CSRF = "X-CSRF-Token"
UNREACHABLE_DE = (
    "Der Server ist nicht erreichbar. Prüfen Sie die Verbindung und versuchen Sie es erneut."
)


def html_lang(text: str) -> str:
    found = re.search(r'<html lang="([^"]+)">', text)
    assert found, text[:200]
    return found.group(1)


def test_the_catalog_is_served_per_language(server):
    import httpx

    with httpx.Client(base_url=server.url, timeout=30) as http:
        german = http.get("/web/i18n/de.json")
        assert german.status_code == 200
        assert german.json()["New event"] == "Neuer Termin"
        assert http.get("/web/i18n/fr.json").json()["Save"] == "Enregistrer"
        assert http.get("/web/i18n/en.json").json() == {}
        assert http.get("/web/i18n/xx.json").status_code == 404


def test_login_page_follows_accept_language_and_falls_back_to_english(server):
    import httpx

    with httpx.Client(base_url=server.url, timeout=30) as http:
        for header, language in (
            ("de-CH,de;q=0.9,en;q=0.5", "de"),
            ("fr-FR", "fr"),
            ("ja,ko;q=0.8", "en"),
            ("", "en"),
        ):
            page = http.get("/web/login", headers={"Accept-Language": header})
            assert html_lang(page.text) == language, header


def test_signed_in_pages_follow_the_users_setting_over_the_browser(server):
    login = server.user()
    http, _ = web_session(server, login)
    assert html_lang(http.get("/web/", headers={"Accept-Language": "it"}).text) == "it"
    set_language(server, login, "de")
    for page in ("/web/", "/web/settings", "/web/contacts", "/web/trash"):
        answer = http.get(page, headers={"Accept-Language": "it"})
        assert html_lang(answer.text) == "de", page


def test_language_preference_is_validated_and_only_the_user_sets_it(server):
    login = server.user()
    http, csrf = web_session(server, login)
    refused = http.patch("/api/me/preferences", json={"language": "xx"}, headers={CSRF: csrf})
    assert refused.status_code == 400, refused.text
    assert http.get("/api/me/preferences").json()["language"] == ""
    saved = http.patch("/api/me/preferences", json={"language": "fr"}, headers={CSRF: csrf})
    assert saved.status_code == 200 and saved.json()["language"] == "fr"
    # An app password is a device credential: it may not change preferences.
    created = http.post("/api/me/app-passwords", json={"label": "phone"}, headers={CSRF: csrf})
    assert created.status_code == 201, created.text
    app_password = created.json()["password"]
    with server.client(login, app_password) as device:
        assert device.patch("/api/me/preferences", json={"language": "de"}).status_code == 403
    # Another user changes only their own language.
    other = server.user()
    with server.client(other) as http:
        assert http.patch("/api/me/preferences", json={"language": "de"}).status_code == 200
    with server.backend.db.transaction() as s:
        assert accounts.language(s, login) == "fr"
    # Automatic again: the browser decides.
    http, csrf = web_session(server, login)
    cleared = http.patch("/api/me/preferences", json={"language": ""}, headers={CSRF: csrf})
    assert cleared.json()["language"] == ""
    assert html_lang(http.get("/web/", headers={"Accept-Language": "es"}).text) == "es"


@pytest.mark.parametrize(
    ("locale", "log_in_text", "password_text"),
    [("de-DE", "Anmelden", "Passwort"), ("fr-FR", "Se connecter", "Mot de passe")],
)
def test_login_page_in_the_browsers_language(browser, server, locale, log_in_text, password_text):
    for page in browser_page(browser, server, ZONE, locale=locale):
        page.goto("/web/login")
        expect(page.locator("html")).to_have_attribute("lang", locale[:2])
        expect(page.locator("button[type=submit]")).to_have_text(log_in_text)
        expect(page.locator("#password-step")).to_contain_text(password_text)


@pytest.mark.parametrize(
    ("language", "week", "monday", "new_event", "cancel"),
    [
        ("de", "Woche", "Mo", "Neuer Termin", "Abbrechen"),
        ("fr", "Semaine", "lun.", "Nouvel événement", "Annuler"),
    ],
)
def test_calendar_in_the_users_language(browser, server, language, week, monday, new_event, cancel):
    login = server.user()
    set_language(server, login, language)
    for page in browser_page(browser, server, ZONE):  # the browser asks for English
        log_in(page, login, PASSWORD)
        expect(page).to_have_url(re.compile("/web/$"))
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.locator(".fc-timeGridWeek-button")).to_have_text(week)
        expect(page.locator(".fc-col-header").first).to_contain_text(monday)
        expect(page.locator("#tasks-button")).not_to_have_text("Tasks")
        page.click("#new-event")
        expect(page.locator("#event-dialog-title")).to_have_text(new_event)
        expect(page.locator("#cancel-event")).to_have_text(cancel)


def test_choosing_a_language_in_settings_reloads_the_page_in_it(page, server):
    login = server.user()
    log_in(page, login, PASSWORD)
    expect(page).to_have_url(re.compile("/web/$"))
    page.goto("/web/settings")
    expect(page.locator("#preferences-title")).to_have_text("Preferences")
    expect(page.locator("#preferences-form [name=timezone]")).not_to_have_value("")  # loaded
    page.select_option("#preferences-form [name=language]", "de")
    page.click("#preferences-form button[type=submit]")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#preferences-title")).to_have_text("Persönliche Einstellungen")
    expect(page.locator("#preferences-form [name=language]")).to_have_value("de")
    with server.backend.db.transaction() as s:
        assert accounts.get_settings(s, login)["language"] == "de"


def test_dates_and_numbers_follow_the_users_language_not_the_browsers(browser, server):
    login = server.user()
    set_language(server, login, "de")
    with server.backend.db.transaction(write=True, owners=[login]) as s:
        accounts.add_app_password(s, login, "phone")
    for page in browser_page(browser, server, ZONE):  # an English browser (en-US)
        log_in(page, login, PASSWORD)
        expect(page).to_have_url(re.compile("/web/$"))
        page.goto("/web/settings")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        created = page.locator("#app-password-list tr td").nth(1)
        # German order and clock (CLDR "medium"): 02.12.2026, 19:45, not Dec 2, 2026, 7:45 PM
        expect(created).to_have_text(re.compile(r"^\d\d\.\d\d\.\d{4}, \d\d:\d\d$"))
        written = page.evaluate(
            """async () => {
              const format = await import("/web/static/lib/format.js");
              const day = new Date("2026-12-02T12:00:00Z");
              return [format.dateTime(day, { dateStyle: "full", timeZone: "UTC" }),
                      format.number(12345.5)];
            }"""
        )
        assert written == ["Mittwoch, 2. Dezember 2026", "12.345,5"]


def handing_over(html: str, headers: dict[str, str]):
    """A route handler that answers with this page (its headers, the CSP too)."""
    return lambda route: route.fulfill(body=html, content_type="text/html", headers=headers)


def test_offline_the_page_keeps_its_language_from_the_workers_cache(browser, server):
    login = server.user()
    set_language(server, login, "de")
    for page in browser_page(browser, server, ZONE):
        log_in(page, login, PASSWORD)
        expect(page).to_have_url(re.compile("/web/$"))
        expect(page.locator(".settings-link")).to_have_text("Einstellungen")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.reload()  # now the worker controls the page
        expect(page.locator(".settings-link")).to_have_text("Einstellungen")
        assert page.evaluate("navigator.serviceWorker.controller !== null")
        answer = page.context.request.get(server.url + "/web/")
        # Pages never come from the worker: the test hands the page over itself, as if it
        # had arrived just before the network went; everything else must come from cache.
        page.route(
            re.compile(r"/web/$"),
            handing_over(answer.text(), answer.headers),
        )
        page.context.set_offline(True)
        page.reload()
        expect(page.locator("html")).to_have_attribute("lang", "de")
        expect(page.locator(".settings-link")).to_have_text("Einstellungen")
        expect(page.locator("#new-calendar")).to_have_attribute("title", "Neuer Kalender")
        failed = page.evaluate(
            """async () => {
              const { api } = await import("/web/static/lib/api.js");
              return api("GET", "/api/me").then(() => "answered", (failure) => failure.message);
            }"""
        )
        assert failed.startswith("Der Server ist nicht erreichbar."), failed
        page.errors.clear()  # the calendar's API calls fail offline, as they should


def test_the_week_starts_as_the_language_starts_it_until_the_user_chooses(browser, server):
    english, german = server.user(), server.user()
    set_language(server, german, "de")
    first_day = ".fc-col-header-cell >> nth=0"
    first_box = "#weekdays input >> nth=0"  # the event form's repeat-on weekdays
    for page in browser_page(browser, server, ZONE):  # an English browser (en-US)
        log_in(page, german, PASSWORD)
        expect(page.locator(first_day)).to_contain_text("Mo")
        expect(page.locator(first_box)).to_have_attribute("value", "MO")
    for page in browser_page(browser, server, ZONE):
        log_in(page, english, PASSWORD)
        expect(page.locator(first_day)).to_contain_text("Sun")  # English (US) weeks
        expect(page.locator(first_box)).to_have_attribute("value", "SU")
        page.goto("/web/settings")
        form = "#preferences-form"
        expect(page.locator(f"{form} [name=timezone]")).not_to_have_value("")  # loaded
        expect(page.locator(f"{form} [name=week_start]")).to_have_value("")  # automatic
        page.select_option(f"{form} [name=week_start]", "1")
        page.click(f"{form} button[type=submit]")
        expect(page.locator("#preferences-status")).to_have_text("Saved.")
        page.goto("/web/")
        expect(page.locator(first_day)).to_contain_text("Mon")  # the choice wins
        expect(page.locator(first_box)).to_have_attribute("value", "MO")
        page.goto("/web/settings")
        expect(page.locator(f"{form} [name=week_start]")).to_have_value("1")
        page.select_option(f"{form} [name=week_start]", "")  # automatic again
        page.click(f"{form} button[type=submit]")
        expect(page.locator("#preferences-status")).to_have_text("Saved.")
        page.goto("/web/")
        expect(page.locator(first_day)).to_contain_text("Sun")
    with server.backend.db.transaction() as s:
        assert accounts.get_settings(s, english)["week_start"] is None


def test_image_texts_and_a_new_holiday_calendars_name_in_the_users_language(browser, server):
    login = server.user()
    set_language(server, login, "de")
    for page in browser_page(browser, server, ZONE):  # an English browser (en-US)
        log_in(page, login, PASSWORD)
        expect(page).to_have_url(re.compile("/web/$"))
        page.select_option("#holiday-country", "CH")
        expect(page.locator("#holiday-country option:checked")).to_have_text("Schweiz")
        page.click("#subscribe-holidays")
        # Named as its German reader would name it (phones show the name too).
        expect(page.locator("#calendar-list li", has_text="Feiertage: Schweiz")).to_have_count(1)
        page.goto("/web/settings")
        expect(page.locator("#account-qr")).to_have_attribute("alt", "QR-Code Ihrer Konto-URL")
        expect(page.locator("#two-factor-qr")).to_have_attribute(
            "alt", "QR-Code des Zwei-Faktor-Schlüssels"
        )
        expect(page.locator("#org-logo-preview")).to_have_attribute("alt", "Aktuelles Logo")


def test_the_web_app_manifest_is_in_the_pages_language(server):
    import httpx

    with httpx.Client(base_url=server.url, timeout=30) as http:
        page = http.get("/web/login", headers={"Accept-Language": "fr-CH, en;q=0.5"})
        link = re.search(r'<link rel="manifest" href="([^"]+)"', page.text)
        assert link and link.group(1) == "/web/manifest/fr.webmanifest"
        french = http.get(link.group(1))
        assert french.headers["content-type"].startswith("application/manifest+json")
        assert french.json()["lang"] == "fr"
        assert french.json()["description"] == "Calendrier et contacts de votre organisation"
        english = http.get("/web/manifest/en.webmanifest").json()
        assert english["description"] == "Calendar and contacts of your organization"
        assert {k: v for k, v in french.json().items() if k not in ("lang", "description")} == {
            k: v for k, v in english.items() if k not in ("lang", "description")
        }
        assert english["start_url"] == "/web/" and english["icons"]
        assert http.get("/web/manifest/xx.webmanifest").status_code == 404


def test_the_import_dialog_reports_in_the_users_language_even_a_bare_server_error(
    browser, server, tmp_path
):
    login = server.user()
    set_language(server, login, "de")
    broken = tmp_path / "kaputt.ics"
    broken.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:fine\r\nDTSTART:20260301T090000Z\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nDTSTART:20260302T090000Z\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:cut\r\nDTSTART:20260306T090000Z\r\n"
    )
    for page in browser_page(browser, server, ZONE):  # an English browser (en-US)
        log_in(page, login, PASSWORD)
        expect(page).to_have_url(re.compile("/web/$"))
        page.click("#open-transfer")
        page.set_input_files("#import-file", str(broken))
        page.click("#import-start")
        expect(page.locator("#import-summary")).to_have_text(
            "kaputt.ics: 1 hinzugefügt, 0 aktualisiert, 2 übersprungen.", timeout=60_000
        )
        expect(page.locator("#import-skipped li")).to_have_text(
            [
                "Eintrag Nr. 2 übersprungen: VEVENT ohne UID",
                "Eintrag Nr. 3 (VEVENT): die Datei endet mitten im Eintrag",
            ]
        )
        # A poll answered by no calcard JSON (a proxy's error page): no English statusText.
        page.route(
            "**/api/import-jobs/nothing",
            lambda route: route.fulfill(status=502, body="<h1>Bad Gateway</h1>"),
        )
        failed = page.evaluate(
            """async () => {
              const { api } = await import("/web/static/lib/api.js");
              return api("GET", "/api/import-jobs/nothing").then(() => "", (f) => f.message);
            }"""
        )
        assert failed == "Der Server konnte nicht antworten (502); versuchen Sie es erneut."
        page.errors.clear()  # the browser logs the 502 itself


def test_a_settings_download_answered_without_calcards_json_is_reported_in_german(browser, server):
    login = server.user()
    set_language(server, login, "de")
    for page in browser_page(browser, server, ZONE):  # an English browser (en-US)
        log_in(page, login, PASSWORD)
        expect(page).to_have_url(re.compile("/web/$"))
        page.route(  # a proxy's error page: the browser's statusText would be English
            "**/api/me/apple-profile",
            lambda route: route.fulfill(status=502, body="<h1>Bad Gateway</h1>"),
        )
        page.goto("/web/settings")
        expect(page.locator("body.ready")).to_have_count(1)  # its buttons wired
        page.click("#apple-profile")
        expect(page.locator("#apple-status")).to_have_text(
            "Der Server konnte nicht antworten (502); versuchen Sie es erneut."
        )
        page.unroute("**/api/me/apple-profile")
        page.route("**/api/me/apple-profile", lambda route: route.abort())  # no answer at all
        page.click("#apple-profile")
        expect(page.locator("#apple-status")).to_have_text(UNREACHABLE_DE)
        page.errors.clear()  # the browser logs the 502 and the failed request itself


def test_a_login_without_any_answer_is_reported_in_the_pages_language(browser, server):
    for page in browser_page(browser, server, ZONE, locale="de-DE"):
        page.goto("/web/login")
        page.route("**/api/session", lambda route: route.abort())
        page.fill("#login", "someone")
        page.fill("#password", "anything")
        page.click("button[type=submit]")
        expect(page.locator("#login-error")).to_have_text(UNREACHABLE_DE)
        page.errors.clear()  # the browser logs the failed request itself
