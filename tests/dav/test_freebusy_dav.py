"""Free/busy over DAV: free-busy-query REPORT and the RFC 6638 outbox, from calcard's data."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import caldav
import icalendar

from conftest import PASSWORD, report
from helpers import FREE_BUSY_QUERY, periods, put_event, zoned_event


def test_free_busy_query_report_answers_for_readers_only(server, people):
    organizer, colleague, org = people
    put_event(server, colleague, "meet", zoned_event("meet", "20270104T104500", "20270104T114500"))
    put_event(
        server,
        colleague,
        "maybe",
        zoned_event("maybe", "20270104T140000", "20270104T150000", "\r\nSTATUS:TENTATIVE"),
    )
    with server.client(organizer) as http:
        response = report(http, f"/{colleague}/calendar/", FREE_BUSY_QUERY)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert periods(response.text) == {
        ("BUSY", "20270104T094500Z/20270104T104500Z"),
        ("BUSY-TENTATIVE", "20270104T130000Z/20270104T140000Z"),
    }
    with server.client(organizer) as http:  # the same calendar through the sharee's alias
        alias = report(http, f"/{organizer}/shared-{colleague}-calendar/", FREE_BUSY_QUERY)
    assert alias.status_code == 200, alias.text
    assert periods(alias.text) == periods(response.text)
    stranger = server.user()
    with server.client(stranger) as http:
        assert report(http, f"/{colleague}/calendar/", FREE_BUSY_QUERY).status_code == 403
        # A stranger cannot tell an existing calendar from a missing one by its answer.
        missing = report(http, f"/{colleague}/no-such-kalender/", FREE_BUSY_QUERY)
        assert missing.status_code == 403
        assert (
            report(http, f"/{stranger}/shared-{colleague}-calendar/", FREE_BUSY_QUERY).status_code
            == 404
        )
    with server.client(colleague) as http:
        assert (
            report(
                http,
                f"/{colleague}/calendar/",
                FREE_BUSY_QUERY.replace('start="20270104T000000Z" ', ""),
            ).status_code
            == 400
        )


def test_outbox_freebusy_request_with_the_caldav_library(server, people):
    organizer, colleague, _ = people
    put_event(server, colleague, "meet", zoned_event("meet", "20270104T104500", "20270104T114500"))
    principal = caldav.DAVClient(url=server.url, username=organizer, password=PASSWORD).principal()
    assert str(principal.schedule_outbox().url).endswith(f"/{organizer}/outbox/")
    assert f"mailto:{organizer}@example.com" in principal.calendar_user_address_set()
    # The e-mail address first: clients (and caldav-server-tester) invite by the first one.
    body = (
        '<propfind xmlns="DAV:"><prop><calendar-user-address-set'
        ' xmlns="urn:ietf:params:xml:ns:caldav"/></prop></propfind>'
    )
    with server.client(organizer) as http:
        found = http.request("PROPFIND", f"/{organizer}/", content=body, headers={"Depth": "0"})
    hrefs = re.findall(r"<[^>]*href>([^<]+)</[^>]*href>", found.text)
    assert hrefs[1:3] == [f"mailto:{organizer}@example.com", f"/{organizer}/"], found.text
    stranger = server.user()
    answers = principal.freebusy_request(
        datetime(2027, 1, 4, tzinfo=UTC),
        datetime(2027, 1, 5, tzinfo=UTC),
        [
            icalendar.vCalAddress(f"mailto:{colleague}@example.com"),
            icalendar.vCalAddress(f"mailto:{stranger}@example.com"),
            icalendar.vCalAddress("mailto:nobody@elsewhere.example"),
        ],
    )
    errors = {str(k).lower(): v for k, v in answers.pop("errors").items()}
    (known,) = answers.values()
    assert ("BUSY", "20270104T094500Z/20270104T104500Z") in periods(known.data)
    assert errors[f"mailto:{stranger}@example.com"].startswith("3.8")
    assert errors["mailto:nobody@elsewhere.example"].startswith("3.7")


def test_an_outbox_request_with_floating_or_reversed_times(server, people):
    """RFC 5545 §3.6.4 wants UTC; python-caldav sends ``datetime.now()`` floating, which
    answered 500. Floating times and dates are read in the organizer's zone (here
    Europe/Zurich, UTC+1 in January); an end before the start is a 400."""
    organizer, colleague, _ = people
    put_event(server, colleague, "meet", zoned_event("meet", "20270104T104500", "20270104T114500"))
    principal = caldav.DAVClient(url=server.url, username=organizer, password=PASSWORD).principal()
    attendee = [icalendar.vCalAddress(f"mailto:{colleague}@example.com")]
    # 10:50 to 11:30 in Zurich overlaps the meeting (09:45Z to 10:45Z); read as UTC it would not
    answers = principal.freebusy_request(
        datetime(2027, 1, 4, 10, 50), datetime(2027, 1, 4, 11, 30), attendee
    )
    assert answers.pop("errors") == {}
    (known,) = answers.values()
    assert periods(known.data) == {("BUSY", "20270104T094500Z/20270104T104500Z")}
    assert "DTSTART:20270104T095000Z" in known.data  # the reply's range in UTC
    by_date = principal.freebusy_request(date(2027, 1, 4), date(2027, 1, 5), attendee)
    by_date.pop("errors")
    assert ("BUSY", "20270104T094500Z/20270104T104500Z") in periods(
        next(iter(by_date.values())).data
    )
    reversed_body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nMETHOD:REQUEST\r\nBEGIN:VFREEBUSY\r\n"
        "UID:r\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:20270105T000000Z\r\n"
        f"DTEND:20270104T000000Z\r\nORGANIZER:mailto:{organizer}@example.com\r\n"
        f"ATTENDEE:mailto:{colleague}@example.com\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"
    )
    hostile = {  # an end before the start, year 1 east of UTC, a bare time: 400
        reversed_body: "DTEND must be after",
        reversed_body.replace("DTSTART:20270105T000000Z", "DTSTART:00010101T000000"): "in range",
        reversed_body.replace("DTSTART:20270105T000000Z", "DTSTART:120000"): "",
    }
    with server.client(organizer) as http:
        for body, reason in hostile.items():
            answer = http.post(
                f"/{organizer}/outbox/", content=body, headers={"Content-Type": "text/calendar"}
            )
            assert answer.status_code == 400, (body, answer.text)
            assert reason in answer.text
