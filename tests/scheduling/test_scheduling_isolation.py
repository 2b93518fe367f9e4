"""Scheduling is bound to the organizer (issue 14, finding 1), tested as the attacker.

A user of another organization knows (or guesses) the UID of someone's event, a
third user's invitation or a room booking, and saves an event of their own with
that UID, their own ORGANIZER and the victim as ATTENDEE: to overwrite it, to
cancel it (STATUS:CANCELLED, or deleting the event), or, as a forged attendee,
to answer on it. Every time the victim's item stays byte for byte the same
(ETag and text, read back as the victim) and the attacker's own copy records
the refusal as SCHEDULE-STATUS 3.8 (RFC 6638 §3.2.9).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import icalendar
import pytest

from calcard import accounts, store
from calcard.accounts import rooms

START = datetime(2031, 3, 14, 9, 30, tzinfo=UTC)  # far from today, fixed


def event(
    uid: str,
    organizer: str | None = None,
    attendees: tuple[str, ...] = (),
    summary: str = "Réunion à Zürich",
    status: str = "",
    partstat: str = "NEEDS-ACTION",
) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//test//isolation//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20260101T000000Z",
        f"DTSTART:{START:%Y%m%dT%H%M%SZ}",
        f"DTEND:{START + timedelta(hours=1):%Y%m%dT%H%M%SZ}",
        f"SUMMARY:{summary}",
    ]
    if organizer:
        lines.append(f"ORGANIZER:mailto:{organizer}")
        lines.append(f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{organizer}")
    lines += [f"ATTENDEE;PARTSTAT={partstat};RSVP=TRUE:mailto:{a}" for a in attendees]
    if status:
        lines.append(f"STATUS:{status}")
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines)


def mail(login: str) -> str:
    return f"{login}@example.com"


def put(server, login: str, href: str, text: str) -> httpx.Response:
    with server.client(login) as c:
        return c.put(
            f"/{login}/calendar/{href}",
            content=text.encode(),
            headers={"Content-Type": "text/calendar; charset=utf-8"},
        )


def get(server, login: str, path: str) -> tuple[str, str]:
    """(ETag, text) of an item, read as ``login``."""
    with server.client(login) as c:
        response = c.get(path)
    assert response.status_code == 200, response.text
    return response.headers["etag"], response.text


def delete(server, login: str, href: str) -> None:
    with server.client(login) as c:
        assert c.delete(f"/{login}/calendar/{href}").status_code in (200, 204)


def attendee_params(text: str, who: str) -> dict[str, str]:
    vevent = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]
    found = vevent.get("ATTENDEE", [])
    for attendee in found if isinstance(found, list) else [found]:
        if str(attendee).lower() == f"mailto:{who}":
            return {k: str(v) for k, v in attendee.params.items()}
    raise AssertionError(f"{who} is no attendee")


def items_of(server, path: str) -> dict[str, str]:
    """href -> ETag of the live items of a collection (a room cannot log in)."""
    with server.backend.db.transaction() as s:
        collection = store.get_collection(s, path)
        return {i.href: i.etag for i in store.all_items(s, collection.id)}


def attacks(server, attacker: str, victim: str, uid: str) -> None:
    """Overwrite, cancel, then delete: an event of the attacker's with the victim's UID."""
    href = f"{uid}-mine.ics"
    created = put(server, attacker, href, event(uid, mail(attacker), (mail(victim),)))
    assert created.status_code == 201
    _, mine = get(server, attacker, f"/{attacker}/calendar/{href}")
    assert attendee_params(mine, mail(victim))["SCHEDULE-STATUS"] == "3.8"
    put(server, attacker, href, event(uid, mail(attacker), (mail(victim),), "Hacked", "CANCELLED"))
    delete(server, attacker, href)


@pytest.fixture
def people(server):
    """A victim and a third user in one organization, an attacker in another."""
    victim = server.user()
    third = server.user(org=f"org-{victim}")
    attacker = server.user()
    return victim, third, attacker


def test_another_organization_cannot_overwrite_or_cancel_a_users_own_event(server, people):
    victim, _, attacker = people
    uid = f"own-{victim}-ü"
    assert put(server, victim, "own.ics", event(uid)).status_code == 201
    before = get(server, victim, f"/{victim}/calendar/own.ics")

    attacks(server, attacker, victim, uid)

    assert get(server, victim, f"/{victim}/calendar/own.ics") == before
    assert len(items_of(server, f"{victim}/calendar")) == 1


def test_another_organization_cannot_overwrite_cancel_or_answer_on_an_invitation(server, people):
    victim, third, attacker = people
    uid = f"invite-{third}"
    href = "from-third.ics"
    assert put(server, third, href, event(uid, mail(third), (mail(victim),))).status_code == 201
    copy_href = next(iter(items_of(server, f"{victim}/calendar")))
    copy_path = f"/{victim}/calendar/{copy_href}"
    before = get(server, victim, copy_path)

    attacks(server, attacker, victim, uid)
    assert get(server, victim, copy_path) == before

    # The third user's own update and cancellation still reach the victim.
    put(server, third, href, event(uid, mail(third), (mail(victim),), "Déplacé"))
    assert "Déplacé" in get(server, victim, copy_path)[1]
    put(server, third, href, event(uid, mail(third), (mail(victim),), "Déplacé", "CANCELLED"))
    assert "STATUS:CANCELLED" in get(server, victim, copy_path)[1]


def test_a_forged_reply_changes_only_the_organizers_own_event(server, people):
    """An attendee "answers" claiming the victim organizes the third user's event."""
    victim, third, attacker = people
    uid = f"reply-{third}"
    put(server, third, "both.ics", event(uid, mail(third), (mail(victim), mail(attacker))))
    copy_path = f"/{victim}/calendar/{next(iter(items_of(server, f'{victim}/calendar')))}"
    before = get(server, victim, copy_path)
    organizers_before = get(server, third, f"/{third}/calendar/both.ics")

    forged = event(uid, mail(victim), (mail(attacker),), partstat="ACCEPTED")
    [attacker_copy] = items_of(server, f"{attacker}/calendar")
    put(server, attacker, attacker_copy, forged)

    assert get(server, victim, copy_path) == before
    assert get(server, third, f"/{third}/calendar/both.ics") == organizers_before


def test_a_new_copy_never_lands_on_an_href_the_attendee_uses(server, people):
    victim, _, attacker = people
    assert put(server, victim, "taken.ics", event(f"other-{victim}")).status_code == 201
    before = get(server, victim, f"/{victim}/calendar/taken.ics")

    put(server, attacker, "x.ics", event("taken", mail(attacker), (mail(victim),)))

    assert get(server, victim, f"/{victim}/calendar/taken.ics") == before
    assert len(items_of(server, f"{victim}/calendar")) == 2  # the invitation, elsewhere


@pytest.fixture
def room(server, people):
    victim, _, _ = people
    with server.backend.db.transaction(write=True) as s:
        return rooms.create_room(s, f"org-{victim}", f"Salle Ærø {victim}").login


def room_answer(server, login: str, href: str, room_login: str) -> dict[str, str]:
    _, text = get(server, login, f"/{login}/calendar/{href}")
    return attendee_params(text, f"{room_login}@rooms.calcard.invalid")


def test_a_booking_is_changed_and_cancelled_only_by_its_organizer(server, people, room):
    victim, third, attacker = people
    address = f"{room}@rooms.calcard.invalid"
    uid = f"booking-{victim}"
    put(server, victim, "book.ics", event(uid, mail(victim), (address,)))
    assert room_answer(server, victim, "book.ics", room)["PARTSTAT"] == "ACCEPTED"
    booked = items_of(server, f"{room}/calendar")
    assert len(booked) == 1

    for intruder in (attacker, third):  # another organization, and a colleague
        href = f"{uid}-{intruder}.ics"
        put(server, intruder, href, event(uid, mail(intruder), (address,), "Squat"))
        answer = room_answer(server, intruder, href, room)
        assert (answer["PARTSTAT"], answer["SCHEDULE-STATUS"]) == ("DECLINED", "3.8")
        put(server, intruder, href, event(uid, mail(intruder), (address,), "Squat", "CANCELLED"))
        delete(server, intruder, href)
        assert items_of(server, f"{room}/calendar") == booked

    # Its organizer still moves it (same booking, new text) and cancels it.
    put(server, victim, "book.ics", event(uid, mail(victim), (address,), "Point à midi"))
    moved = items_of(server, f"{room}/calendar")
    assert moved.keys() == booked.keys() and moved != booked
    delete(server, victim, "book.ics")
    with server.backend.db.transaction() as s:
        collection = store.get_collection(s, f"{room}/calendar")
        [kept] = store.all_items(s, collection.id)
        assert "STATUS:CANCELLED" in kept.text


def test_only_members_of_the_rooms_organization_book_it(server, people, room):
    victim, _, attacker = people
    external = server.user(role="external", org=f"org-{victim}")
    address = f"{room}@rooms.calcard.invalid"
    for outsider in (attacker, external):
        put(server, outsider, "grab.ics", event(f"grab-{outsider}", mail(outsider), (address,)))
        assert room_answer(server, outsider, "grab.ics", room)["PARTSTAT"] == "DECLINED"
        assert room_answer(server, outsider, "grab.ics", room)["SCHEDULE-STATUS"] == "3.8"
    assert items_of(server, f"{room}/calendar") == {}
    with server.backend.db.transaction() as s:
        assert accounts.role_of(s, external, accounts.get_org(s, f"org-{victim}")) == "external"
