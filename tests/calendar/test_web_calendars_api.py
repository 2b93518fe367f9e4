"""The web calendar's calendars, tasks, link attachments and holiday calendars over HTTP,
checked from the DAV side too (raw DAV and the caldav library), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import unquote

import icalendar
import pytest
from caldav.lib.error import DAVError

from calcard import accounts, sharing, store
from calcard.calendar import public_holidays

from conftest import sync_report
from helpers import dav, web_session

COLOR_PROPFIND = """<?xml version="1.0"?>
<D:propfind xmlns:D="DAV:" xmlns:A="http://apple.com/ns/ical/">
  <D:prop><D:displayname/><A:calendar-color/></D:prop>
</D:propfind>"""
COLOR_PROPPATCH = """<?xml version="1.0"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:A="http://apple.com/ns/ical/">
  <D:set><D:prop><A:calendar-color>{color}</A:calendar-color></D:prop></D:set>
</D:propertyupdate>"""
ICS = {"Content-Type": "text/calendar"}


def propfind(http, path: str):
    return http.request("PROPFIND", path, content=COLOR_PROPFIND, headers={"Depth": "0"})


def user_session(server, login: str):
    http, csrf = web_session(server, login)
    http.headers["X-CSRF-Token"] = csrf
    return http


# --- calendars -----------------------------------------------------------------------------


def test_create_rename_recolor_delete_calendar_seen_over_dav(server):
    login = server.user()
    http, dav_http = user_session(server, login), server.client(login)
    created = http.post("/api/calendars", json={"name": "Work & Play", "color": "#10B981"})
    assert created.status_code == 201, created.text
    path = created.json()["path"]
    assert path == f"/{login}/work-play/"
    assert created.json() | {"path": ""} == {
        "path": "",
        "name": "Work & Play",
        "color": "#10b981",
        "owner": login,
        "writable": True,
    }
    again = http.post("/api/calendars", json={"name": "Work & Play", "color": "#10b981"})
    assert again.json()["path"] == f"/{login}/work-play-2/"  # never two calendars at one path

    shown = propfind(dav_http, path)
    assert shown.status_code == 207
    assert "#10b981</" in shown.text and "Work &amp; Play</" in shown.text

    changed = http.put(f"/api/calendars{path}", json={"color": "#dc2626", "name": "Work"})
    assert changed.status_code == 200 and changed.json()["color"] == "#dc2626"
    shown = propfind(dav_http, path).text
    assert "#dc2626</" in shown and ">Work</" in shown

    # A phone recolors with Apple's #RRGGBBAA: the web shows that color.
    patched = dav_http.request("PROPPATCH", path, content=COLOR_PROPPATCH.format(color="#FF2968FF"))
    assert patched.status_code == 207
    listed = {c["path"]: c for c in http.get("/api/calendars").json()["calendars"]}
    assert listed[path]["color"] == "#FF2968FF"

    assert http.delete(f"/api/calendars{path}").json() == {"deleted": path}
    assert path not in {c["path"] for c in http.get("/api/calendars").json()["calendars"]}
    assert propfind(dav_http, path).status_code == 404
    trash = http.get("/api/trash").json()
    assert any(e["kind"] == "vcalendar" and e["path"] == path for e in trash["trash"]), trash


def test_calendar_changes_refuse_hostile_input_and_foreign_calendars(server):
    login, owner, stranger = server.user(), server.user(), server.user()
    http = user_session(server, login)
    path = f"/{login}/calendar/"
    before = propfind(server.client(login), path).text
    for color in (
        "red",
        "#12345",
        "#1234567",
        "javascript:alert(1)",
        "#fff; background:url(x)",
        "#abcdefg",
        123,
        None,
    ):
        answer = http.post("/api/calendars", json={"name": "X", "color": color})
        assert answer.status_code == 400 and "color" in answer.json()["error"], color
        if color is not None:
            answer = http.put(f"/api/calendars{path}", json={"color": color})
            assert answer.status_code == 400, color
    for name in ("", "   ", "a\x00b", "x" * 201, ["list"]):
        answer = http.post("/api/calendars", json={"name": name, "color": "#123456"})
        error = answer.json()["error"]  # a NUL is refused by the body parser, for any field
        assert answer.status_code == 400 and ("name" in error or "NUL" in error), name
    assert http.put(f"/api/calendars{path}", json={}).status_code == 400
    assert propfind(server.client(login), path).text == before  # nothing changed

    with server.backend.db.transaction(write=True, owners=[owner]) as s:
        sharing.add_share(s, f"/{owner}/calendar/", "user", login, "read-write")
    for foreign in (f"/{owner}/calendar/", f"/{login}/shared-{owner}-calendar/"):
        assert http.put(f"/api/calendars{foreign}", json={"name": "Mine"}).status_code == 403
        assert http.delete(f"/api/calendars{foreign}").status_code == 403
    for unknown in (f"/{stranger}/calendar/", f"/{login}/contacts/", f"/{login}/", "/"):
        assert http.put(f"/api/calendars{unknown}", json={"name": "Mine"}).status_code == 404
        assert http.delete(f"/api/calendars{unknown}").status_code in (404, 405)
    assert server.client(owner).get(f"/{owner}/calendar/").status_code == 200


def test_without_calendar_access_no_calendar_changes(server):
    login = server.user(calendar=False)
    http = user_session(server, login)
    created = http.post("/api/calendars", json={"name": "New", "color": "#123456"})
    assert created.status_code == 403
    changed = http.put(f"/api/calendars/{login}/calendar/", json={"name": "Renamed"})
    assert changed.status_code == 403 and "access" in changed.json()["error"]
    refused = http.post("/api/holidays/subscriptions", json={"country": "CH"})
    assert refused.status_code == 403


def test_the_plan_limits_new_calendars(server):
    org = "free-" + server.user()
    with server.backend.db.transaction(write=True) as s:
        accounts.create_org(s, org, plan="free")
    login = server.user(org=org)
    http = user_session(server, login)
    refused = http.post("/api/calendars", json={"name": "Second", "color": "#123456"})
    assert refused.status_code == 403 and "plan" in refused.json()["error"]


def test_the_web_makes_no_event_in_a_task_list_nor_a_task_in_an_events_calendar(server):
    """A calendar's supported-calendar-component-set holds for the web's new events and
    tasks as for DAV (RFC 4791 §5.3.2.1): an iPhone's Reminders list would never show an
    event put there. Refused in the reader's language; nothing stored."""
    login = server.user()
    http = user_session(server, login)
    for name, components in (("tasks", "VTODO"), ("events", "VEVENT")):
        with server.backend.db.transaction(write=True, owners=[login]) as s:
            props = {"tag": "VCALENDAR", store.COMPONENTS_PROP: components}
            store.create_collection(s, f"{login}/{name}", props, actor=login)
    event = {"calendar": f"/{login}/tasks/", "start": "2030-01-01T10:00", "summary": "x"}
    refused = http.post("/api/event", json=event, headers={"Accept-Language": "de"})
    assert refused.status_code == 403, refused.text
    assert "nimmt nur VTODO auf, kein VEVENT" in refused.json()["error"]
    task = http.post("/api/task", json={"calendar": f"/{login}/events/", "summary": "y"})
    assert task.status_code == 403 and "takes only VEVENT, not VTODO" in task.json()["error"]
    assert http.post("/api/task", json={"calendar": f"/{login}/tasks/", "summary": "y"}).is_success
    with server.backend.db.transaction() as s:
        events = store.all_items(s, store.get_collection(s, f"{login}/events").id)
        tasks = store.all_items(s, store.get_collection(s, f"{login}/tasks").id)
    assert events == [] and [i.component for i in tasks] == ["VTODO"]


# --- tasks ---------------------------------------------------------------------------------


def test_tasks_create_complete_reopen_edit_delete_seen_by_caldav(server):
    login = server.user()
    http = user_session(server, login)
    cal = f"/{login}/calendar/"
    taxes = http.post(
        "/api/task",
        json={
            "calendar": cal,
            "summary": "File taxes",
            "due": "2030-03-01",
            "priority": 1,
            "description": "Forms from the bank",
        },
    )
    assert taxes.status_code == 201, taxes.text
    call = http.post(
        "/api/task",
        json={
            "calendar": cal,
            "summary": "Call the plumber",
            "due": "2030-02-20T17:30",
            "timezone": "Europe/Zurich",
        },
    )
    undated = http.post("/api/task", json={"calendar": cal, "summary": "Someday"})
    assert call.status_code == undated.status_code == 201
    listed = http.get("/api/tasks", params={"calendar": cal}).json()["tasks"]
    assert [(t["summary"], t["due"], t["all_day"]) for t in listed] == [
        ("Call the plumber", "2030-02-20T17:30:00+01:00", False),
        ("File taxes", "2030-03-01", True),
        ("Someday", None, False),
    ]
    assert listed[1]["priority"] == 1 and listed[1]["description"] == "Forms from the bank"

    href = taxes.json()["href"]
    done = http.post("/api/task/complete", json={"calendar": cal, "href": href, "completed": True})
    assert done.status_code == 200, done.text
    listed = http.get("/api/tasks", params={"calendar": cal}).json()["tasks"]
    assert listed[-1]["summary"] == "File taxes" and listed[-1]["completed"]  # done ones last
    assert listed[-1]["percent"] == 100 and listed[-1]["completed_at"]
    open_only = http.get("/api/tasks", params={"calendar": cal, "completed": "false"}).json()
    assert [t["summary"] for t in open_only["tasks"]] == ["Call the plumber", "Someday"]

    calendar = dav(server, login).principal().calendar(cal_id="calendar")
    assert {t.icalendar_component["SUMMARY"] for t in calendar.todos()} == {
        "Call the plumber",
        "Someday",
    }
    (completed,) = [
        t.icalendar_component
        for t in calendar.todos(include_completed=True)
        if t.icalendar_component["UID"] == taxes.json()["uid"]
    ]
    assert completed["STATUS"] == "COMPLETED" and completed["PERCENT-COMPLETE"] == 100
    assert completed["COMPLETED"].dt.tzinfo is not None and completed["PRIORITY"] == 1
    assert completed["DUE"].dt == date(2030, 3, 1)

    reopened = http.post(
        "/api/task/complete", json={"calendar": cal, "href": href, "completed": False}
    )
    assert reopened.status_code == 200
    text = server.client(login).get(cal + href).text
    assert "STATUS:NEEDS-ACTION" in text and not re.search(
        "^(COMPLETED|PERCENT-COMPLETE)", text, re.M
    )

    plumber = call.json()
    stale = {"calendar": cal, "href": plumber["href"], "etag": '"old"', "summary": "x"}
    assert http.put("/api/task", json=stale).status_code == 409
    edited = http.put(
        "/api/task",
        json={
            "calendar": cal,
            "href": plumber["href"],
            "etag": plumber["etag"],
            "summary": "Call the plumber again",
            "due": "2030-02-21T08:00",
            "timezone": "Europe/Zurich",
            "completed": True,
        },
    )
    assert edited.status_code == 200, edited.text
    window = {"calendar": cal, "start": "2030-02-21T00:00:00+01:00"}
    in_range = http.get("/api/tasks", params={**window, "end": "2030-02-22T00:00:00+01:00"})
    assert [(t["summary"], t["completed"]) for t in in_range.json()["tasks"]] == [
        ("Call the plumber again", True)
    ]

    gone = http.delete("/api/task", params={"calendar": cal, "href": plumber["href"]})
    assert gone.status_code == 200
    assert server.client(login).get(cal + plumber["href"]).status_code == 404
    assert any(e["kind"] == "vtodo" for e in http.get("/api/trash").json()["trash"])


def test_a_dav_task_edited_on_the_web_keeps_what_the_form_does_not_show(server):
    login = server.user()
    http = user_session(server, login)
    cal = f"/{login}/calendar/"
    todo = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//phone//EN",
            "BEGIN:VTODO",
            "UID:phone-task",
            "DTSTAMP:20300101T000000Z",
            "DTSTART;VALUE=DATE:20300105",
            "DUE;VALUE=DATE:20300110",
            "SUMMARY:Paint the fence",
            "CATEGORIES:Garden",
            "PERCENT-COMPLETE:40",
            "STATUS:IN-PROCESS",
            "END:VTODO",
            "END:VCALENDAR",
            "",
        ]
    )
    assert server.client(login).put(cal + "phone-task.ics", content=todo, headers=ICS).is_success
    (task,) = http.get("/api/tasks", params={"calendar": cal}).json()["tasks"]
    assert task["percent"] == 40 and not task["completed"]
    changed = http.put(
        "/api/task",
        json={"calendar": cal, "href": task["href"], "summary": "Paint it", "due": "2030-01-03"},
    )
    assert changed.status_code == 200, changed.text
    component = icalendar.Calendar.from_ical(server.client(login).get(cal + task["href"]).text)
    (stored,) = component.walk("VTODO")
    assert stored["SUMMARY"] == "Paint it" and stored["CATEGORIES"].cats == ["Garden"]
    assert stored["STATUS"] == "IN-PROCESS" and stored["PERCENT-COMPLETE"] == 40
    assert stored.get("DTSTART") is None  # it would be after the new due date


def test_task_refusals(server):
    login, owner, stranger = server.user(), server.user(), server.user()
    http = user_session(server, login)
    cal = f"/{login}/calendar/"
    bad = [
        {"calendar": cal},
        {"calendar": cal, "summary": ""},
        {"calendar": cal, "summary": "x", "priority": 10},
        {"calendar": cal, "summary": "x", "priority": "high"},
        {"calendar": cal, "summary": "x", "priority": True},
        {"calendar": cal, "summary": "x", "due": "tomorrow"},
        {"calendar": cal, "summary": "x", "due": "2030-01-01T10:00+02:00"},
        {"calendar": cal, "summary": "x", "due": "2030-01-01T10:00", "timezone": "Mars/Base"},
        {"calendar": cal, "summary": "x", "completed": "yes"},
        {"calendar": cal, "summary": "x", "description": 5},
    ]
    for body in bad:
        answer = http.post("/api/task", json=body)
        assert answer.status_code == 400 and answer.json()["error"], body
    assert http.get("/api/tasks", params={"calendar": cal}).json()["tasks"] == []
    foreign = {"calendar": f"/{stranger}/calendar/", "summary": "x"}
    assert http.post("/api/task", json=foreign).status_code == 404
    assert http.get("/api/tasks", params={"calendar": foreign["calendar"]}).status_code == 404
    with server.backend.db.transaction(write=True, owners=[owner]) as s:
        sharing.add_share(s, f"/{owner}/calendar/", "user", login, "read")
    read_only = {"calendar": f"/{owner}/calendar/", "summary": "x"}
    assert http.post("/api/task", json=read_only).status_code == 403
    event = http.post("/api/event", json={"calendar": cal, "start": "2030-01-01T10:00"}).json()
    not_a_task = {"calendar": cal, "href": event["href"], "completed": True}
    assert http.post("/api/task/complete", json=not_a_task).status_code == 404


# --- attachments ---------------------------------------------------------------------------


def test_link_attachments_only_http_and_other_attachments_kept(server):
    login = server.user()
    http = user_session(server, login)
    cal = f"/{login}/calendar/"
    base = {"calendar": cal, "title": "Review", "start": "2030-01-01T10:00"}
    for link in (
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox",
        "https://",
        "//evil.example/x",
        "https://exa mple.org/",
        "https://example.org/\nX-INJECTED:1",
        42,
    ):
        answer = http.post("/api/event", json={**base, "attachments": [link]})
        assert answer.status_code == 400 and "http" in answer.json()["error"], link
    window = {"calendar": cal, "start": "2029-12-31T00:00:00Z", "end": "2030-01-03T00:00:00Z"}
    assert http.get("/api/events", params=window).json()["events"] == []

    links = ["https://example.org/agenda.pdf?a=1&b=2", "http://intranet.example/notes"]
    created = http.post("/api/event", json={**base, "attachments": links})
    assert created.status_code == 201, created.text
    href = created.json()["href"]
    text = server.client(login).get(cal + href).text
    assert "ATTACH;VALUE=URI:https://example.org/agenda.pdf?a=1&b=2" in text
    form = http.get("/api/event", params={"calendar": cal, "href": href}).json()
    assert form["attachments"] == links

    phone = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//phone//EN",
            "BEGIN:VEVENT",
            "UID:with-files",
            "DTSTAMP:20300101T000000Z",
            "DTSTART:20300102T100000Z",
            "DTEND:20300102T110000Z",
            "SUMMARY:Files",
            "ATTACH;VALUE=BINARY;ENCODING=BASE64;FMTTYPE=text/plain:aGVsbG8=",
            "ATTACH:javascript:alert(1)",
            "ATTACH:https://example.org/old.pdf",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )
    assert server.client(login).put(cal + "files.ics", content=phone, headers=ICS).is_success
    form = http.get("/api/event", params={"calendar": cal, "href": "files.ics"}).json()
    assert form["attachments"] == ["https://example.org/old.pdf"]  # never a javascript: link
    changed = {**form, "calendar": cal, "attachments": ["https://example.org/new.pdf"]}
    assert http.put("/api/event", json=changed).status_code == 200
    (event,) = icalendar.Calendar.from_ical(server.client(login).get(cal + "files.ics").text).walk(
        "VEVENT"
    )
    kept = sorted(a.to_ical().decode() for a in event["ATTACH"])
    assert kept == ["aGVsbG8=", "https://example.org/new.pdf", "javascript:alert(1)"]


# --- holidays ------------------------------------------------------------------------------


def test_holiday_names_follow_the_browser_then_the_organizations_language(server):
    login = server.user()
    http = user_session(server, login)
    christmas = {"start": "2030-12-25", "end": "2030-12-25", "country": "DE"}
    german = {"date": "2030-12-25", "name": "Erster Weihnachtstag"}
    browser = http.get("/api/holidays", params=christmas, headers={"Accept-Language": "de-DE"})
    assert browser.json()["holidays"] == [german]
    with server.backend.db.transaction(write=True, owners=[login]) as s:
        accounts.set_org_language(s, accounts.current_org(s, login).name, "de")
    assert http.get("/api/holidays", params=christmas).json()["holidays"] == [german]
    with server.backend.db.transaction(write=True, owners=[login]) as s:
        accounts.update_settings(s, login, {"language": "en"})  # the setting wins
    english = http.get("/api/holidays", params=christmas, headers={"Accept-Language": "de"})
    assert english.json()["holidays"] == [{"date": "2030-12-25", "name": "Christmas Day"}]


def test_holiday_overlay(server):
    login = server.user()
    http = user_session(server, login)
    countries = {c["code"]: c for c in http.get("/api/holidays/countries").json()["countries"]}
    assert countries["CH"]["name"] == "Switzerland" and "ZH" in countries["CH"]["subdivisions"]
    year = {"start": "2030-01-01", "end": "2030-12-31"}
    swiss = http.get("/api/holidays", params={**year, "country": "CH"}).json()["holidays"]
    assert {"date": "2030-08-01", "name": "National Day"} in swiss
    zurich = http.get("/api/holidays", params={**year, "country": "CH", "subdivision": "ZH"})
    assert len(zurich.json()["holidays"]) > len(swiss)
    with server.backend.db.transaction(write=True, owners=[login]) as s:
        accounts.update_settings(s, login, {"language": "de"})
    german = http.get("/api/holidays", params={**year, "country": "CH"}).json()["holidays"]
    assert {"date": "2030-08-01", "name": "Nationalfeiertag"} in german
    for params in (
        {**year, "country": "XX"},
        {**year, "country": "CH", "subdivision": "Atlantis"},
        {**year, "country": "<script>"},
        {"start": "2030-01-01", "end": "2032-01-01", "country": "CH"},
        {"start": "2030-02-01", "end": "2030-01-01", "country": "CH"},
        {"start": "soon", "end": "2030-01-01", "country": "CH"},
        year,
    ):
        answer = http.get("/api/holidays", params=params)
        assert answer.status_code == 400 and answer.json()["error"], params


def test_holiday_subscription_syncs_over_dav_read_only_and_can_be_removed(server):
    org = "free-" + server.user()
    with server.backend.db.transaction(write=True) as s:
        accounts.create_org(s, org, plan="free")
    login = server.user(org=org)  # a free plan: a holiday calendar does not count against it
    http = user_session(server, login)
    refused = http.post("/api/holidays/subscriptions", json={"country": "XX"})
    assert refused.status_code == 400
    added = http.post("/api/holidays/subscriptions", json={"country": "ch"})
    assert added.status_code == 201, added.text
    path = added.json()["path"]
    assert added.json() == {
        "path": f"/{login}/holidays-ch/",
        "country": "CH",
        "subdivision": "",
        "name": "Holidays in Switzerland",
    }
    again = http.post("/api/holidays/subscriptions", json={"country": "CH"})
    assert again.json()["path"] == path
    subscriptions = http.get("/api/holidays/subscriptions").json()["subscriptions"]
    assert [s["path"] for s in subscriptions] == [path]
    listed = {c["path"]: c for c in http.get("/api/calendars").json()["calendars"]}
    assert listed[path]["writable"] is False and listed[path]["owner"] == login

    this_year = date.today().year
    principal = dav(server, login).principal()
    (holidays,) = [c for c in principal.calendars() if str(c.url).endswith(path)]
    assert holidays.get_display_name() == "Holidays in Switzerland"
    found = holidays.search(
        start=datetime(this_year, 7, 31), end=datetime(this_year, 8, 2), event=True, expand=False
    )
    (national,) = [e.icalendar_component for e in found]
    assert national["SUMMARY"] == "National Day"
    assert national["UID"] == f"{this_year}0801-ch@holidays.calcard"
    assert national["TRANSP"] == "TRANSPARENT" and national["DTSTART"].dt == date(this_year, 8, 1)
    years = {e.icalendar_component["DTSTART"].dt.year for e in holidays.events()}
    assert years == set(range(this_year - 1, this_year + 3))

    synced = holidays.objects_by_sync_token(load_objects=False)
    assert len(list(synced)) == len(holidays.events())
    updated, deleted = synced.sync()
    assert list(updated) == list(deleted) == []

    raw = server.client(login)
    token, _ = sync_report(raw, path)
    body = national.to_ical().decode()
    item = f"{path}{this_year}0801-ch@holidays.calcard.ics"
    assert raw.get(item).status_code == 200
    mine = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + body + "END:VCALENDAR\r\n"
    assert (
        raw.put(item, content=mine.replace("National Day", "Mine"), headers=ICS).status_code == 403
    )
    assert raw.put(path + "new.ics", content=mine, headers=ICS).status_code == 403
    assert raw.delete(item).status_code == 403
    assert raw.delete(path).status_code == 403
    recolor = COLOR_PROPPATCH.format(color="#000000")
    assert raw.request("PROPPATCH", path, content=recolor).status_code == 403
    with pytest.raises(DAVError):
        holidays.save_event(mine.replace(f"{this_year}0801-ch", "other"))
    web_event = {"calendar": path, "title": "x", "start": f"{this_year}-08-01T10:00"}
    assert http.post("/api/event", json=web_event).status_code == 403
    assert http.put(f"/api/calendars{path}", json={"color": "#000000"}).status_code == 200
    assert sync_report(raw, path, token)[0] != token  # a new color: a new collection revision

    # A new year begins: the dispatcher's refresh adds the year two years ahead.
    token, _ = sync_report(raw, path)
    later = date(this_year + 1, 1, 2)
    assert public_holidays.refresh_due(server.backend.db, later) > 0
    assert public_holidays.refresh_due(server.backend.db, later) == 0
    changes = unquote(sync_report(raw, path, token)[1])
    assert f"{this_year + 3}0801-ch@holidays.calcard.ics" in changes
    assert f"{this_year - 1}0801-ch" not in changes  # past years stay as history

    assert http.delete(f"/api/calendars{path}").status_code == 200
    assert http.get("/api/holidays/subscriptions").json()["subscriptions"] == []
    assert raw.request("PROPFIND", path, headers={"Depth": "0"}).status_code == 404
    assert path not in {str(c.url) for c in principal.calendars()}


def test_holiday_calendar_shared_read_write_stays_read_only(server):
    login, colleague = server.user(), server.user()
    http = user_session(server, login)
    path = http.post("/api/holidays/subscriptions", json={"country": "US"}).json()["path"]
    with server.backend.db.transaction(write=True, owners=[login]) as s:
        sharing.add_share(s, path, "user", colleague, "read-write")
    alias = f"/{colleague}/shared-{login}-holidays-us/"
    other = server.client(colleague)
    assert other.request("PROPFIND", alias, headers={"Depth": "1"}).status_code == 207
    day = date.today().replace(month=7, day=4)
    item = f"{day:%Y%m%d}-us@holidays.calcard.ics"
    text = other.get(alias + item)
    assert text.status_code == 200 and "Independence Day" in text.text
    assert other.put(alias + item, content=text.text, headers=ICS).status_code == 403
    assert other.delete(alias + item).status_code == 403
