"""CalDAV end to end with the `caldav` library against a real server (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from caldav.lib.error import AuthorizationError, NotFoundError

from helpers import dav, event

RECURRING = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//calcard tests//EN
BEGIN:VEVENT
UID:weekly-standup
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/Zurich:20260105T090000
DTEND;TZID=Europe/Zurich:20260105T093000
RRULE:FREQ=WEEKLY;COUNT=10
EXDATE;TZID=Europe/Zurich:20260112T090000
SUMMARY:Standup
END:VEVENT
BEGIN:VEVENT
UID:weekly-standup
DTSTAMP:20260101T000000Z
RECURRENCE-ID;TZID=Europe/Zurich:20260119T090000
DTSTART;TZID=Europe/Zurich:20260119T140000
DTEND;TZID=Europe/Zurich:20260119T143000
SUMMARY:Standup (moved)
END:VEVENT
END:VCALENDAR
"""

TODO = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//calcard tests//EN
BEGIN:VTODO
UID:{uid}
DTSTAMP:20260101T000000Z
DUE:20260301T120000Z
SUMMARY:File taxes
END:VTODO
END:VCALENDAR
"""


def test_discovery_from_well_known_reaches_home_and_default_calendar(server):
    login = server.user()
    principal = dav(server, login).principal()
    assert str(principal.url).rstrip("/").endswith(f"/{login}")
    names = {c.get_display_name() for c in principal.calendars()}
    assert "Calendar" in names


def test_make_and_delete_calendar(server):
    login = server.user()
    principal = dav(server, login).principal()
    cal = principal.make_calendar(name="Work", cal_id="work")
    assert any(str(c.url).endswith("/work/") for c in principal.calendars())
    cal.delete()
    assert not any(str(c.url).endswith("/work/") for c in principal.calendars())


def test_put_get_delete_events_and_tasks(server):
    login = server.user()
    cal = dav(server, login).principal().calendar(cal_id="calendar")
    ev = cal.save_event(event("e-1", "20260310T100000Z", "20260310T110000Z", "Kickoff"))
    assert cal.event_by_uid("e-1").icalendar_component["SUMMARY"] == "Kickoff"
    todo = cal.save_todo(TODO.format(uid="t-1"))
    assert [t.icalendar_component["UID"] for t in cal.todos()] == ["t-1"]
    ev.delete()
    todo.delete()
    with pytest.raises(NotFoundError):
        cal.event_by_uid("e-1")
    assert cal.todos() == []


def test_time_range_query_includes_recurring_instances_and_respects_exceptions(server):
    login = server.user()
    cal = dav(server, login).principal().calendar(cal_id="calendar")
    cal.save_event(RECURRING)
    cal.save_event(event("single-in", "20260203T100000Z", "20260203T110000Z"))
    cal.save_event(event("single-out", "20270101T100000Z", "20270101T110000Z"))

    def uids(start, end):
        found = cal.search(start=start, end=end, event=True)
        return sorted(str(e.icalendar_component["UID"]) for e in found)

    feb = (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 28, tzinfo=UTC))
    assert uids(*feb) == ["single-in", "weekly-standup"]
    # 12 January is an EXDATE: the week from 11 to 13 January has no instance.
    assert uids(datetime(2026, 1, 11, tzinfo=UTC), datetime(2026, 1, 13, tzinfo=UTC)) == []
    # After the 10th (last) occurrence on 9 March the series no longer matches.
    assert uids(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)) == []
    assert uids(datetime(2026, 12, 31, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC)) == [
        "single-out"
    ]


def test_multiget_returns_requested_events(server):
    login = server.user()
    cal = dav(server, login).principal().calendar(cal_id="calendar")
    saved = [
        cal.save_event(event(f"m-{i}", f"2026040{i}T100000Z", f"2026040{i}T110000Z"))
        for i in range(1, 6)
    ]
    got = cal.calendar_multiget([e.url for e in saved[:3]])
    assert sorted(str(e.icalendar_component["UID"]) for e in got) == ["m-1", "m-2", "m-3"]


def test_sync_collection_initial_and_incremental(server):
    login = server.user()
    cal = dav(server, login).principal().calendar(cal_id="calendar")
    first = cal.save_event(event("s-1", "20260501T100000Z", "20260501T110000Z"))
    second = cal.save_event(event("s-2", "20260502T100000Z", "20260502T110000Z"))
    initial = cal.objects_by_sync_token(load_objects=True, disable_fallback=True)
    assert sorted(str(o.icalendar_component["UID"]) for o in initial) == ["s-1", "s-2"]
    token = initial.sync_token

    first.icalendar_component["SUMMARY"] = "Changed"
    first.save()
    second.delete()
    cal.save_event(event("s-3", "20260503T100000Z", "20260503T110000Z"))
    changes = cal.objects_by_sync_token(sync_token=token, load_objects=False, disable_fallback=True)
    changed = {str(o.url).rsplit("/", 1)[-1] for o in changes}
    assert changed == {"s-1.ics", "s-2.ics", "s-3.ics"}
    assert {str(u).rsplit("/", 1)[-1] for u in changes.deleted_urls} == {"s-2.ics"}
    assert changes.sync_token != token

    unchanged = cal.objects_by_sync_token(
        sync_token=changes.sync_token, load_objects=False, disable_fallback=True
    )
    assert list(unchanged) == []


def test_invalid_sync_token_is_refused_not_answered_wrongly(server):
    login = server.user()
    cal = dav(server, login).principal().calendar(cal_id="calendar")
    cal.save_event(event("x-1", "20260601T100000Z", "20260601T110000Z"))
    other = server.user()
    other_token = (
        dav(server, other)
        .principal()
        .calendar(cal_id="calendar")
        .objects_by_sync_token(disable_fallback=True)
        .sync_token
    )
    for bad in ("http://calcard.org/ns/sync/999999-1", other_token, "garbage"):
        with pytest.raises(AuthorizationError):
            cal.objects_by_sync_token(sync_token=bad, disable_fallback=True)


def test_wrong_password_and_foreign_home(server):
    login = server.user()
    with pytest.raises(AuthorizationError):
        dav(server, login, "wrong password").principal()
    other = server.user()
    with server.client(login) as http:
        assert http.request("PROPFIND", f"/{other}/", headers={"Depth": "0"}).status_code == 403
        assert http.get(f"/{other}/calendar/").status_code == 403
