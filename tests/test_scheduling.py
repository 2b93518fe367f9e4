"""Invitations and replies (RFC 6638 inside calcard, iMIP outside) with the caldav library
and a real SMTP server."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import caldav
import httpx
import icalendar
import pytest
from test_reminders import smtp  # noqa: F401 (fixture)

from calcard import accounts, links, rooms, scheduling
from calcard.config import Settings
from calcard.dispatcher import Dispatcher

from conftest import PASSWORD


@pytest.fixture
def team(server):
    """An organizer, two colleagues, an uninvited colleague and a room in one organization."""
    organizer = server.user("administrator")
    org = f"org-{organizer}"
    people = [server.user(org=org) for _ in range(3)]
    with server.backend.db.transaction(write=True) as s:
        for login in [organizer, *people]:
            accounts.set_user(s, login, email=f"{login}@example.com")
        accounts.update_settings(s, organizer, {"language": "de"})
        room = rooms.create_room(s, org, f"Room {organizer}")
        room_address = room.email
    return organizer, people, room_address


def client(server, login: str) -> caldav.Calendar:
    principal = caldav.DAVClient(url=server.url, username=login, password=PASSWORD).principal()
    return principal.calendar(cal_id="calendar")


def invitation(
    uid: str,
    organizer: str,
    attendees: list[str],
    start: datetime,
    hours: int = 1,
    status: str = "",
) -> str:
    people = "".join(f"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{a}\r\n" for a in attendees)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\n"
        f"DTEND:{start + timedelta(hours=hours):%Y%m%dT%H%M%SZ}\r\nSUMMARY:Planning {uid}\r\n"
        f"LOCATION:HQ\r\nORGANIZER:mailto:{organizer}@example.com\r\n"
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{organizer}@example.com\r\n{people}{status}"
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT10M\r\nDESCRIPTION:r\r\nEND:VALARM\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def partstats(text: str) -> dict[str, str]:
    event = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]
    found = event.get("ATTENDEE", [])
    found = found if isinstance(found, list) else [found]
    return {str(a).lower().removeprefix("mailto:"): str(a.params.get("PARTSTAT")) for a in found}


def rsvp_link(mail) -> str:
    plain = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    return re.search(r"(http://\S+/api/rsvp\?\S+)", plain.get_payload(decode=True).decode())[1]


def flush_mail(server, smtp_box) -> None:  # noqa: F811
    settings = Settings(
        data_dir=server.log.parent,
        database_url=server.backend.url,
        smtp_url=smtp_box.url,
        base_url=server.url,
    )
    dispatcher = Dispatcher(server.backend.db, settings)
    while dispatcher.run_once():
        pass


def answer(server, login: str, uid: str, partstat: str) -> None:
    calendar = client(server, login)
    event = calendar.event_by_uid(uid)
    ical = event.icalendar_instance
    for attendee in ical.walk("VEVENT")[0].get("ATTENDEE"):
        if str(attendee).lower() == f"mailto:{login}@example.com":
            attendee.params["PARTSTAT"] = partstat
    event.data = ical.to_ical().decode()
    event.save()


def test_invite_answer_update_and_cancel(server, team, smtp):  # noqa: F811
    organizer, (bob, carol, _), room = team
    start = (datetime.now(UTC) + timedelta(days=9)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    external = "guest@elsewhere.example"
    cal = client(server, organizer)
    cal.save_event(
        invitation(
            "plan", organizer, [f"{bob}@example.com", f"{carol}@example.com", external, room], start
        )
    )
    mine = cal.event_by_uid("plan").data
    assert partstats(mine)[room] == "ACCEPTED"
    assert "SCHEDULE-STATUS=1.2" in mine and "SCHEDULE-STATUS=1.1" in mine

    for login in (bob, carol):
        copy = client(server, login).event_by_uid("plan").data
        assert partstats(copy)[f"{login}@example.com"] == "NEEDS-ACTION"
        assert "VALARM" not in copy  # the organizer's reminders are not the guests'
    flush_mail(server, smtp)
    (invite,) = smtp.to(external)
    parts = {p.get_content_type(): p for p in invite.walk()}
    assert "text/html" in parts and "text/calendar" in parts
    assert parts["text/calendar"].get_param("method") == "REQUEST"
    assert invite["Subject"].startswith("Einladung: Planning plan")  # organizer's language
    link = rsvp_link(invite)

    answer(server, bob, "plan", "ACCEPTED")
    answer(server, carol, "plan", "DECLINED")
    page = httpx.get(link)
    assert page.status_code == 200 and "TENTATIVE" in page.text
    form = dict(re.findall(r"name='(\w+)' value='([^']*)'", page.text))
    form = {k: v.replace("&amp;", "&") for k, v in form.items()}
    done = httpx.post(f"{server.url}/api/rsvp", data={**form, "answer": "TENTATIVE"})
    assert done.status_code == 200, done.text

    answers = partstats(cal.event_by_uid("plan").data)
    assert answers[f"{bob}@example.com"] == "ACCEPTED"
    assert answers[f"{carol}@example.com"] == "DECLINED"
    assert answers[external] == "TENTATIVE"
    assert answers[room] == "ACCEPTED"
    flush_mail(server, smtp)
    assert any(
        "guest@elsewhere.example" in m["Subject"] for m in smtp.to(f"{organizer}@example.com")
    )

    # A change of time asks everyone again.
    event = cal.event_by_uid("plan")
    event.data = invitation(
        "plan",
        organizer,
        [f"{bob}@example.com", f"{carol}@example.com", external, room],
        start + timedelta(hours=2),
    )
    event.save()
    assert (
        partstats(client(server, bob).event_by_uid("plan").data)[f"{bob}@example.com"]
        == "NEEDS-ACTION"
    )
    flush_mail(server, smtp)
    assert len(smtp.to(external)) == 2

    # Cancelling removes it from the attendees' calendars (marked cancelled) and mails outside.
    cal.event_by_uid("plan").delete()
    copy = client(server, bob).event_by_uid("plan").data
    assert "STATUS:CANCELLED" in copy
    flush_mail(server, smtp)
    cancel = smtp.to(external)[-1]
    assert {
        p.get_param("method") for p in cancel.walk() if p.get_content_type() == "text/calendar"
    } == {"CANCEL"}


def test_two_organizers_racing_for_one_room(server, team):
    organizer, (bob, _, _), room = team
    start = (datetime.now(UTC) + timedelta(days=12)).replace(
        hour=14, minute=0, second=0, microsecond=0
    )
    barrier = threading.Barrier(2)

    def book(login: str, uid: str) -> None:
        calendar = client(server, login)
        barrier.wait()
        calendar.save_event(invitation(uid, login, [room], start))

    threads = [threading.Thread(target=book, args=(who, f"race-{who}")) for who in (organizer, bob)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = sorted(
        partstats(client(server, who).event_by_uid(f"race-{who}").data)[room]
        for who in (organizer, bob)
    )
    assert results == ["ACCEPTED", "DECLINED"]


def test_forged_or_expired_links_and_replies_from_strangers_change_nothing(server, team, smtp):  # noqa: F811
    organizer, (bob, _, dave), _ = team
    start = (datetime.now(UTC) + timedelta(days=15)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    external = "invitee@elsewhere.example"
    cal = client(server, organizer)
    cal.save_event(invitation("guarded", organizer, [f"{bob}@example.com", external], start))
    before = cal.event_by_uid("guarded").data
    flush_mail(server, smtp)
    link = rsvp_link(smtp.to(external)[-1])
    params = dict(x.split("=", 1) for x in link.split("?", 1)[1].split("&"))
    params = {k: httpx.QueryParams(f"x={v}")["x"] for k, v in params.items()}

    forged = {**params, "a": "mallory@elsewhere.example", "answer": "ACCEPTED"}
    assert httpx.post(f"{server.url}/api/rsvp", data=forged).status_code == 403
    with server.backend.db.transaction() as s:
        expired_at = int((datetime.now(UTC) - timedelta(days=1)).timestamp())
        purpose = scheduling.rsvp_purpose(int(params["c"]), params["h"], external, expired_at)
        old = {**params, "e": str(expired_at), "sig": links.sign(s, purpose)}
    response = httpx.post(f"{server.url}/api/rsvp", data={**old, "answer": "ACCEPTED"})
    assert response.status_code == 403 and "abgelaufen" in response.text  # organizer's language
    # A colleague who was never invited "answers" by saving a copy of their own.
    client(server, dave).save_event(
        invitation("guarded", organizer, [f"{dave}@example.com"], start).replace(
            f"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{dave}",
            f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{dave}",
        )
    )
    assert partstats(cal.event_by_uid("guarded").data) == partstats(before)
