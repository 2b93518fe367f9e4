"""Bounded recurrence expansion (issue 14, finding 5), tested as the attacker.

A rule more frequent than hourly (FREQ=MINUTELY took 8 s to save and held every
other write back; SECONDLY would take hours), or a frequent rule that started
long ago, is refused before the write lock with the CALDAV:max-instances
precondition (RFC 4791 §5.3.2.1); the JSON API answers 400 and an import skips
it with the reason. Allowed rules without an end store at most
recurrence.MAX_OCCURRENCES index and reminder rows each.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from calcard import accounts, store
from calcard.core import recurrence
from calcard.core.models import IndexedItem, Occurrence, Reminder


def event(uid: str, rule: str, start: datetime | None = None, alarm: bool = True) -> str:
    start = start or datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//test//limits//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20260101T000000Z",
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
        f"DTEND:{start + timedelta(minutes=20):%Y%m%dT%H%M%SZ}",
        "SUMMARY:Kaffeepause für Ørjan",
        f"RRULE:{rule}",
    ]
    if alarm:
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT5M", "END:VALARM"]
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines)


def put(http: httpx.Client, login: str, href: str, text: str) -> httpx.Response:
    return http.put(
        f"/{login}/calendar/{href}",
        content=text.encode(),
        headers={"Content-Type": "text/calendar; charset=utf-8"},
    )


def rows(server, login: str, href: str) -> tuple[int, int, IndexedItem | None]:
    """Occurrence rows, reminder rows and the index window of one item."""
    with server.backend.db.transaction() as s:
        collection = store.get_collection(s, f"{login}/calendar")
        where = (collection.id, href)
        occurrences = s.scalar(
            select(func.count())
            .select_from(Occurrence)
            .where(Occurrence.collection_id == where[0], Occurrence.href == href)
        )
        reminders = s.scalar(
            select(func.count())
            .select_from(Reminder)
            .where(Reminder.collection_id == where[0], Reminder.href == href)
        )
        return occurrences, reminders, s.get(IndexedItem, where)


def live_hrefs(server, login: str) -> list[str]:
    with server.backend.db.transaction() as s:
        return list(store.live_hrefs(s, store.get_collection(s, f"{login}/calendar").id))


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=MINUTELY",
        "FREQ=SECONDLY",
        "FREQ=HOURLY;BYMINUTE=0,30",
        "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=0,30",
    ],
)
def test_sub_hourly_rules_are_refused_over_dav_and_nothing_is_stored(server, rule):
    login = server.user()
    with server.client(login) as http:
        refused = put(http, login, "busy.ics", event("busy-Ü", rule))
        assert refused.status_code == 403
        assert "max-instances" in refused.text and "more frequent than hourly" in refused.text
        assert http.get(f"/{login}/calendar/busy.ics").status_code == 404
    assert live_hrefs(server, login) == []


def test_a_frequent_rule_starting_long_ago_is_refused(server):
    login = server.user()
    with server.client(login) as http:
        old = event("ancient", "FREQ=HOURLY", datetime(1903, 5, 17, 8, 0, tzinfo=UTC))
        refused = put(http, login, "ancient.ics", old)
        assert refused.status_code == 403 and "max-instances" in refused.text
        birthday = event("birthday", "FREQ=YEARLY", datetime(1604, 2, 29, tzinfo=UTC))
        assert put(http, login, "birthday.ics", birthday).status_code == 201
    assert live_hrefs(server, login) == ["birthday.ics"]


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30",  # 24 s of dateutil's walk to the year 9999
        "FREQ=DAILY;BYMONTH=4,6,9,11;BYMONTHDAY=31",
        "FREQ=YEARLY;BYWEEKNO=53;BYMONTH=6",
        "FREQ=MONTHLY;BYSETPOS=40;BYDAY=MO",
    ],
)
def test_a_rule_that_never_recurs_is_refused_and_reaches_no_attendee(server, rule):
    """An impossible rule costs no walk to 9999, not even in an invited colleague's
    calendar: the organizer's PUT is refused before anything is stored or delivered."""
    organizer = server.user()
    with server.backend.db.transaction() as s:
        org = accounts.organizations_of(s, organizer)[0].name
    victim = server.user(org=org)
    text = event("nie-Ω", rule).replace(
        "SUMMARY:", f"ORGANIZER:mailto:{organizer}@example.com\r\n"
        f"ATTENDEE:mailto:{victim}@example.com\r\nSUMMARY:"
    )
    with server.client(organizer) as http:
        refused = put(http, organizer, "never.ics", text)
    assert refused.status_code == 403
    assert "max-instances" in refused.text and "never recurs" in refused.text
    assert live_hrefs(server, organizer) == [] and live_hrefs(server, victim) == []


def test_rare_but_possible_rules_are_kept(server):
    """A leap day, a fifth Monday of February: rare, real, and stored."""
    login = server.user()
    with server.client(login) as http:
        leap = event("leap", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", alarm=False)
        fifth = event("fifth", "FREQ=MONTHLY;BYMONTH=2;BYDAY=5MO", alarm=False)
        assert put(http, login, "leap.ics", leap).status_code == 201
        assert put(http, login, "fifth.ics", fifth).status_code == 201
    assert sorted(live_hrefs(server, login)) == ["fifth.ics", "leap.ics"]


def test_a_refusal_does_not_wait_for_the_owners_write_lock(server):
    """Refused before the lock: answered while another writer holds the owner's lock."""
    login = server.user()
    with server.backend.db.transaction(write=True, owners=[login]):
        with server.client(login) as http:
            http.timeout = httpx.Timeout(20)
            refused = put(http, login, "storm.ics", event("storm", "FREQ=SECONDLY"))
    assert refused.status_code == 403


def test_the_api_and_import_refuse_sub_hourly_rules(server):
    login = server.user()
    with server.client(login) as http:
        body = {
            "calendar": f"/{login}/calendar/",
            "title": "Tick",
            "start": "2031-06-01T10:00",
            "end": "2031-06-01T10:15",
            "rrule": {"freq": "MINUTELY"},
        }
        assert http.post("/api/event", json=body).status_code == 400
        ancient = {**body, "start": "1001-06-01T10:00", "end": "1001-06-01T10:15"}
        ancient["rrule"] = {"freq": "DAILY"}
        answer = http.post("/api/event", json=ancient)
        assert answer.status_code == 400 and "steps" in answer.json()["error"]
        report = http.post(
            "/api/import",
            content=event("tick", "FREQ=MINUTELY").encode(),
            headers={"Content-Type": "text/calendar"},
        )
        assert report.status_code == 200
        assert report.json()["added"] == 0
        assert "more frequent than hourly" in report.json()["skipped"][0]["reason"]
    assert live_hrefs(server, login) == []


def test_endless_daily_and_hourly_rules_save_with_capped_rows(server):
    login = server.user()
    with server.client(login) as http:
        assert put(http, login, "daily.ics", event("daily", "FREQ=DAILY")).status_code == 201
        assert put(http, login, "hourly.ics", event("hourly", "FREQ=HOURLY")).status_code == 201
        # Free/busy over the next week still sees the hourly rule.
        start = datetime.now(UTC) + timedelta(days=2)
        report = http.request(
            "REPORT",
            f"/{login}/calendar/",
            headers={"Depth": "1", "Content-Type": "application/xml"},
            content=(
                '<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
                f'<C:time-range start="{start:%Y%m%dT%H0000Z}" '
                f'end="{start + timedelta(days=1):%Y%m%dT%H0000Z}"/></C:free-busy-query>'
            ).encode(),
        )
        assert report.status_code == 200 and report.text.count("FREEBUSY") >= 24
    daily_occurrences, daily_reminders, daily_window = rows(server, login, "daily.ics")
    assert 730 <= daily_occurrences <= 740  # from its start 3 days ago to the window end
    assert 50 <= daily_reminders <= 2 * 61  # display and chat, 60 days
    hourly_occurrences, hourly_reminders, hourly_window = rows(server, login, "hourly.ics")
    assert 2900 <= hourly_occurrences <= recurrence.MAX_OCCURRENCES
    assert 0 < hourly_reminders <= recurrence.MAX_OCCURRENCES
    assert daily_window is not None and hourly_window is not None
    indexed_days = (hourly_window.window_end - hourly_window.window_start) / 86_400
    assert 100 < indexed_days < 130  # the cap, from yesterday on


def test_another_users_writes_go_on_while_the_worst_allowed_rule_saves(server):
    heavy, other = server.user(), server.user()
    results: dict[str, int] = {}

    def save_heavy() -> None:
        with server.client(heavy) as http:
            results["heavy"] = put(http, heavy, "h.ics", event("h", "FREQ=HOURLY")).status_code

    thread = threading.Thread(target=save_heavy)
    thread.start()
    with server.client(other) as http:
        for n in range(3):
            text = event(f"plain-{n}", "FREQ=WEEKLY;COUNT=3", alarm=False)
            results[f"other-{n}"] = put(http, other, f"p{n}.ics", text).status_code
    thread.join()
    assert set(results.values()) == {201}
