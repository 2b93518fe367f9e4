"""Schedule-Tag (RFC 6638 §3.2.10, §8.2, §8.3, §9.3): an attendee's answer, sent with
If-Schedule-Tag-Match, never overwrites the organizer's concurrent change.

The scenario of §3.2.10 over real HTTP: the organizer invites, the attendee reads
their copy, the organizer moves the meeting, the attendee's stale answer is
refused (412) and changes nothing; a fresh one is accepted and keeps the tag.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from calcard.scheduling.tags import schedule_tag

from helpers import event, invitation, partstats

ICS = {"Content-Type": "text/calendar; charset=utf-8"}
START = datetime(2041, 3, 14, 9, 0, tzinfo=UTC)
PROPFIND = (
    '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:prop><D:getetag/><C:schedule-tag/></D:prop></D:propfind>"
)


def _answered(text: str, login: str, partstat: str) -> str:
    """The attendee's copy with their own PARTSTAT changed (and an alarm of their own)."""
    text = re.sub(
        rf"ATTENDEE;PARTSTAT=[A-Z-]+(;[^:]*)?:mailto:{login}@example.com",
        f"ATTENDEE;PARTSTAT={partstat}:mailto:{login}@example.com",
        text,
    )
    alarm = "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nDESCRIPTION:mine\r\nEND:VALARM\r\n"
    return text.replace("END:VEVENT", alarm + "END:VEVENT", 1)


def _copy_path(http: httpx.Client, login: str, uid: str) -> str:
    """Where the server delivered the attendee's copy of ``uid``."""
    listing = http.request("PROPFIND", f"/{login}/calendar/", headers={"Depth": "1"})
    for href in re.findall(r"<[^>]*href>([^<]+\.ics)</", listing.text):
        if f"UID:{uid}" in http.get(href).text:
            return href
    raise AssertionError(f"no copy of {uid} for {login}")


def test_a_stale_answer_is_refused_and_a_fresh_one_keeps_the_tag(server, team):
    organizer, (bob, _, _), _ = team
    uid = f"tag-{uuid.uuid4().hex[:8]}"
    path = f"/{organizer}/calendar/{uid}.ics"
    with server.client(organizer) as boss, server.client(bob) as guest:
        put = boss.put(path, content=invitation(uid, organizer, [f"{bob}@example.com"], START),
                       headers=ICS)
        assert put.status_code == 201
        organizer_tag = put.headers["schedule-tag"]
        assert boss.get(path).headers["schedule-tag"] == organizer_tag

        copy_path = _copy_path(guest, bob, uid)
        read = guest.get(copy_path)
        old_tag, old_text = read.headers["schedule-tag"], read.text
        # The organizer moves the meeting meanwhile: the attendee's copy gets a new tag.
        moved = invitation(uid, organizer, [f"{bob}@example.com"], START + timedelta(hours=2))
        assert boss.put(path, content=moved, headers=ICS).status_code == 204
        new = guest.get(copy_path)
        assert new.headers["schedule-tag"] != old_tag

        stale = guest.put(copy_path, content=_answered(old_text, bob, "ACCEPTED"),
                          headers={**ICS, "If-Schedule-Tag-Match": old_tag})
        assert stale.status_code == 412, stale.text
        kept = guest.get(copy_path)
        assert kept.text == new.text  # the organizer's move stands, no answer recorded
        assert partstats(boss.get(path).text)[f"{bob}@example.com"] == "NEEDS-ACTION"
        stale_delete = guest.delete(copy_path, headers={"If-Schedule-Tag-Match": old_tag})
        assert stale_delete.status_code == 412
        assert guest.get(copy_path).status_code == 200

        fresh = guest.put(copy_path, content=_answered(new.text, bob, "ACCEPTED"),
                          headers={**ICS, "If-Schedule-Tag-Match": new.headers["schedule-tag"]})
        assert fresh.status_code in (201, 204), fresh.text
        # The answer is the attendee's own change: their tag stays (stable-partstat) ...
        assert fresh.headers["schedule-tag"] == new.headers["schedule-tag"]
        after = guest.get(copy_path)
        assert after.headers["schedule-tag"] == new.headers["schedule-tag"]
        assert after.headers["etag"] != new.headers["etag"]
        # ... and the reply recorded in the organizer's copy leaves the organizer's tag too.
        mine = boss.get(path)
        assert partstats(mine.text)[f"{bob}@example.com"] == "ACCEPTED"
        assert mine.headers["schedule-tag"] == boss.get(path).headers["schedule-tag"]
        tag_after_move = schedule_tag(mine.text)
        assert mine.headers["schedule-tag"] == tag_after_move


def test_the_property_is_answered_for_scheduling_objects_only(server, team):
    organizer, (bob, _, _), _ = team
    uid = f"prop-{uuid.uuid4().hex[:8]}"
    with server.client(organizer) as http:
        meeting = invitation(uid, organizer, [f"{bob}@example.com"], START)
        http.put(f"/{organizer}/calendar/{uid}.ics", content=meeting, headers=ICS)
        plain = event(f"plain-{uid}", "20410314T090000Z", "20410314T100000Z")
        http.put(f"/{organizer}/calendar/plain-{uid}.ics", content=plain, headers=ICS)
        tag = http.get(f"/{organizer}/calendar/{uid}.ics").headers["schedule-tag"]
        assert "schedule-tag" not in http.get(f"/{organizer}/calendar/plain-{uid}.ics").headers
        listing = http.request(
            "PROPFIND", f"/{organizer}/calendar/", content=PROPFIND, headers={"Depth": "1"}
        )
    assert listing.status_code == 207
    responses = dict(re.findall(r"<[^>]*href>([^<]+)</[^>]*href>(.*?)</[^>]*response>",
                                listing.text, re.S))
    meeting_props = responses[f"/{organizer}/calendar/{uid}.ics"]
    assert re.search(rf"schedule-tag>{re.escape(tag)}<", meeting_props)
    plain_props = responses[f"/{organizer}/calendar/plain-{uid}.ics"]
    assert re.search(r"schedule-tag\s*/>.*404", plain_props, re.S)


def test_the_condition_on_a_missing_or_unscheduled_object_creates_and_changes_nothing(
    server, team
):
    organizer, _, _ = team
    uid = f"cond-{uuid.uuid4().hex[:8]}"
    with server.client(organizer) as http:
        missing = http.put(f"/{organizer}/calendar/{uid}.ics",
                           content=event(uid, "20410314T090000Z", "20410314T100000Z"),
                           headers={**ICS, "If-Schedule-Tag-Match": '"anything"'})
        assert missing.status_code == 412
        assert http.get(f"/{organizer}/calendar/{uid}.ics").status_code == 404
        plain = event(uid, "20410314T090000Z", "20410314T100000Z", summary="Mine")
        assert http.put(f"/{organizer}/calendar/{uid}.ics", content=plain,
                        headers=ICS).status_code == 201
        changed = plain.replace("Mine", "Overwritten")
        refused = http.put(f"/{organizer}/calendar/{uid}.ics", content=changed,
                           headers={**ICS, "If-Schedule-Tag-Match": '"anything"'})
        assert refused.status_code == 412
        assert "SUMMARY:Mine" in http.get(f"/{organizer}/calendar/{uid}.ics").text


def test_a_stranger_learns_no_tag_and_cannot_write_with_one(server, team):
    organizer, (bob, _, _), _ = team
    stranger = server.user()
    uid = f"strange-{uuid.uuid4().hex[:8]}"
    path = f"/{organizer}/calendar/{uid}.ics"
    with server.client(organizer) as http:
        http.put(path, content=invitation(uid, organizer, [f"{bob}@example.com"], START),
                 headers=ICS)
        tag = http.get(path).headers["schedule-tag"]
        before = http.get(path).text
    with server.client(stranger) as http:
        assert http.get(path).status_code in (403, 404)
        put = http.put(path, content=before.replace("Planning", "Hijacked"),
                       headers={**ICS, "If-Schedule-Tag-Match": tag})
        assert put.status_code in (403, 404)
    with server.client(organizer) as http:
        assert http.get(path).text == before


def test_the_tag_ignores_answers_alarms_and_stamps_and_follows_everything_else():
    base = invitation("u1", "org", ["a@example.com", "b@example.com"], START)
    tag = schedule_tag(base)
    assert tag and tag.startswith('"') and tag.endswith('"')
    same = [
        base.replace("ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:a@",
                     "ATTENDEE;RSVP=FALSE;PARTSTAT=ACCEPTED;SCHEDULE-STATUS=2.0:mailto:a@"),
        base.replace("TRIGGER:-PT10M", "TRIGGER:-PT1H"),
        base.replace("DTSTAMP:20260101T000000Z", "DTSTAMP:20301231T235959Z"),
        base.replace("LOCATION:HQ\r\n", "LOCATION:HQ\r\nX-MOZ-GENERATION:3\r\nTRANSP:OPAQUE\r\n"),
        base.replace("SUMMARY:Planning u1\r\nLOCATION:HQ", "LOCATION:HQ\r\nSUMMARY:Planning u1"),
        base.replace("LOCATION:HQ", "LOCA\r\n TION:HQ"),  # folded (RFC 5545 §3.1)
        base.replace("LOCATION:HQ\r\n", "LOCATION:HQ\r\nSEQUENCE:1\r\n"),  # an answer's
    ]
    assert {schedule_tag(text) for text in same} == {tag}
    # A client's serializer quotes and orders parameters its own way (RFC 5545 §3.2):
    # python-caldav writes CN="Org A" back as CN=Org A.
    quoted = base.replace("ORGANIZER:mailto:", 'ORGANIZER;CN="Org A";CUTYPE=INDIVIDUAL:mailto:')
    plain = base.replace("ORGANIZER:mailto:", "ORGANIZER;CUTYPE=INDIVIDUAL;CN=Org A:mailto:")
    assert schedule_tag(quoted) == schedule_tag(plain) != tag
    other = [
        base.replace("LOCATION:HQ", "LOCATION:Annex"),
        invitation("u1", "org", ["a@example.com", "b@example.com"], START + timedelta(days=1)),
        invitation("u1", "org", ["a@example.com"], START),
        base.replace("ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:a@",
                     "ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=NEEDS-ACTION:mailto:a@"),
    ]
    tags = [schedule_tag(text) for text in other]
    assert tag not in tags and len(set(tags)) == len(tags)
    assert schedule_tag(event("plain", "20410314T090000Z", "20410314T100000Z")) is None


def test_the_condition_holds_on_collection_delete_and_move_too(server, team):
    organizer, (bob, _, _), _ = team
    uid = f"mv-{uuid.uuid4().hex[:8]}"
    path = f"/{organizer}/calendar/{uid}.ics"
    with server.client(organizer) as http:
        http.put(path, content=invitation(uid, organizer, [f"{bob}@example.com"], START),
                 headers=ICS)
        assert http.request("MKCALENDAR", f"/{organizer}/scratch-{uid}/").status_code == 201
        gone = http.delete(f"/{organizer}/scratch-{uid}/", headers={"If-Schedule-Tag-Match": '"x"'})
        assert gone.status_code == 412
        listing = http.request("PROPFIND", f"/{organizer}/scratch-{uid}/", headers={"Depth": "0"})
        assert listing.status_code == 207
        moved = http.request(
            "MOVE", path,
            headers={"Destination": f"{server.url}/{organizer}/scratch-{uid}/{uid}.ics",
                     "If-Schedule-Tag-Match": '"stale"'},
        )
        assert moved.status_code == 412
        assert http.get(path).status_code == 200
        tag = http.get(path).headers["schedule-tag"]
        moved = http.request(
            "MOVE", path,
            headers={"Destination": f"{server.url}/{organizer}/scratch-{uid}/{uid}.ics",
                     "If-Schedule-Tag-Match": tag},
        )
        assert moved.status_code in (201, 204), moved.text
