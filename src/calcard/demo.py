"""Demo data so a newcomer sees what calcard does within a minute of starting it.

Seeded once (a second run finds the organization and changes nothing), with
dates relative to the day it is seeded so the demo is current: alice's week has
a weekly team meeting with bob, carol and a booked room, a one-to-one tomorrow
with a reminder that is still to come, an all-day offsite and two tasks; bob
shares a team calendar with alice; alice's address book has a dozen contacts
with birthdays spread over the year; there is a room and a workgroup.

Everything is written through the services the web calendar uses (saving,
scheduling, sharing, contacts), so the demo shows their real results: the
invitations sit in bob's and carol's calendars and the room has accepted.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from calcard import accounts, sharing, store
from calcard.accounts import rooms, workgroups
from calcard.calendar import calendars, saving
from calcard.contacts import cards
from calcard.core.models import Organization
from calcard.store import ItemData

DEMO_ORG = "Demo"
DEMO_USERS = (
    ("alice", "legal-representative", "Alice Martin"),
    ("bob", "administrator", "Bob Keller"),
    ("carol", "collaborator", "Carol Rossi"),
    ("dave", "external", "Dave External"),
)
ROOM, WORKGROUP = "Aquarium", "Team"
CONTACTS = (  # given, family, organization, birthday month
    ("Anna", "Schmidt", "Schmidt & Partner", 1),
    ("Björn", "Larsson", "Nordlys AB", 2),
    ("Chiara", "Bianchi", "Studio Bianchi", 3),
    ("Dmitri", "Ivanov", "", 4),
    ("Elif", "Yılmaz", "Yılmaz Lojistik", 5),
    ("François", "Dupont", "Dupont SA", 6),
    ("Grace", "Okafor", "", 7),
    ("Hiro", "Tanaka", "Tanaka Design", 8),
    ("Inés", "García", "", 9),
    ("Jonas", "Weber", "Weber GmbH", 10),
    ("Kalani", "Kahale", "", 11),
    ("Lena", "Novak", "Novak d.o.o.", 12),
)


def seed(s: Session, today: date | None = None) -> list[tuple[str, str]]:
    """Create the demo organization once; returns (login, password) pairs."""
    credentials = [(login, f"{login}-demo-pass") for login, _, _ in DEMO_USERS]
    if s.scalars(select(Organization).where(Organization.name == DEMO_ORG)).first():
        return credentials
    accounts.create_org(s, DEMO_ORG, plan="team")
    for (login, role, name), (_, password) in zip(DEMO_USERS, credentials, strict=True):
        accounts.add_user(
            s, login, DEMO_ORG, role, password, email=f"{login}@demo.invalid", name=name
        )
    room = rooms.create_room(s, DEMO_ORG, ROOM, capacity=8)
    workgroups.create(s, DEMO_ORG, WORKGROUP)
    for login in ("alice", "bob", "carol"):
        workgroups.add_member(s, DEMO_ORG, WORKGROUP, login)
    _alice_week(s, today or datetime.now(UTC).date(), room.email)
    _contacts(s)
    return credentials


def _at(day: date, hour: int, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).strftime(
        "%Y%m%dT%H%M%SZ"
    )


def _save(s: Session, path: str, uid: str, body: str) -> None:
    """Store one object in ``path`` (a calendar) through the saving sequence."""
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calcard//demo//EN\r\n"
        f"{body}END:VCALENDAR\r\n"
    )
    collection = store.get_collection(s, path)
    assert collection is not None  # every demo user's default calendar, made with the user
    saving.save(s, collection, ItemData.from_text(f"{uid}.ics", text), actor=path.split("/")[0])


def _event(uid: str, start: str, end: str, summary: str, extra: str = "") -> str:
    """A VEVENT; ``start`` and ``end`` are what follows DTSTART and DTEND (value type
    parameter and value)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:{stamp}\r\nDTSTART{start}\r\nDTEND{end}\r\n"
        f"SUMMARY:{summary}\r\n{extra}END:VEVENT\r\n"
    )


def _todo(uid: str, summary: str, due: date | None = None) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    due_line = f"DUE;VALUE=DATE:{due:%Y%m%d}\r\n" if due else ""
    return (
        f"BEGIN:VTODO\r\nUID:{uid}\r\nDTSTAMP:{stamp}\r\n{due_line}"
        f"SUMMARY:{summary}\r\nEND:VTODO\r\n"
    )


def _alice_week(s: Session, today: date, room_address: str) -> None:
    """Alice's meetings, tasks and the team calendar bob shares with her."""
    monday = today - timedelta(days=today.weekday())
    tomorrow = today + timedelta(days=1)
    friday = monday + timedelta(days=4 if today.weekday() < 4 else 11)
    invited = "".join(
        f"ATTENDEE;CN={name};PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{address}\r\n"
        for name, address in (
            ("Bob Keller", "bob@demo.invalid"),
            ("Carol Rossi", "carol@demo.invalid"),
            (ROOM, room_address),
        )
    )
    team_meeting = (
        "ORGANIZER;CN=Alice Martin:mailto:alice@demo.invalid\r\n"
        "ATTENDEE;CN=Alice Martin;PARTSTAT=ACCEPTED:mailto:alice@demo.invalid\r\n"
        f"{invited}RRULE:FREQ=WEEKLY;BYDAY=MO\r\nLOCATION:{ROOM}\r\n"
    )
    reminder = (
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:1:1 with Bob\r\n"
        "END:VALARM\r\n"
    )
    mine = {
        "demo-team-meeting": _event(
            "demo-team-meeting",
            f":{_at(monday, 10)}",
            f":{_at(monday, 11)}",
            "Team meeting",
            team_meeting,
        ),
        "demo-one-to-one": _event(
            "demo-one-to-one",
            f":{_at(tomorrow, 14)}",
            f":{_at(tomorrow, 14, 30)}",
            "1:1 with Bob",
            reminder,
        ),
        "demo-offsite": _event(
            "demo-offsite",
            f";VALUE=DATE:{friday:%Y%m%d}",
            f";VALUE=DATE:{friday + timedelta(days=1):%Y%m%d}",
            "Company offsite",
        ),
        "demo-task-report": _todo("demo-task-report", "Prepare the quarterly report", friday),
        "demo-task-tickets": _todo("demo-task-tickets", "Book train tickets for the offsite"),
    }
    for uid, body in mine.items():
        _save(s, "alice/calendar", uid, body)
    team = calendars.create(s, "bob", "Team", "#2e7d32")
    wednesday = monday + timedelta(days=2)
    release = _event(
        "demo-release", f":{_at(wednesday, 15)}", f":{_at(wednesday, 16)}", "Release planning"
    )
    _save(s, team.path, "demo-release", release)
    sharing.add_share(s, team.path, "user", "alice", "read-write")


def _contacts(s: Session) -> None:
    """A dozen contacts in alice's address book, one birthday a month."""
    for given, family, org, month in CONTACTS:
        data = cards.ContactInput(
            given=given, family=family, org=org, birthday=f"{1970 + 3 * month}-{month:02d}-14"
        )
        cards.create(s, "alice", "alice/contacts", data)
