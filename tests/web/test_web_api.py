"""The web UI's server side over HTTP: sessions, CSRF, the browser redirect, the events API."""

from __future__ import annotations

import httpx
import icalendar
import pytest

from calcard import accounts
from calcard.core.errors import Refusal
from calcard.web.ui import VENDOR_SCRIPTS

from conftest import PASSWORD
from helpers import web_session


def test_login_cookie_csrf_and_logout(server):
    login = server.user()
    http, _ = web_session(server, login)
    again = http.post("/api/session", json={"login": login, "password": PASSWORD})
    set_cookie, csrf = again.headers["set-cookie"], again.json()["csrf"]
    assert "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie and "Secure" not in set_cookie
    assert http.get("/api/session").json()["login"] == login
    assert http.get("/api/calendars").status_code == 200

    body = {"calendar": f"/{login}/calendar/", "title": "x", "start": "2030-01-01T10:00"}
    refused = http.post("/api/event", json=body)
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
    assert http.post("/api/event", json=body, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert http.post("/api/event", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201

    assert http.delete("/api/session").status_code == 403  # logout needs the token too
    assert http.delete("/api/session", headers={"X-CSRF-Token": csrf}).status_code == 200
    after = httpx.get(server.url + "/api/calendars", cookies={"calcard_session": "stale"})
    assert after.status_code == 401 and "www-authenticate" not in after.headers
    assert http.get("/api/session").status_code == 401


def test_wrong_credentials_say_the_same_whether_or_not_the_login_exists(server):
    login = server.user()
    answers = [
        httpx.post(server.url + "/api/session", json={"login": name, "password": "wrong"})
        for name in (login, "nobody-" + login)
    ]
    assert [a.status_code for a in answers] == [401, 401]
    assert answers[0].json() == answers[1].json() == {"error": "wrong login or password"}
    assert "www-authenticate" not in answers[0].headers
    form = httpx.post(server.url + "/api/session", data={"login": login, "password": PASSWORD})
    assert form.status_code == 415  # a cross-site HTML form cannot log anyone in


def test_browsers_get_the_web_ui_and_dav_clients_get_dav(server):
    login = server.user()
    root = httpx.get(server.url + "/", headers={"Accept": "text/html"})
    assert root.status_code == 302 and root.headers["location"] == "/web/"
    assert httpx.get(server.url + "/web/").headers["location"] == "/web/login"
    page = httpx.get(server.url + "/web/login")
    assert (
        page.status_code == 200
        and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    )
    dav = httpx.request(
        "PROPFIND", server.url + "/", auth=(login, PASSWORD), headers={"Depth": "0"}
    )
    assert dav.status_code == 207
    http, _ = web_session(server, login)
    assert http.get("/web/").status_code == 200
    for script in VENDOR_SCRIPTS:  # FullCalendar, Luxon and its plugin, from node_modules
        assert http.get(f"/web/vendor/{script}").status_code == 200, script


def test_reserved_logins_cannot_be_created(server):
    org = "reserved-" + server.user()
    with server.backend.db.transaction(write=True) as s:
        accounts.create_org(s, org)
        with pytest.raises(Refusal, match="reserved"):
            accounts.add_user(s, "web", org, "collaborator", PASSWORD)


def test_weekly_series_occurrence_edit_move_delete_seen_over_dav(server):
    login = server.user()
    http, csrf = web_session(server, login)
    headers = {"X-CSRF-Token": csrf}
    cal = f"/{login}/calendar/"
    created = http.post(
        "/api/event",
        headers=headers,
        json={
            "calendar": cal,
            "title": "Standup",
            "start": "2030-01-01T10:00",
            "end": "2030-01-01T10:30",
            "timezone": "Europe/Zurich",
            "rrule": {"freq": "WEEKLY", "byday": ["TU"], "count": 4},
            "alarms": [{"minutes": 10, "action": "DISPLAY", "repeat": "hourly"}],
            "attendees": ["someone@example.org"],
        },
    )
    assert created.status_code == 201, created.text
    href = created.json()["href"]
    window = {
        "calendar": cal,
        "start": "2029-12-30T00:00:00+01:00",
        "end": "2030-02-10T00:00:00+01:00",
    }
    listed = http.get("/api/events", params=window).json()["events"]
    assert [e["start"] for e in listed] == [
        f"2030-01-{d:02d}T10:00:00+01:00" for d in (1, 8, 15, 22)
    ]
    second = listed[1]["recurrence_id"]

    form = http.get("/api/event", params={"calendar": cal, "href": href, "recurrence_id": second})
    assert form.json()["rrule"]["count"] == 4 and form.json()["start"] == "2030-01-08T10:00"
    assert form.json()["alarms"] == [{"minutes": 10, "action": "DISPLAY", "repeat": "hourly"}]
    changed = {
        **form.json(),
        "title": "Standup (late)",
        "start": "2030-01-08T11:00",
        "end": "2030-01-08T11:45",
    }
    assert http.put("/api/event", headers=headers, json=changed).status_code == 200
    gone = http.delete(
        "/api/event",
        headers=headers,
        params={"calendar": cal, "href": href, "recurrence_id": listed[2]["recurrence_id"]},
    )
    assert gone.status_code == 200

    moved = http.post(
        "/api/event/move",
        headers=headers,
        json={
            "calendar": cal,
            "href": href,
            "start": "2030-01-02T09:00:00+01:00",
            "end": "2030-01-02T10:00:00+01:00",
            "old_start": "2030-01-01T10:00:00+01:00",
        },
    )
    assert moved.status_code == 200, moved.text
    listed = http.get("/api/events", params=window).json()["events"]
    assert sorted((e["start"], e["title"]) for e in listed) == [
        ("2030-01-02T09:00:00+01:00", "Standup"),
        ("2030-01-08T11:00:00+01:00", "Standup (late)"),
        ("2030-01-23T09:00:00+01:00", "Standup"),
    ]
    dav = server.client(login).get(f"{cal}{href}")
    event = icalendar.Calendar.from_ical(dav.text)
    master = next(c for c in event.walk("VEVENT") if c.get("RECURRENCE-ID") is None)
    assert str(master["RRULE"].to_ical().decode()) == "FREQ=WEEKLY;COUNT=4;BYDAY=WE"
    assert len(master["EXDATE"].dts) == 1
    assert "X-CALCARD-REPEAT:HOURLY" in dav.text and "ATTENDEE" in dav.text


def test_event_api_refusals(server):
    login, stranger = server.user(), server.user()
    http, csrf = web_session(server, login)
    headers = {"X-CSRF-Token": csrf}
    cal = f"/{login}/calendar/"
    bad = [
        {"calendar": cal, "start": "soon"},
        {"calendar": cal, "start": "2030-01-01T10:00", "end": "2030-01-01T09:00"},
        {"calendar": cal, "start": "2030-01-01T10:00", "timezone": "Mars/Olympus"},
        {"calendar": cal, "start": "2030-01-01T10:00", "rrule": {"freq": "HOURLY"}},
        {"calendar": cal, "start": "2030-01-01T10:00", "alarms": [{"minutes": -5}]},
    ]
    for body in bad:
        answer = http.post("/api/event", headers=headers, json=body)
        assert answer.status_code == 400 and answer.json()["error"], body
    other = http.post(
        "/api/event",
        headers=headers,
        json={"calendar": f"/{stranger}/calendar/", "start": "2030-01-01T10:00"},
    )
    assert other.status_code == 404
    created = http.post(
        "/api/event",
        headers=headers,
        json={"calendar": cal, "start": "2030-01-01", "all_day": True},
    ).json()
    stale = http.put(
        "/api/event",
        headers=headers,
        json={
            "calendar": cal,
            "href": created["href"],
            "etag": '"old"',
            "start": "2030-01-02",
            "all_day": True,
        },
    )
    assert stale.status_code == 409
    assert (
        http.get("/api/events", params={"calendar": cal, "start": "x", "end": "y"}).status_code
        == 400
    )
