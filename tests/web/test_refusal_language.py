"""The JSON API's refusals in the reader's language (docs/languages.md, "Which language"):
the caller's setting, else Accept-Language, else their organization's default, else
English; before login Accept-Language, else English. Only the text changes: the
status and the machine-readable ``details`` are the same in every language."""

from __future__ import annotations

import asyncio
import json
import re
from types import SimpleNamespace

import httpx
from sqlalchemy import select
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import Request

from calcard import accounts
from calcard.core.models import ImportJob
from calcard.web.api.common import error_handlers

from conftest import PASSWORD
from helpers import enable_2fa, event, set_language, web_session

ELSEWHERE = "https://evil.example"


def rename(http: httpx.Client, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return http.put(f"/api/calendars/{path}", json={"name": "Mine now"}, headers=headers or {})


def test_a_german_users_refused_call_is_answered_in_german_by_session_and_password(server):
    german = server.user()
    set_language(server, german, "de")
    missing = f"{german}/nowhere"
    http, csrf = web_session(server, german)
    try:
        # The browser says English: the user's own setting comes first.
        refused = rename(http, missing, {"x-csrf-token": csrf, "Accept-Language": "en"})
        assert refused.status_code == 404
        assert refused.json() == {"error": f"kein Kalender '{missing}'"}
        # A refusal before the route authenticates (the body) knows the session's owner too.
        unreadable = http.put(
            f"/api/calendars/{missing}",
            content=b"{",
            headers={"x-csrf-token": csrf, "content-type": "application/json"},
        )
        assert unreadable.status_code == 400
        assert unreadable.json()["error"].startswith("der Anfragetext ist kein JSON: ")
        # Refused before anything reads the request: still the reader's language.
        foreign = rename(http, missing, {"x-csrf-token": csrf, "Origin": ELSEWHERE})
        assert foreign.status_code == 403
        assert foreign.json() == {"error": f"Anfragen von {ELSEWHERE} dürfen hier nichts ändern"}
    finally:
        http.close()
    with server.client(german) as basic:
        refused = rename(basic, missing)
        assert refused.status_code == 404
        assert refused.json() == {"error": f"kein Kalender '{missing}'"}
        assert "www-authenticate" not in refused.headers


def test_the_callers_language_not_the_owners_says_a_refusal_about_anothers_calendar(server):
    german, french = server.user(), server.user()
    set_language(server, german, "de")
    set_language(server, french, "fr")
    with server.client(french) as http:
        before = http.get("/api/calendars").json()
    victim = before["calendars"][0]["path"]
    with server.client(german) as http:
        refused = rename(http, victim)
        assert refused.status_code == 404
        assert refused.json() == {"error": f"kein Kalender '{victim}'"}
    with server.client(french) as http:
        assert http.get("/api/calendars").json() == before  # the victim's calendar unchanged


def test_without_a_setting_the_browser_then_the_organization_then_english(server):
    login = server.user()
    org = f"org-{login}"
    missing = f"{login}/nowhere"
    with server.client(login) as http:
        assert rename(http, missing).json()["error"] == f"no calendar '{missing}'"
        with server.backend.db.transaction(write=True) as s:
            accounts.set_org_language(s, org, "it")
        italian = rename(http, missing)
        assert italian.status_code == 404
        assert italian.json()["error"] == f"nessun calendario '{missing}'"
        spanish = rename(http, missing, {"Accept-Language": "es-ES, it;q=0.5"})
        assert spanish.json()["error"] == f"no hay ningún calendario '{missing}'"
        # An unsupported language is no choice: the next one (the organization's) says it.
        assert (
            rename(http, missing, {"Accept-Language": "ja"})
            .json()["error"]
            .startswith("nessun calendario")
        )


def test_before_login_the_browsers_language_with_status_and_details_unchanged(server):
    login = server.user()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        wrong = {"login": login, "password": "not the password"}
        french = http.post("/api/session", json=wrong, headers={"Accept-Language": "fr-CH, de"})
        assert french.status_code == 401
        assert french.json() == {"error": "identifiant ou mot de passe incorrect"}
        for header in ("ja", "tlh, xx;q=0.5", ""):
            english = http.post("/api/session", json=wrong, headers={"Accept-Language": header})
            assert english.status_code == 401
            assert english.json() == {"error": "wrong login or password"}
        nobody = http.get("/api/calendars", headers={"Accept-Language": "de"})
        assert nobody.status_code == 401
        assert nobody.json() == {"error": "Anmeldung erforderlich"}
        assert nobody.headers["www-authenticate"] == 'Basic realm="calcard"'
    enable_2fa(server, login)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        right = {"login": login, "password": PASSWORD}
        asked = http.post("/api/session", json=right, headers={"Accept-Language": "fr"})
        assert asked.status_code == 401
        assert asked.json() == {"error": "code à deux facteurs requis", "totp_required": True}
        english = http.post("/api/session", json=right, headers={"Accept-Language": "ja"})
        assert english.json() == {"error": "two-factor code required", "totp_required": True}


def test_a_restore_clash_in_german_keeps_its_status_and_options(server):
    login = server.user()
    base = f"/{login}/calendar/"
    with server.client(login) as http:
        for href, summary in (("a.ics", "Old"), ("b.ics", "New")):
            answer = http.put(
                base + href,
                content=event("dup", "20261203T100000Z", "20261203T110000Z", summary).encode(),
                headers={"Content-Type": "text/calendar"},
            )
            assert answer.status_code in (201, 204), answer.text
            if href == "a.ics":
                assert http.delete(base + href).status_code == 200
        entry = next(
            e for e in http.get("/api/trash").json()["trash"] if e["path"] == base + "a.ics"
        )
        english = http.post(f"/api/trash/{entry['id']}/restore")
        set_language(server, login, "de")
        german = http.post(f"/api/trash/{entry['id']}/restore")
    assert english.status_code == german.status_code == 409
    assert english.json()["error"] == f"UID 'dup' is in use again in /{login}/calendar/"
    assert german.json()["error"] == f"die UID 'dup' ist in /{login}/calendar/ wieder vergeben"
    assert (
        {k: v for k, v in german.json().items() if k != "error"}
        == {k: v for k, v in english.json().items() if k != "error"}
        == {"options": {"into": [], "new_uid": True}}
    )


class Unreachable:
    """A database that must not be asked: a refusal with nobody to look up takes none."""

    def transaction(self, *args, **kwargs):
        raise AssertionError("a refusal without a reader took a database connection")


def test_a_refusal_with_nobody_to_look_up_takes_no_database_connection():
    from starlette.requests import Request

    from calcard.web.api.common import reader_language

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/nothing-here",
        "headers": [(b"accept-language", b"it-CH, en;q=0.3")],
        "state": {},
    }
    assert reader_language(Unreachable(), Request(scope)) == "it"  # type: ignore[arg-type]


def test_the_media_types_a_route_takes_are_listed_as_the_readers_language_lists_them(server):
    german = server.user()
    set_language(server, german, "de")
    with server.client(german) as basic:
        before = basic.get("/api/calendars").json()
    http, csrf = web_session(server, german)
    plain = {"x-csrf-token": csrf, "content-type": "text/plain"}
    try:
        upload = http.post(
            "/api/import-jobs", params={"name": "a.ics"}, content=b"x", headers=plain
        )
        assert upload.status_code == 415
        assert upload.json() == {
            "error": "senden Sie den Anfragetext als text/calendar, text/vcard, text/x-vcard, "
            "text/directory, application/octet-stream oder ohne Content-Type"
        }
        one = http.put(f"/api/calendars/{german}/calendar", content=b"{}", headers=plain)
        assert one.json() == {"error": "senden Sie den Anfragetext als application/json"}
    finally:
        http.close()
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        for language, wanted in (
            ("fr", "text/directory, application/octet-stream ou sans Content-Type"),
            ("ja", "text/directory, application/octet-stream, or no Content-Type"),
        ):
            refused = anonymous.post(
                "/api/import-jobs",
                content=b"x",
                headers={"content-type": "text/plain", "Accept-Language": language},
            )
            assert refused.status_code == 415
            assert refused.json()["error"].endswith(wanted), refused.text
    with server.client(german) as basic:  # refused: the calendar is as it was, no import ran
        assert basic.get("/api/calendars").json() == before
    with server.backend.db.transaction() as s:
        assert s.scalars(select(ImportJob).where(ImportJob.owner == german)).all() == []


def test_starlettes_own_refusals_are_in_the_readers_language_with_their_headers(server):
    german = server.user()
    set_language(server, german, "de")
    http, csrf = web_session(server, german)
    try:  # the user's setting, not the browser's English
        wrong = http.patch("/api/me", headers={"x-csrf-token": csrf, "Accept-Language": "en"})
        assert wrong.status_code == 405
        assert wrong.json() == {"error": "die Methode PATCH ist hier nicht erlaubt"}
        assert "GET" in wrong.headers["allow"]
    finally:
        http.close()
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        for language, said in (
            ("fr-CH, de;q=0.5", "la méthode PATCH n’est pas autorisée ici"),
            ("ja", "the method PATCH is not allowed here"),
        ):
            refused = anonymous.patch("/api/calendars", headers={"Accept-Language": language})
            assert refused.status_code == 405
            assert refused.json() == {"error": said}
            assert refused.headers["allow"] == "GET, HEAD, POST"
        nowhere = anonymous.patch("/api/nothing-here", headers={"Accept-Language": "fr"})
        assert nowhere.status_code == 404
        assert nowhere.json() == {"error": "aucun point d’accès d’API /api/nothing-here"}
        missing = anonymous.get("/web/static/nothing.js", headers={"Accept-Language": "fr"})
        assert missing.status_code == 404
        assert missing.json() == {"error": "introuvable"}


def _handled(handler, scope_headers: list[tuple[bytes, bytes]], exc: Exception):
    """The handler's answer to ``exc`` raised by a PATCH with these headers."""
    scope = {
        "type": "http",
        "method": "PATCH",
        "path": "/api/nothing-here",
        "query_string": b"",
        "headers": scope_headers,
        "state": {},
    }
    return asyncio.run(handler(Request(scope), exc))


def test_a_405_or_a_503_with_nobody_to_look_up_takes_no_database_connection():
    handlers = error_handlers(SimpleNamespace(db=Unreachable()))  # type: ignore[arg-type]
    german = [(b"accept-language", b"de-CH")]
    wrong = _handled(handlers[HTTPException], german, HTTPException(405, headers={"Allow": "GET"}))
    assert (wrong.status_code, wrong.headers["allow"]) == (405, "GET")
    assert json.loads(wrong.body) == {"error": "die Methode PATCH ist hier nicht erlaubt"}
    # A 503 asks nobody even with a session cookie: the database is what is missing.
    cookie = [*german, (b"cookie", b"calcard_session=whatever")]
    down = _handled(handlers[PoolTimeout], cookie, PoolTimeout())
    assert (down.status_code, down.headers["retry-after"]) == (503, "5")
    assert json.loads(down.body) == {
        "error": "die Datenbank ist nicht erreichbar; versuchen Sie es in ein paar Sekunden erneut"
    }
    french = _handled(handlers[PoolTimeout], [(b"accept-language", b"fr")], PoolTimeout())
    assert json.loads(french.body)["error"].startswith("la base de données est indisponible")
    english = _handled(handlers[PoolTimeout], [], PoolTimeout())
    assert json.loads(english.body) == {
        "error": "the database is unavailable; try again in a few seconds"
    }


def test_a_body_over_the_limit_is_refused_in_the_readers_language_but_to_dav(server):
    german = server.user()
    set_language(server, german, "de")
    huge = b"B" * 1_100_000
    http, csrf = web_session(server, german)
    try:
        refused = http.post(
            "/api/import-jobs",
            params={"name": "huge.ics"},
            content=huge,
            headers={"x-csrf-token": csrf, "content-type": "text/calendar"},
        )
        assert refused.status_code == 413
        assert re.fullmatch(r"der Anfragetext ist größer als \d+ Bytes", refused.json()["error"])
    finally:
        http.close()
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        french = anonymous.post("/api/import-jobs", content=huge, headers={"Accept-Language": "fr"})
        assert french.status_code == 413
        assert french.json()["error"].startswith("le corps de la requête dépasse ")
    with server.client(german) as basic:  # DAV's answers stay English
        dav = basic.put(
            f"/{german}/calendar/huge.ics",
            content=huge,
            headers={"content-type": "text/calendar", "Accept-Language": "de"},
        )
        assert dav.status_code == 413
        assert dav.json()["error"].startswith("request body larger than ")
    with server.backend.db.transaction() as s:  # refused: no import was started
        assert s.scalars(select(ImportJob).where(ImportJob.owner == german)).all() == []


def test_a_url_naming_nothing_storable_is_refused_in_the_readers_language_but_to_dav(server):
    """The URL guard answers before any route: to the JSON API (a contact UID with '/'
    in the web address book's group route) in the reader's language, status kept; to
    DAV in English."""
    german = server.user()
    set_language(server, german, "de")
    http, csrf = web_session(server, german)
    try:
        slash = http.get("/api/contacts/groups/a%2Fb/members", headers={"x-csrf-token": csrf})
        assert slash.status_code == 400
        assert slash.json() == {"error": "ein Name darf kein „/“ (%2F) enthalten"}
        long = http.get("/api/calendars/" + "x" * 1001, headers={"x-csrf-token": csrf})
        assert long.status_code == 414
        assert long.json() == {"error": "der Pfad ist länger als 1000 Zeichen"}
    finally:
        http.close()
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        nul = anonymous.get("/api/me", params={"q": "a\x00b"}, headers={"Accept-Language": "it"})
        assert nul.status_code == 400 and nul.json() == {"error": "l’URL contiene un carattere NUL"}
    with server.client(german) as basic:  # DAV's answers stay English
        dav = basic.get(f"/{german}/calendar/a%2Fb.ics", headers={"Accept-Language": "de"})
        assert dav.status_code == 400
        assert dav.text == "a name cannot contain '/' (%2F)\n"
