"""A prop-filter without a component type (RFC 4791 §9.7.1–§9.7.5).

``<comp-filter name="VCALENDAR"><prop-filter name="SUMMARY">…`` finds events and
tasks alike, whether calcard writes the answer (getetag and calendar-data) or
Radicale does (any other property asked); ``is-not-defined`` and
``negate-condition`` keep their meaning (SQLite and PostgreSQL).
"""

from __future__ import annotations

import pytest

from conftest import report
from helpers import dav_calendar

ICS = {"Content-Type": "text/calendar; charset=utf-8"}
HEAD = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calcard tests//EN\r\n"
ITEMS = {
    "board-meeting.ics": (
        "VEVENT",
        "SUMMARY:Board meeting\r\nCATEGORIES:BUSINESS,HUMAN RESOURCES\r\n"
        "DTSTART:20270105T090000Z\r\nDTEND:20270105T100000Z\r\n",
    ),
    "board-minutes.ics": (
        "VTODO",
        "SUMMARY:Write the board minutes\r\nCATEGORIES:BUSINESS\r\nDUE:20270106T170000Z\r\n",
    ),
    "lunch.ics": ("VEVENT", "SUMMARY:Lunch\r\nDTSTART:20270105T120000Z\r\n"),
    "untitled.ics": ("VTODO", "DUE:20270107T170000Z\r\n"),
}
PROPS = {"calcard": "<D:getetag/><C:calendar-data/>", "radicale": "<D:getetag/><D:displayname/>"}
QUERY = """<?xml version="1.0" encoding="utf-8" ?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop>{props}</D:prop>
  <C:filter><C:comp-filter name="VCALENDAR">{inner}</C:comp-filter></C:filter>
</C:calendar-query>"""


def text_match(name: str, text: str, extra: str = "") -> str:
    return (
        f'<C:prop-filter name="{name}"><C:text-match{extra}>{text}</C:text-match></C:prop-filter>'
    )


@pytest.fixture(scope="module")
def owner(server):
    login = server.user()
    with server.client(login) as http:
        for href, (component, lines) in ITEMS.items():
            uid = href.removesuffix(".ics")
            body = (
                f"{HEAD}BEGIN:{component}\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
                f"{lines}END:{component}\r\nEND:VCALENDAR\r\n"
            )
            put = http.put(f"/{login}/calendar/{href}", content=body.encode(), headers=ICS)
            assert put.status_code == 201, put.text
    return login


def found(server, login: str, inner: str, props: str) -> set[str]:
    with server.client(login) as http:
        response = report(
            http, f"/{login}/calendar/", QUERY.format(props=PROPS[props], inner=inner)
        )
    assert response.status_code == 207, response.text
    return {href for href in ITEMS if f"/{href}</href>" in response.text}


@pytest.mark.parametrize("props", sorted(PROPS))
@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        (text_match("SUMMARY", "board"), {"board-meeting.ics", "board-minutes.ics"}),
        (text_match("SUMMARY", "board", ' collation="i;octet"'), {"board-minutes.ics"}),
        (text_match("SUMMARY", "Board", ' collation="i;octet"'), {"board-meeting.ics"}),
        (text_match("CATEGORIES", "BUSINESS"), {"board-meeting.ics", "board-minutes.ics"}),
        (
            text_match("SUMMARY", "board", ' negate-condition="yes"'),
            {"lunch.ics"},  # §9.7.5: a component without SUMMARY does not match either
        ),
        ('<C:prop-filter name="SUMMARY"><C:is-not-defined/></C:prop-filter>', {"untitled.ics"}),
        ('<C:prop-filter name="SUMMARY"/>', set(ITEMS) - {"untitled.ics"}),
        ('<C:prop-filter name="PRODID"/>', set(ITEMS)),  # VCALENDAR's own property
        (
            text_match("SUMMARY", "board") + '<C:comp-filter name="VTODO"/>',
            {"board-minutes.ics"},
        ),
        (text_match("SUMMARY", "nothing like it"), set()),
    ],
)
def test_a_prop_filter_under_vcalendar_finds_events_and_tasks(
    server, owner, props, inner, expected
):
    assert found(server, owner, inner, props) == expected


def test_the_caldav_library_searches_by_summary_without_a_component_type(server, owner):
    calendar = dav_calendar(server, owner)
    objects = calendar.search(summary="oard", post_filter=False, compatibility_workarounds=False)
    assert {o.url.path.rsplit("/", 1)[1] for o in objects} == {
        "board-meeting.ics",
        "board-minutes.ics",
    }


@pytest.mark.parametrize(
    "inner",
    [
        '<C:prop-filter name="SUMMARY"><C:bogus/></C:prop-filter>',
        '<C:prop-filter name="SUMMARY"><C:text-match/><C:is-not-defined/><C:x/></C:prop-filter>',
    ],
)
def test_a_malformed_prop_filter_under_vcalendar_is_a_400(server, owner, inner):
    with server.client(owner) as http:
        response = report(
            http, f"/{owner}/calendar/", QUERY.format(props=PROPS["radicale"], inner=inner)
        )
    assert response.status_code == 400, response.text
