"""The demo organization (issue 18): what a newcomer sees, over DAV and the API, on
both databases; seeded once, current whatever the day it is seeded."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from calcard import demo
from calcard.core.db import Database
from calcard.core.models import Item, Reminder
from calcard.core.times import as_utc

from conftest import start_server, stop_server
from helpers import partstats

WEEK_QUERY = (
    '<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    '<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR">'
    '<C:comp-filter name="VEVENT"><C:time-range start="{start}" end="{end}"/></C:comp-filter>'
    "</C:comp-filter></C:filter></C:calendar-query>"
)


@pytest.fixture
def demo_server(own_backend, tmp_path):
    backend = own_backend
    with backend.db.transaction(write=True) as s:
        demo.seed(s)
    server = start_server(backend, tmp_path)
    yield server
    stop_server(server)


def _week_query(http, path: str) -> str:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    monday = today - timedelta(days=today.weekday())
    body = WEEK_QUERY.format(
        start=f"{monday:%Y%m%dT%H%M%SZ}", end=f"{monday + timedelta(days=14):%Y%m%dT%H%M%SZ}"
    )
    answer = http.request("REPORT", path, content=body, headers={"Depth": "1"})
    assert answer.status_code == 207, answer.text
    return answer.text


def test_alice_opens_a_week_with_meetings_a_shared_calendar_contacts_and_a_reminder(demo_server):
    with demo_server.client("alice", "alice-demo-pass") as http:
        week = _week_query(http, "/alice/calendar/")
        for summary in ("Team meeting", "1:1 with Bob", "Company offsite"):
            assert f"SUMMARY:{summary}" in week
        home = http.request("PROPFIND", "/alice/", headers={"Depth": "1"}).text
        assert "/alice/shared-bob-team/" in home  # bob's team calendar, shared with alice
        assert "SUMMARY:Release planning" in _week_query(http, "/alice/shared-bob-team/")
        contacts = http.get("/api/contacts", params={"addressbook": "alice/contacts"}).json()
        assert len(contacts["contacts"]) == 12
        year = date.today().year
        birthdays = http.get(
            "/api/birthdays", params={"start": f"{year}-01-01", "end": f"{year}-12-31"}
        )
        assert birthdays.status_code == 200 and len(birthdays.json()["birthdays"]) == 12
        tasks = http.get("/api/tasks", params={"calendar": "alice/calendar"}).json()
        assert {"Prepare the quarterly report", "Book train tickets for the offsite"} <= {
            t["summary"] for t in tasks["tasks"]
        }
    # The invitations went out through scheduling: bob and carol have their copies, and
    # the room accepted the booking in alice's copy.
    for login in ("bob", "carol"):
        with demo_server.client(login, f"{login}-demo-pass") as http:
            assert "SUMMARY:Team meeting" in _week_query(http, f"/{login}/calendar/")
    with demo_server.client("alice", "alice-demo-pass") as http:
        meeting = http.get("/alice/calendar/demo-team-meeting.ics").text
    answers = {a.split("@")[0]: p for a, p in partstats(meeting).items()}
    assert answers["room-aquarium"] == "ACCEPTED"
    with demo_server.backend.db.transaction() as s:
        pending = s.scalars(
            select(Reminder).where(Reminder.owner == "alice", Reminder.status == "pending")
        ).all()
    assert pending and all(as_utc(r.fire_at) > datetime.now(UTC) for r in pending)


def test_seeding_twice_changes_nothing(empty_url):
    db = Database(empty_url)
    try:
        db.upgrade()
        counts = []
        for _ in range(2):
            with db.transaction(write=True) as s:
                assert [login for login, _ in demo.seed(s)] == ["alice", "bob", "carol", "dave"]
            with db.transaction() as s:
                counts.append(s.scalar(select(func.count()).select_from(Item)))
        assert counts[0] == counts[1] > 12
    finally:
        db.dispose()


@pytest.mark.parametrize("today", [date(2016, 2, 29), date(2046, 12, 28), date(2027, 3, 28)])
def test_the_demo_is_seeded_around_any_day(empty_url, today):
    """A leap day ten years back, the last week of a year twenty ahead, a DST Sunday."""
    db = Database(empty_url)
    try:
        db.upgrade()
        with db.transaction(write=True) as s:
            demo.seed(s, today=today)
        with db.transaction() as s:
            meeting = s.scalars(select(Item).where(Item.href == "demo-team-meeting.ics")).first()
        monday = today - timedelta(days=today.weekday())
        assert f"DTSTART:{monday:%Y%m%d}T100000Z" in meeting.text
    finally:
        db.dispose()
