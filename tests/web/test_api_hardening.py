"""The JSON API against cross-site requests and stolen device passwords (issue 14, finding 9),
and the reminder stop link that acts only on POST (finding 11).

Each test sends the attacker's request and reads the victim's data back as the victim.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update

from calcard.core import links
from calcard.core.models import Reminder
from calcard.reminders import dispatch

from conftest import PASSWORD
from helpers import new_app_password, put_event

PROPFIND = {"Depth": "0"}
EVENT = {
    "title": "Vorstandssitzung Zürich",
    "start": "2091-03-14T10:00",
    "end": "2091-03-14T11:00",
    "timezone": "Europe/Zurich",
}


def app_passwords(server, login: str) -> list[str]:
    with server.client(login) as http:
        return [p["label"] for p in http.get("/api/me/app-passwords").json()["app_passwords"]]


def preferences(server, login: str) -> dict:
    with server.client(login) as http:
        return http.get("/api/me/preferences").json()


def calendar_hrefs(server, login: str) -> str:
    with server.client(login) as http:
        answer = http.request("PROPFIND", f"/{login}/calendar/", headers={"Depth": "1"})
    return "".join(sorted(re.findall(r"<href>([^<]+\.ics)</href>", answer.text)))


def test_text_plain_bodies_are_refused_with_415_and_change_nothing(server):
    """A cross-site form can send text/plain without a preflight; the browser adds the
    victim's cached Basic credentials. The JSON inside must not be acted on."""
    victim = server.user()
    before = (app_passwords(server, victim), preferences(server, victim))
    hrefs = calendar_hrefs(server, victim)
    plain = {"Content-Type": "text/plain"}
    with server.client(victim) as http:
        for method, path, body in (
            ("POST", "/api/me/app-passwords", {"label": "Angreifer"}),
            ("PATCH", "/api/me/preferences", {"email": "mallory@evil.example"}),
            ("POST", "/api/event", {**EVENT, "calendar": f"/{victim}/calendar/"}),
        ):
            answer = http.request(method, path, content=json.dumps(body), headers=plain)
            assert answer.status_code == 415, (path, answer.text)
            assert "application/json" in answer.json()["error"]
        form = http.post("/api/me/app-passwords", data={"label": "Angreifer"})
        assert form.status_code == 415
    assert (app_passwords(server, victim), preferences(server, victim)) == before
    assert calendar_hrefs(server, victim) == hrefs


def test_foreign_origin_and_cross_site_fetches_are_refused_however_authenticated(server):
    victim = server.user()
    hrefs = calendar_hrefs(server, victim)
    with server.client(victim) as http:
        for headers in (
            {"Origin": "https://evil.example"},
            {"Origin": "null"},
            {"Origin": server.url.replace("127.0.0.1", "127.0.0.2")},
            {"Sec-Fetch-Site": "cross-site"},
        ):
            answer = http.post("/api/me/app-passwords", json={"label": "x"}, headers=headers)
            assert answer.status_code == 403, headers
            event = {**EVENT, "calendar": f"/{victim}/calendar/"}
            assert http.post("/api/event", json=event, headers=headers).status_code == 403
    # A web session with its CSRF token is refused as well when the request comes from afar.
    session = httpx.Client(base_url=server.url, timeout=30)
    csrf = session.post("/api/session", json={"login": victim, "password": PASSWORD}).json()
    cross = {"X-CSRF-Token": csrf["csrf"], "Origin": "https://evil.example"}
    assert (
        session.post("/api/me/app-passwords", json={"label": "x"}, headers=cross).status_code == 403
    )
    assert (
        session.post(
            "/api/session",
            json={"login": victim, "password": PASSWORD},
            headers={"Origin": "https://evil.example"},
        ).status_code
        == 403
    )
    session.close()
    assert app_passwords(server, victim) == []
    assert calendar_hrefs(server, victim) == hrefs
    # The server's own pages (same origin) and clients that send no Origin still work.
    with server.client(victim) as http:
        own = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
        assert (
            http.post(
                "/api/me/app-passwords", json={"label": "Mein Telefon"}, headers=own
            ).status_code
            == 201
        )
        assert http.get("/api/me", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200
    assert app_passwords(server, victim) == ["Mein Telefon"]


def test_an_app_password_cannot_manage_the_account_but_still_syncs(server, cli):
    """A stolen app password must not mint another one (it would outlive its revocation),
    nor change the e-mail, 2FA, or organizations."""
    victim = server.user(role="administrator")
    phone = new_app_password(server, victim, "Telefon")
    laptop = new_app_password(server, victim, "Laptop")
    before = preferences(server, victim)
    org = f"org-{victim}"
    with server.client(victim, phone["password"]) as stolen:
        for method, path, body in (
            ("POST", "/api/me/app-passwords", {"label": "Hintertür"}),
            ("DELETE", f"/api/me/app-passwords/{laptop['id']}", None),
            ("POST", "/api/me/apple-profile", {"label": "Hintertür"}),
            ("POST", "/api/me/2fa", {}),
            ("PATCH", "/api/me/preferences", {"email": "mallory@evil.example"}),
            ("PATCH", f"/api/users/{victim}", {"email": "mallory@evil.example"}),
            (
                "POST",
                f"/api/orgs/{org}/members",
                {"login": "mallory", "role": "administrator", "password": "x" * 20},
            ),
            ("POST", "/api/rooms", {"org": org, "name": "Hinterzimmer"}),
        ):
            answer = stolen.request(method, path, json=body)
            assert answer.status_code == 403, (path, answer.text)
            assert "app password" in answer.json()["error"]
        # It still does what a device does: DAV, reading the API, changing calendar data.
        assert stolen.request("PROPFIND", f"/{victim}/", headers=PROPFIND).status_code == 207
        assert stolen.get("/api/me").status_code == 200
        assert stolen.get("/api/me/app-passwords").status_code == 200
        event = {**EVENT, "calendar": f"/{victim}/calendar/"}
        assert stolen.post("/api/event", json=event).status_code == 201
    assert sorted(app_passwords(server, victim)) == ["Laptop", "Telefon"]
    assert preferences(server, victim) == before
    with server.client(victim) as http:
        members = http.get(f"/api/orgs/{org}/members").json()
        assert "mallory" not in json.dumps(members)
        assert http.get("/api/rooms", params={"org": org}).json()["rooms"] == []
        # The account password still manages everything.
        assert http.post("/api/me/app-passwords", json={"label": "Tablet"}).status_code == 201


def test_uploads_keep_their_own_content_types(server):
    login = server.user()
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\nUID:upload-ü\r\n"
        "DTSTAMP:20910101T000000Z\r\nDTSTART:20910101T100000Z\r\nSUMMARY:Import\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    with server.client(login) as http:
        answer = http.post(
            "/api/import", content=ics.encode(), headers={"Content-Type": "text/calendar"}
        )
        assert answer.status_code == 200, answer.text
        plain = http.post(
            "/api/import", content=ics.encode(), headers={"Content-Type": "text/plain"}
        )
        assert plain.status_code == 415


def _repeating_reminder(server, login: str) -> int:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\nUID:stop-me\r\n"
        f"DTSTAMP:20260101T000000Z\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\n"
        "SUMMARY:Prüfung\r\nBEGIN:VALARM\r\nTRIGGER:-PT15M\r\nACTION:EMAIL\r\n"
        "X-CALCARD-REPEAT:DAILY\r\nDESCRIPTION:r\r\nSUMMARY:r\r\nEND:VALARM\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    put_event(server, login, "stop-me", text)
    with server.client(login) as http:
        (row,) = http.get("/api/reminders").json()["reminders"]
    return row["id"]


def _status(server, login: str) -> str:
    with server.client(login) as http:
        (row,) = http.get("/api/reminders").json()["reminders"]
    return row["status"]


def test_the_stop_link_shows_a_page_on_get_and_stops_only_on_post(server):
    """Mail scanners follow links: a GET of the stop link must not stop the reminder."""
    login = server.user()
    reminder = _repeating_reminder(server, login)
    with server.backend.db.transaction() as s:
        signature = links.sign(s, dispatch.stop_purpose(s.get(Reminder, reminder)))
    link = f"{server.url}/api/reminders/{reminder}/stop"
    shown = httpx.get(link, params={"sig": signature})
    assert shown.status_code == 200 and shown.headers["content-type"].startswith("text/html")
    assert "<form method='post'" in shown.text and signature in shown.text
    assert "form-action 'self'" in shown.headers["content-security-policy"]
    assert _status(server, login) == "pending"
    assert httpx.get(link, params={"sig": "0" + signature}).status_code == 404
    forged = httpx.post(link, data={"sig": "0" + signature})
    assert forged.status_code == 404 and _status(server, login) == "pending"
    stopped = httpx.post(link, data={"sig": signature}, headers={"Origin": server.url})
    assert stopped.status_code == 200, stopped.text
    assert _status(server, login) == "stopped"


def test_a_stop_link_never_stops_another_reminder_that_gets_its_id(server):
    """SQLite hands a freed reminder id to the next row: the attacker's old link, signed
    for their own reminder, must not read or stop the victim's reminder under that id."""
    attacker, victim = server.user(), server.user()
    old_id = _repeating_reminder(server, attacker)
    with server.backend.db.transaction() as s:
        signature = links.sign(s, dispatch.stop_purpose(s.get(Reminder, old_id)))
    with server.client(attacker) as http:
        assert http.delete(f"/{attacker}/calendar/stop-me.ics").status_code in (200, 204)
    new_id = _repeating_reminder(server, victim)
    with server.backend.db.transaction(write=True, owners=[victim]) as s:
        s.execute(update(Reminder).where(Reminder.id == new_id).values(id=old_id))
    link = f"{server.url}/api/reminders/{old_id}/stop"
    shown = httpx.get(link, params={"sig": signature})
    assert shown.status_code == 404 and "Prüfung" not in shown.text
    assert httpx.post(link, data={"sig": signature}).status_code == 404
    assert _status(server, victim) == "pending"
