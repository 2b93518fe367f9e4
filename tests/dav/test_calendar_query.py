"""calendar-query REPORTs written by calcard (plugins/calcard_radicale/query.py).

Each query is asked twice: in the shape calcard answers itself, and with one
more property (displayname) that leaves the answer to Radicale. Both must list
the same hrefs with the same etags, calendar data and content types, whatever
the filter (time range, component only, text match), the component (events,
tasks) or the text (XML specials, non-ASCII, folded lines).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from calcard.store import ItemData
from calcard_radicale import query

from conftest import report
from helpers import share

DAV, CALDAV = "DAV:", "urn:ietf:params:xml:ns:caldav"
ICS = {"Content-Type": "text/calendar; charset=utf-8"}
START = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
PROPS = {
    "etag": "<D:getetag/>",
    "data": "<C:calendar-data/>",
    "both": "<D:getetag/><C:calendar-data/>",
    "all": "<D:getcontenttype/><D:getetag/><C:calendar-data/>",
}
RADICALE_ONLY = "<D:displayname/>"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def window(days_from: int, days_to: int) -> str:
    return (
        f'<C:time-range start="{stamp(START + timedelta(days_from))}" '
        f'end="{stamp(START + timedelta(days_to))}"/>'
    )


FILTERS = {
    "week of events": f'<C:comp-filter name="VEVENT">{window(-1, 6)}</C:comp-filter>',
    "far past": f'<C:comp-filter name="VEVENT">{window(-400, -300)}</C:comp-filter>',
    "every event": '<C:comp-filter name="VEVENT"/>',
    "tasks in range": f'<C:comp-filter name="VTODO">{window(0, 10)}</C:comp-filter>',
    "whole calendar": "",
    "text match": (
        '<C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY">'
        "<C:text-match>R&amp;D</C:text-match></C:prop-filter></C:comp-filter>"
    ),
}


def calendar(component: str) -> str:
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calcard tests//EN\r\n"
    return f"{head}{component}END:VCALENDAR\r\n"


def vevent(uid: str, offset_hours: int, *lines: str) -> str:
    begin = START + timedelta(hours=offset_hours)
    body = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20260101T000000Z",
        f"DTSTART:{stamp(begin)}",
        f"DTEND:{stamp(begin + timedelta(hours=1))}",
        *lines,
        "END:VEVENT",
    ]
    return "\r\n".join(body) + "\r\n"


ITEMS = {
    "specials": calendar(
        vevent(
            "specials",
            0,
            "SUMMARY:R&D <review> \"quoted\" 'single' ]]> ünïcödé — €",
            "DESCRIPTION:a line\\nanother & more <tags> than fit on one physical line of a"
            "n iCalendar file\\, so it is folded",
        )
    ),
    "weekly": calendar(vevent("weekly", 26, "SUMMARY:R&D weekly", "RRULE:FREQ=WEEKLY;COUNT=10")),
    "floating": calendar(
        "BEGIN:VEVENT\r\nUID:floating\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART:{(START + timedelta(days=2)).strftime('%Y%m%dT%H%M%S')}\r\n"
        "DURATION:PT2H\r\nSUMMARY:Floating\r\nEND:VEVENT\r\n"
    ),
    "all-day": calendar(
        "BEGIN:VEVENT\r\nUID:all-day\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;VALUE=DATE:{(START + timedelta(days=4)).strftime('%Y%m%d')}\r\n"
        "SUMMARY:Holiday\r\nEND:VEVENT\r\n"
    ),
    "old": calendar(vevent("old", -24 * 350, "SUMMARY:Last year")),
    "task": calendar(
        "BEGIN:VTODO\r\nUID:task\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DUE:{stamp(START + timedelta(days=5))}\r\nSUMMARY:Report & slides\r\nEND:VTODO\r\n"
    ),
}


def body(props: str, filter_: str) -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="{DAV}" '
        f'xmlns:C="{CALDAV}"><D:prop>{props}</D:prop><C:filter>'
        f'<C:comp-filter name="VCALENDAR">{filter_}</C:comp-filter></C:filter></C:calendar-query>'
    )


def found(text: str) -> dict[str, dict[str, str]]:
    """{href: {property: value}} of the 200 propstats of a multistatus."""
    answer = {}
    for response in ET.fromstring(text.encode()).iter(f"{{{DAV}}}response"):
        props = {}
        for propstat in response.iter(f"{{{DAV}}}propstat"):
            if propstat.findtext(f"{{{DAV}}}status", "").split()[1] == "200":
                props.update({p.tag: p.text or "" for p in propstat.find(f"{{{DAV}}}prop")})
        answer[response.findtext(f"{{{DAV}}}href")] = props
    return answer


def ask(http, path: str, props: str, filter_: str) -> dict[str, dict[str, str]]:
    response = report(http, path, body(props, filter_))
    assert response.status_code == 207, response.text
    return found(response.text)


@pytest.fixture
def filled(server):
    login = server.user()
    http = server.client(login)
    for name, text in ITEMS.items():
        put = http.put(f"/{login}/calendar/{name}.ics", content=text.encode(), headers=ICS)
        assert put.status_code == 201, put.text
    yield login, http
    http.close()


@pytest.mark.parametrize("filter_name", FILTERS)
def test_calcard_answers_like_radicale(filled, filter_name):
    login, http = filled
    path = f"/{login}/calendar/"
    for props in PROPS.values():
        ours = ask(http, path, props, FILTERS[filter_name])
        radicale = ask(http, path, props + RADICALE_ONLY, FILTERS[filter_name])
        assert ours == radicale


def test_answers_list_what_each_filter_selects_with_the_stored_text(filled):
    login, http = filled
    path = f"/{login}/calendar/"

    def names(filter_name: str) -> set[str]:
        hrefs = ask(http, path, PROPS["etag"], FILTERS[filter_name])
        return {h.rsplit("/", 1)[1].removesuffix(".ics") for h in hrefs}

    assert names("week of events") == {"specials", "weekly", "floating", "all-day"}
    assert names("far past") == {"old"}
    assert names("tasks in range") == {"task"}
    assert names("text match") == {"specials", "weekly"}
    assert names("whole calendar") == set(ITEMS)
    data = ask(http, path, PROPS["all"], FILTERS["week of events"])
    specials = data[f"/{login}/calendar/specials.ics"]
    get = http.get(f"/{login}/calendar/specials.ics")
    # XML parsers read CRLF as LF (XML 1.0 §2.11)
    assert specials[f"{{{CALDAV}}}calendar-data"] == get.text.replace("\r\n", "\n")
    assert "R&D <review>" in get.text
    assert specials[f"{{{DAV}}}getetag"] == get.headers["ETag"]
    assert specials[f"{{{DAV}}}getcontenttype"].startswith("text/calendar;charset=utf-8")


def test_a_shared_calendar_answers_under_the_sharees_alias(server, filled):
    owner, _ = filled
    reader = server.user(org=f"org-{owner}")
    share(server, owner, "user", reader)
    alias = f"/{reader}/shared-{owner}-calendar/"
    with server.client(reader) as http:
        ours = ask(http, alias, PROPS["both"], FILTERS["week of events"])
        radicale = ask(http, alias, PROPS["both"] + RADICALE_ONLY, FILTERS["week of events"])
    assert ours == radicale
    assert sorted(ours) == sorted(
        f"{alias}{n}.ics" for n in ("all-day", "floating", "specials", "weekly")
    )


def test_strangers_and_bad_ranges_are_refused(server, filled):
    login, http = filled
    with server.client(server.user()) as stranger:
        response = report(stranger, f"/{login}/calendar/", body(PROPS["both"], ""))
    assert response.status_code == 403
    bad = '<C:comp-filter name="VEVENT"><C:time-range start="yesterday"/></C:comp-filter>'
    response = report(http, f"/{login}/calendar/", body(PROPS["both"], bad))
    assert response.status_code == 400
    assert len(ask(http, f"/{login}/calendar/", PROPS["etag"], "")) == len(ITEMS)


def test_only_the_shapes_written_here_are_taken():
    week = FILTERS["week of events"]
    taken = query.parse(body(PROPS["all"], week).encode())
    assert taken is not None
    assert [t.rsplit("}", 1)[1] for t in taken.props] == [
        "getcontenttype",
        "getetag",
        "calendar-data",
    ]
    assert query.parse(body(PROPS["etag"], "").encode()) is not None
    left_to_radicale = [
        body(PROPS["both"] + RADICALE_ONLY, week),
        body(
            '<C:calendar-data><C:expand start="20260101T000000Z" end="20260201T000000Z"/>'
            "</C:calendar-data>",
            week,
        ),
        body('<C:calendar-data content-type="application/calendar+json"/>', week),
        body("", week),
        body(PROPS["both"], week).replace("</C:filter>", "</C:filter><C:timezone>x</C:timezone>"),
        '<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><D:getetag/></D:prop><D:href>/a/b/c.ics</D:href></C:calendar-multiget>",
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        "not xml",
    ]
    for shape in left_to_radicale:
        assert query.parse(shape.encode()) is None, shape


def test_the_occurrence_limit_counts_begin_vevent_lines_like_radicale():
    """Radicale's max_expand_occurrence guard counts lines that are BEGIN:VEVENT in any
    case; a description that only mentions it does not count."""

    def item(href: str, text: str) -> ItemData:
        return ItemData(
            href=href, uid=href, etag=f'"{href}"', text=text, component="VEVENT", start=0, end=1
        )

    two = item("two.ics", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nbegin:vevent\r\n")
    mention = item("m.ics", "BEGIN:VEVENT\r\nDESCRIPTION:BEGIN:VEVENT BEGIN:VEVENT\r\n")

    def write(rows: list[ItemData], limit: int) -> bytes:
        props = [query.GETETAG, query.CALENDAR_DATA]
        return query.multistatus("", "u/c", rows, props, lambda _: "text/calendar", limit)

    assert write([two, mention], 3).count(b"<response>") == 2
    with pytest.raises(ValueError, match="limit of 2"):
        write([two, mention], 2)
    assert write([two, mention], 0).count(b"<response>") == 2  # 0: no limit
    etags_only = query.multistatus("", "u/c", [two] * 5, [query.GETETAG], str, 1)
    assert etags_only.count(b"<response>") == 5  # only served calendar data counts
