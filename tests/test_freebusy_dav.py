"""Free/busy over DAV: free-busy-query REPORT and the RFC 6638 outbox, from calcard's data."""

from __future__ import annotations

from datetime import UTC, datetime

import caldav
import icalendar
from test_freebusy import event, people, put  # noqa: F401 (fixture)

from conftest import PASSWORD, report

QUERY = """<?xml version="1.0"?><C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
<C:time-range start="20270104T000000Z" end="20270105T000000Z"/></C:free-busy-query>"""


def periods(text) -> set[tuple[str, str]]:
    """(FBTYPE, start/end) of every FREEBUSY value in a VFREEBUSY."""
    calendar = icalendar.Calendar.from_ical(text)
    found = set()
    for component in calendar.walk("VFREEBUSY"):
        values = component.get("FREEBUSY", [])
        for value in values if isinstance(values, list) else [values]:
            first, last = value.dt
            found.add(
                (
                    value.params.get("FBTYPE", "BUSY"),
                    f"{first:%Y%m%dT%H%M%SZ}/{last:%Y%m%dT%H%M%SZ}",
                )
            )
    return found


def test_free_busy_query_report_answers_for_readers_only(server, people):  # noqa: F811
    organizer, colleague, org = people
    put(server, colleague, "meet", event("meet", "20270104T104500", "20270104T114500"))
    put(
        server,
        colleague,
        "maybe",
        event("maybe", "20270104T140000", "20270104T150000", "\r\nSTATUS:TENTATIVE"),
    )
    with server.client(organizer) as http:
        response = report(http, f"/{colleague}/calendar/", QUERY)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert periods(response.text) == {
        ("BUSY", "20270104T094500Z/20270104T104500Z"),
        ("BUSY-TENTATIVE", "20270104T130000Z/20270104T140000Z"),
    }
    with server.client(organizer) as http:  # the same calendar through the sharee's alias
        alias = report(http, f"/{organizer}/shared-{colleague}-calendar/", QUERY)
    assert alias.status_code == 200, alias.text
    assert periods(alias.text) == periods(response.text)
    stranger = server.user()
    with server.client(stranger) as http:
        assert report(http, f"/{colleague}/calendar/", QUERY).status_code == 403
        # A stranger cannot tell an existing calendar from a missing one by its answer.
        assert report(http, f"/{colleague}/no-such-kalender/", QUERY).status_code == 403
        assert report(http, f"/{stranger}/shared-{colleague}-calendar/", QUERY).status_code == 404
    with server.client(colleague) as http:
        assert (
            report(
                http, f"/{colleague}/calendar/", QUERY.replace('start="20270104T000000Z" ', "")
            ).status_code
            == 400
        )


def test_outbox_freebusy_request_with_the_caldav_library(server, people):  # noqa: F811
    organizer, colleague, _ = people
    put(server, colleague, "meet", event("meet", "20270104T104500", "20270104T114500"))
    principal = caldav.DAVClient(url=server.url, username=organizer, password=PASSWORD).principal()
    assert str(principal.schedule_outbox().url).endswith(f"/{organizer}/outbox/")
    assert f"mailto:{organizer}@example.com" in principal.calendar_user_address_set()
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
