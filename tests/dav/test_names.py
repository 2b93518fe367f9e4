"""Names (collection paths and item hrefs) round-trip byte for byte (issue 17).

A client percent-encodes a name's UTF-8 (RFC 3986 §2.1); calcard stores the
text and answers every href with the same encoding (RFC 4918 §8.3), over raw
HTTP and the caldav library, on SQLite and PostgreSQL. What cannot be a name
gets a 4xx and stores nothing.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

import caldav
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playwright.sync_api import expect

from browser import log_in
from conftest import report, sync_report
from helpers import dav, event, web_session

ICS = "text/calendar; charset=utf-8"
NAMES = ["aä.ics", "тест.ics", "日本.ics", "🎉.ics", "a b.ics", "a@b+c.ics", "100%.ics"]
NAMES += ["a?b#c;d.ics", "a%41.ics", 'it\'s, "here": *.ics', "trailing .ics"]
HOSTILE = [
    "a%01b.ics",  # a control character
    "a%0Ab.ics",  # a newline (the router would answer 404)
    "a%7Fb.ics",
    "a%C2%85b.ics",  # a C1 control (NEL)
    "a%C3%28.ics",  # not UTF-8
    "a%FF.ics",
    "a%2Fb.ics",  # an encoded separator
    "%2E%2E",
    "%2E",
    "x" * 1001 + ".ics",
]
MULTIGET = """<?xml version="1.0"?>
<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/></D:prop><D:href>{href}</D:href>
</C:calendar-multiget>"""
QUERY = """<?xml version="1.0"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/></D:prop>
  <C:filter>
    <C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter>
  </C:filter>
</C:calendar-query>"""


def put(http, path: str, uid: str):
    body = event(uid, "20260701T100000Z", "20260701T110000Z").encode()
    return http.put(path, content=body, headers={"Content-Type": ICS})


def hrefs(text: str) -> set[str]:
    """The hrefs of a multistatus, exactly as the server wrote them."""
    return set(re.findall(r"<(?:\w+:)?href>([^<]+)</(?:\w+:)?href>", text))


def listed(http, collection: str) -> set[str]:
    response = http.request("PROPFIND", collection, headers={"Depth": "1"})
    assert response.status_code == 207, response.text
    return {h for h in hrefs(response.text) if h.startswith(collection) and h != collection}


def round_trip(http, collection: str, name: str) -> None:
    """PUT, GET, PROPFIND, multiget, calendar-query, sync and DELETE of ``name``."""
    href = collection + quote(name)
    token, _ = sync_report(http, collection)
    assert put(http, href, f"uid-{quote(name)}").status_code == 201
    assert http.get(href).status_code == 200
    assert href in listed(http, collection)
    assert href in hrefs(report(http, collection, MULTIGET.format(href=href)).text)
    assert href in hrefs(report(http, collection, QUERY).text)
    token, changes = sync_report(http, collection, token)
    assert href in hrefs(changes)
    assert http.delete(href).status_code in (200, 204)
    assert http.get(href).status_code == 404
    _, changes = sync_report(http, collection, token)
    assert href in hrefs(changes) and "404" in changes


@pytest.mark.parametrize("name", NAMES)
def test_a_name_round_trips_over_http(server, name):
    login = server.user()
    with server.client(login) as http:
        round_trip(http, f"/{login}/calendar/", name)


def test_a_collection_name_round_trips_and_is_listed_by_the_api(server):
    login = server.user()
    collection = f"/{login}/{quote('Kalender ü')}/"
    with server.client(login) as http:
        assert http.request("MKCALENDAR", collection).status_code == 201
        assert collection in listed(http, f"/{login}/")
        round_trip(http, collection, "тест.ics")
        assert put(http, collection + quote("aä.ics"), "in-kalender").status_code == 201
    web, _ = web_session(server, login)
    paths = [c["path"] for c in web.get("/api/calendars").json()["calendars"]]
    assert f"/{login}/Kalender ü/" in paths
    where = {"calendar": f"/{login}/Kalender ü/"}
    window = {"start": "2026-06-01T00:00:00+00:00", "end": "2026-08-01T00:00:00+00:00"}
    found = web.get("/api/events", params={**where, **window})
    assert found.status_code == 200, found.text
    assert "aä.ics" in found.text
    assert web.get("/api/event", params={**where, "href": "aä.ics"}).status_code == 200


@pytest.mark.parametrize("name", ["aä.ics", "тест.ics", "日本.ics", "🎉.ics", "a b.ics"])
def test_a_name_round_trips_over_the_caldav_library(server, name):
    login = server.user()
    with dav(server, login) as client:
        calendar = client.principal().calendars()[0]
        url = calendar.url.join(quote(name))
        caldav.Event(
            client,
            url=url,
            data=event("lib", "20260701T100000Z", "20260701T110000Z"),
            parent=calendar,
        ).save()
        found = [unquote(str(e.url.path)).rsplit("/", 1)[-1] for e in calendar.events()]
        assert found == [name]
        assert "lib" in calendar.event_by_url(url).data


@pytest.mark.parametrize("target", ["тест.ics", "a?b#c;d.ics", "100%.ics"])
def test_move_keeps_the_destination_name(server, target):
    login = server.user()
    calendar = f"/{login}/calendar/"
    with server.client(login) as http:
        assert put(http, calendar + quote("aä.ics"), "moving").status_code == 201
        destination = server.url + calendar + quote(target)
        response = http.request(
            "MOVE", calendar + quote("aä.ics"), headers={"Destination": destination}
        )
        assert response.status_code == 201, response.text
        assert listed(http, calendar) == {calendar + quote(target)}
        assert "moving" in http.get(calendar + quote(target)).text


@pytest.mark.parametrize(
    ("destination", "status"),
    [
        ("http://127.0.0.1:notaport/x/calendar/b.ics", 400),
        ("http://example.org/x/calendar/b.ics", 502),
        ("/{login}/calendar/a%C3%28.ics", 400),
        ("/{login}/calendar/a%01.ics", 400),
        ("ftp://x/", 400),
    ],
)
def test_a_bad_move_destination_is_refused(server, destination, status):
    login = server.user()
    with server.client(login) as http:
        assert put(http, f"/{login}/calendar/a.ics", "stays").status_code == 201
        headers = {"Destination": destination.format(login=login)}
        assert (
            http.request("MOVE", f"/{login}/calendar/a.ics", headers=headers).status_code == status
        )
        assert listed(http, f"/{login}/calendar/") == {f"/{login}/calendar/a.ics"}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_is_refused_and_nothing_is_stored(server, name):
    login = server.user()
    with server.client(login) as http:
        response = put(http, f"/{login}/calendar/{name}", "hostile")
        assert 400 <= response.status_code < 500, response.text
        assert listed(http, f"/{login}/calendar/") == set()


@pytest.mark.parametrize(
    "path",
    [
        "/{attacker}/calendar/..%2F..%2F{victim}%2Fcalendar%2Fx.ics",
        "/{attacker}/calendar/%2E%2E/%2E%2E/{victim}/calendar/x.ics",
        "/{attacker}/calendar/..%EF%BC%8F..%EF%BC%8F{victim}%EF%BC%8Fcalendar%EF%BC%8Fx.ics",
        "/{fullwidth}/calendar/x.ics",  # the victim's login in fullwidth letters (NFKC-equal)
        "/{attacker}%C0%AF..%C0%AF{victim}/calendar/x.ics",  # an overlong '/'
    ],
)
def test_a_crafted_name_never_reaches_another_users_calendar(server, path):
    attacker, victim = server.user(), server.user()
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in victim)
    target = path.format(attacker=attacker, victim=victim, fullwidth=quote(fullwidth))
    with server.client(attacker) as http:
        put(http, target, "planted")
    with server.client(victim) as http:
        assert listed(http, f"/{victim}/calendar/") == set()


def test_move_never_crosses_into_or_out_of_another_users_calendar(server):
    attacker, victim = server.user(), server.user()
    mine, theirs = f"/{attacker}/calendar/", f"/{victim}/calendar/"
    with server.client(victim) as http:
        assert put(http, theirs + quote("тест.ics"), "victims").status_code == 201
    with server.client(attacker) as http:
        assert put(http, mine + "a.ics", "attackers").status_code == 201
        into = {"Destination": server.url + theirs + quote("日本.ics")}
        assert http.request("MOVE", mine + "a.ics", headers=into).status_code in (403, 404)
        out = {"Destination": server.url + mine + "stolen.ics"}
        taken = http.request("MOVE", theirs + quote("тест.ics"), headers=out)
        assert taken.status_code in (403, 404)
        assert listed(http, mine) == {mine + "a.ics"}
    with server.client(victim) as http:
        assert listed(http, theirs) == {theirs + quote("тест.ics")}


NAME = st.text(
    st.characters(blacklist_categories=("C",), blacklist_characters="/"), min_size=1, max_size=40
).filter(lambda n: n not in (".", ".."))


@pytest.fixture(scope="module")
def namer(server):
    """One user for all generated names (hypothesis calls the test many times)."""
    return server.user()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=NAME)
def test_any_printable_name_round_trips(server, namer, name):
    calendar = f"/{namer}/calendar/"
    href = calendar + quote(name)
    with server.client(namer) as http:
        response = put(http, href, "generated")
        assert response.status_code in (201, 204), response.text
        assert http.get(href).status_code == 200
        assert href in listed(http, calendar)
        assert http.delete(href).status_code in (200, 204)


MKCALENDAR = """<?xml version="1.0"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop><D:displayname>Plans</D:displayname></D:prop></D:set>
</C:mkcalendar>"""


def test_the_api_renames_a_calendar_whose_name_holds_url_characters(server):
    """What the web UI sends (lib/api.js pathUrl): each name of the path percent-encoded."""
    login = server.user()
    path = f"/{login}/{quote('Plan ?#% ü')}/"
    with server.client(login) as http:
        assert http.request("MKCALENDAR", path, content=MKCALENDAR).status_code == 201
    web, csrf = web_session(server, login)
    listed_paths = [c["path"] for c in web.get("/api/calendars").json()["calendars"]]
    assert f"/{login}/Plan ?#% ü/" in listed_paths
    renamed = web.put(
        f"/api/calendars{path}", json={"name": "Renamed"}, headers={"X-CSRF-Token": csrf}
    )
    assert renamed.status_code == 200, renamed.text
    with server.client(login) as http:
        answer = http.request("PROPFIND", path, headers={"Depth": "0"})
    assert "<displayname>Renamed</displayname>" in answer.text


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_web_ui_renames_a_calendar_whose_name_holds_url_characters(page, server):
    """The UI puts a collection's path into API URLs: "?", "#" and "%" must stay in it."""
    login = server.user()
    path = f"/{login}/{quote('Plan ?#% ü')}/"
    with server.client(login) as http:
        assert http.request("MKCALENDAR", path, content=MKCALENDAR).status_code == 201
    log_in(page, login)
    page.get_by_role("button", name="Edit calendar Plans").click()
    page.fill("#calendar-form [name=name]", "Renamed")
    page.click("#save-calendar")
    expect(page.locator("#calendar-list li", has_text="Renamed")).to_be_visible()
    with server.client(login) as http:
        answer = http.request("PROPFIND", path, headers={"Depth": "0"})
    assert "<displayname>Renamed</displayname>" in answer.text


def test_a_multiget_of_an_href_no_name_can_be_is_a_404_not_a_500(server):
    """A NUL or a line feed in a calendar-multiget href (PostgreSQL refuses a NUL in a
    query): that href is not found, the others are answered."""
    login = server.user()
    body = (
        '<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" '
        'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>'
        f"<D:href>/{login}/calendar/a%00b.ics</D:href>"
        f"<D:href>/{login}/calendar/a%0Ab.ics</D:href>"
        f"<D:href>/{login}/calendar/missing.ics</D:href></C:calendar-multiget>"
    )
    with server.client(login) as http:
        answer = http.request(
            "REPORT", f"/{login}/calendar/", content=body, headers={"Depth": "1"}
        )
    assert answer.status_code == 207, answer.text
    assert answer.text.count("404") == 3
