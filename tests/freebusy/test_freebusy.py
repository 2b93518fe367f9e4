"""Free/busy and the slot finder over the JSON API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from calcard import accounts, sharing, store
from calcard.store.ical import split_calendar

from helpers import put_event, set_language, zoned_event

ZURICH = "+01:00"  # winter offset of Europe/Zurich, the organizer's zone below


def find(server, login: str, attendees: list[str], start: str, minutes: int = 60, **extra):
    with server.client(login) as http:
        response = http.post(
            "/api/freebusy/find",
            json={"attendees": attendees, "start": start, "duration_minutes": minutes, **extra},
        )
        assert response.status_code == 200, response.text
        return response.json()


def test_the_10_00_10_45_11_45_case(server, people):
    organizer, colleague, _ = people
    put_event(
        server, colleague, "dentist", zoned_event("dentist", "20270104T104500", "20270104T114500")
    )
    got = find(server, organizer, [colleague], f"2027-01-04T10:00:00{ZURICH}")
    assert got["start"] == f"2027-01-04T11:45:00{ZURICH}"
    assert got["end"] == f"2027-01-04T12:45:00{ZURICH}"
    assert got["unknown"] == []


def test_recurring_busy_time_with_exceptions_and_alternatives(server, people):
    organizer, colleague, _ = people
    weekly = zoned_event(
        "weekly",
        "20270104T100000",
        "20270104T110000",
        "\r\nRRULE:FREQ=WEEKLY;COUNT=5\r\nEXDATE;TZID=Europe/Zurich:20270111T100000",
    )
    put_event(server, colleague, "weekly", weekly)
    assert find(server, organizer, [colleague], f"2027-01-04T10:00:00{ZURICH}")["start"] == (
        f"2027-01-04T11:00:00{ZURICH}"
    )
    assert find(server, organizer, [colleague], f"2027-01-11T10:00:00{ZURICH}")["start"] == (
        f"2027-01-11T10:00:00{ZURICH}"
    )
    got = find(server, organizer, [colleague], f"2027-01-18T09:00:00{ZURICH}", alternatives=2)
    assert got["start"] == f"2027-01-18T09:00:00{ZURICH}"
    assert [a["start"] for a in got["alternatives"]] == [
        f"2027-01-18T11:00:00{ZURICH}",
        f"2027-01-18T12:00:00{ZURICH}",
    ]


def test_a_calendar_can_be_left_out_of_free_busy(server, people):
    organizer, colleague, _ = people
    put_event(
        server, colleague, "private", zoned_event("private", "20270115T100000", "20270115T110000")
    )
    assert find(server, organizer, [colleague], f"2027-01-15T10:00:00{ZURICH}")["start"] == (
        f"2027-01-15T11:00:00{ZURICH}"
    )
    with server.client(colleague) as http:
        path = f"/{colleague}/calendar/"
        changed = http.put("/api/freebusy/calendars", json={"path": path, "counts": False})
        assert changed.json()["calendars"] == [{"path": path, "name": "Calendar", "counts": False}]
        other = http.put(
            "/api/freebusy/calendars", json={"path": f"/{organizer}/calendar/", "counts": False}
        )
        assert other.status_code == 400
    assert find(server, organizer, [colleague], f"2027-01-15T10:00:00{ZURICH}")["start"] == (
        f"2027-01-15T10:00:00{ZURICH}"
    )


def test_all_day_blocks_the_day_and_transparent_or_cancelled_do_not(server, people):
    organizer, colleague, _ = people
    put_event(
        server,
        colleague,
        "offsite",
        zoned_event(
            "offsite", "", "", "DTSTART;VALUE=DATE:20270105\r\nDTEND;VALUE=DATE:20270106", tz=""
        ),
    )
    put_event(
        server,
        colleague,
        "focus",
        zoned_event("focus", "20270106T090000", "20270106T170000", "\r\nTRANSP:TRANSPARENT"),
    )
    put_event(
        server,
        colleague,
        "off",
        zoned_event("off", "20270107T090000", "20270107T170000", "\r\nSTATUS:CANCELLED"),
    )
    assert find(server, organizer, [colleague], f"2027-01-05T09:00:00{ZURICH}")["start"] == (
        f"2027-01-06T00:00:00{ZURICH}"
    )
    assert find(server, organizer, [colleague], f"2027-01-06T09:00:00{ZURICH}")["start"] == (
        f"2027-01-06T09:00:00{ZURICH}"
    )
    assert find(server, organizer, [colleague], f"2027-01-07T09:00:00{ZURICH}")["start"] == (
        f"2027-01-07T09:00:00{ZURICH}"
    )


def test_dst_change_and_other_time_zones(server, people):
    organizer, colleague, _ = people
    # 28 March 2027: Zurich skips 02:00-03:00, so 01:30-04:00 local lasts 90 minutes.
    put_event(server, colleague, "dst", zoned_event("dst", "20270328T013000", "20270328T040000"))
    with server.client(organizer) as http:
        busy = http.get(
            "/api/freebusy",
            params={
                "user": colleague,
                "start": "2027-03-27T00:00:00Z",
                "end": "2027-03-29T00:00:00Z",
            },
        ).json()["busy"]
    (period,) = busy
    span = datetime.fromisoformat(period["end"]) - datetime.fromisoformat(period["start"])
    assert span.total_seconds() == 90 * 60
    with server.backend.db.transaction(write=True) as s:
        accounts.set_user(s, colleague, timezone="America/New_York")
    # A floating 09:00-10:00 is New York time for this colleague: 15:00-16:00 in Zurich.
    put_event(
        server,
        colleague,
        "floating",
        zoned_event("floating", "20270108T090000", "20270108T100000", tz=""),
    )
    got = find(server, organizer, [colleague], f"2027-01-08T15:00:00{ZURICH}")
    assert got["start"] == f"2027-01-08T16:00:00{ZURICH}"


def test_unknown_addresses_are_flagged_and_never_block(server, people):
    organizer, colleague, org = people
    stranger = server.user(org=org)  # shares nothing with the organizer
    put_event(server, stranger, "busy", zoned_event("busy", "20270112T100000", "20270112T180000"))
    got = find(
        server,
        organizer,
        [colleague, stranger, "someone@elsewhere.example"],
        f"2027-01-12T10:00:00{ZURICH}",
    )
    assert got["start"] == f"2027-01-12T10:00:00{ZURICH}"
    assert got["unknown"] == [stranger, "someone@elsewhere.example"]
    assert got["unknown_reasons"][stranger] == "shares no calendar with you"
    assert "no calcard user" in got["unknown_reasons"]["someone@elsewhere.example"]
    with server.client(organizer) as http:
        hidden = http.get(
            "/api/freebusy",
            params={
                "user": stranger,
                "start": "2027-01-12T00:00:00Z",
                "end": "2027-01-13T00:00:00Z",
            },
        )
        assert hidden.json() == {
            "known": False,
            "reason": "shares no calendar with you",
            "busy": [],
        }
    # An organization-wide share makes the stranger known (and now they block).
    with server.backend.db.transaction(write=True) as s:
        sharing.add_share(s, f"/{stranger}/calendar/", "org", org, "read")
    got = find(server, organizer, [stranger], f"2027-01-12T10:00:00{ZURICH}")
    assert got["unknown"] == [] and got["start"] == f"2027-01-12T18:00:00{ZURICH}"


def test_why_someones_time_is_unknown_is_said_in_the_callers_language(server, people):
    organizer, _, org = people
    stranger = server.user(org=org)
    set_language(server, organizer, "de")
    nobody = "someone@elsewhere.example"
    got = find(server, organizer, [stranger, nobody], f"2027-01-12T10:00:00{ZURICH}")
    assert got["unknown_reasons"] == {
        stranger: "gibt keinen Kalender für Sie frei",
        nobody: "kein calcard-Benutzer hat diese Adresse",
    }
    asked = {"start": "2027-01-12T00:00:00Z", "end": "2027-01-13T00:00:00Z"}
    set_language(server, organizer, None)
    with server.client(organizer) as http:
        for language, said in (("fr", "ne partage aucun calendrier avec vous"), ("ja", None)):
            hidden = http.get(
                "/api/freebusy",
                params={"user": stranger, **asked},
                headers={"Accept-Language": language},
            )
            assert hidden.json()["reason"] == (said or "shares no calendar with you")
        french = http.post(
            "/api/freebusy/find",
            json={
                "attendees": [nobody],
                "start": f"2027-01-12T10:00:00{ZURICH}",
                "duration_minutes": 60,
            },
            headers={"Accept-Language": "fr"},
        )
        assert french.json()["unknown_reasons"] == {
            nobody: "aucun utilisateur calcard n’a cette adresse"
        }


def test_working_hours_and_who_blocks_the_horizon(server, people):
    organizer, colleague, _ = people
    with server.backend.db.transaction(write=True) as s:
        accounts.update_settings(
            s,
            colleague,
            {
                "working_hours": {
                    day: ["09:00-12:00", "13:00-17:00"]
                    for day in ("mon", "tue", "wed", "thu", "fri")
                }
            },
        )
    assert find(server, organizer, [colleague], f"2027-01-04T16:30:00{ZURICH}")["start"] == (
        f"2027-01-05T09:00:00{ZURICH}"
    )
    assert find(server, organizer, [colleague], f"2027-01-04T11:30:00{ZURICH}")["start"] == (
        f"2027-01-04T13:00:00{ZURICH}"
    )
    # Friday 17:00: the weekend is outside working hours, the next slot is Monday.
    assert find(server, organizer, [colleague], f"2027-01-08T17:00:00{ZURICH}")["start"] == (
        f"2027-01-11T09:00:00{ZURICH}"
    )
    nothing = find(
        server,
        organizer,
        [colleague],
        f"2027-01-04T09:00:00{ZURICH}",
        minutes=5 * 60,
        horizon_days=3,
    )
    assert nothing["start"] is None and nothing["blocking"] == [colleague]


def test_rooms_are_created_by_administrators_and_always_known(server, people):
    organizer, colleague, org = people
    with server.client(colleague) as http:
        refused = http.post("/api/rooms", json={"org": org, "name": "Aquarium"})
        assert refused.status_code == 403
    with server.client(organizer) as http:
        created = http.post("/api/rooms", json={"org": org, "name": "Aquarium", "capacity": 8})
        assert created.status_code == 201
        (room,) = created.json()["rooms"]
    with server.backend.db.transaction(write=True) as s:  # rooms cannot log in: book in-process
        calendar = store.get_collection(s, f"{room['login']}/calendar")
        (entry,) = split_calendar(zoned_event("booked", "20270113T100000", "20270113T120000"))
        store.put_item(s, calendar, store.ItemData.from_entry("booked.ics", entry))
    got = find(server, organizer, [room["email"]], f"2027-01-13T10:00:00{ZURICH}")
    assert got["start"] == f"2027-01-13T12:00:00{ZURICH}" and got["unknown"] == []
    outsider = server.user()
    got = find(server, outsider, [room["login"]], f"2027-01-13T10:00:00{ZURICH}")
    assert got["unknown"] == [room["login"]]


def test_room_names_are_for_the_members_who_book_them(server, people):
    """Finding 1 (issue 14): rooms are booked only by the members of their organization,
    so only they list them; an administrator of another organization and an external
    learn no room name (the listing was open to every signed-in user)."""
    organizer, colleague, org = people
    with server.client(organizer) as http:
        made = http.post("/api/rooms", json={"org": org, "name": "Salle Ørsted"})
        assert made.status_code == 201, made.text
    outsider = server.user("administrator")
    external = server.user("external", org=org)
    for attacker in (outsider, external):
        with server.client(attacker) as http:
            answer = http.get("/api/rooms", params={"org": org})
        assert answer.status_code == 403, answer.text
        assert "Ørsted" not in answer.text and "orsted" not in answer.text
    with server.client(colleague) as http:
        listed = http.get("/api/rooms", params={"org": org})
    assert listed.status_code == 200
    assert [r["name"] for r in listed.json()["rooms"]] == ["Salle Ørsted"]


def test_bad_requests_get_clear_errors(server, people):
    organizer, _, _ = people
    with server.client(organizer) as http:
        for body in (
            {"attendees": "x", "start": "2027-01-04T10:00:00Z", "duration_minutes": 5},
            {"attendees": [], "start": "2027-01-04T10:00:00", "duration_minutes": 5},
            {"attendees": [], "start": "tomorrow", "duration_minutes": 5},
            {"attendees": [], "start": "2027-01-04T10:00:00Z", "duration_minutes": 0},
        ):
            response = http.post("/api/freebusy/find", json=body)
            assert response.status_code == 400 and response.json()["error"]
        broken = http.post(
            "/api/freebusy/find", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert broken.status_code == 400
