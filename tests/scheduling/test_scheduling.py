"""Invitations and replies (RFC 6638 inside calcard, iMIP outside) with the caldav library
and a real SMTP server."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

import httpx

from calcard import scheduling
from calcard.core import links

from helpers import answer, dav_calendar, flush_mail, invitation, partstats, rsvp_link


def test_invite_answer_update_and_cancel(server, team, smtp):
    organizer, (bob, carol, _), room = team
    start = (datetime.now(UTC) + timedelta(days=9)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    external = "guest@elsewhere.example"
    cal = dav_calendar(server, organizer)
    cal.save_event(
        invitation(
            "plan", organizer, [f"{bob}@example.com", f"{carol}@example.com", external, room], start
        )
    )
    mine = cal.event_by_uid("plan").data
    assert partstats(mine)[room] == "ACCEPTED"
    assert "SCHEDULE-STATUS=1.2" in mine and "SCHEDULE-STATUS=1.1" in mine

    for login in (bob, carol):
        copy = dav_calendar(server, login).event_by_uid("plan").data
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
        partstats(dav_calendar(server, bob).event_by_uid("plan").data)[f"{bob}@example.com"]
        == "NEEDS-ACTION"
    )
    flush_mail(server, smtp)
    assert len(smtp.to(external)) == 2

    # Cancelling removes it from the attendees' calendars (marked cancelled) and mails outside.
    cal.event_by_uid("plan").delete()
    copy = dav_calendar(server, bob).event_by_uid("plan").data
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
        calendar = dav_calendar(server, login)
        barrier.wait()
        calendar.save_event(invitation(uid, login, [room], start))

    threads = [threading.Thread(target=book, args=(who, f"race-{who}")) for who in (organizer, bob)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = sorted(
        partstats(dav_calendar(server, who).event_by_uid(f"race-{who}").data)[room]
        for who in (organizer, bob)
    )
    assert results == ["ACCEPTED", "DECLINED"]


def test_forged_or_expired_links_and_replies_from_strangers_change_nothing(server, team, smtp):
    organizer, (bob, _, dave), _ = team
    start = (datetime.now(UTC) + timedelta(days=15)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    external = "invitee@elsewhere.example"
    cal = dav_calendar(server, organizer)
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
    dav_calendar(server, dave).save_event(
        invitation("guarded", organizer, [f"{dave}@example.com"], start).replace(
            f"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{dave}",
            f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{dave}",
        )
    )
    assert partstats(cal.event_by_uid("guarded").data) == partstats(before)
