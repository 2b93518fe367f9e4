"""Bad input gets a 4xx with its reason, never a 500, and changes nothing (ISSUE 14, item 10).

Each test is one input that answered 500 before (found by hand or by test_fuzz.py),
sent over HTTP to a real server on both databases; the server log must show no
unhandled exception afterwards.
"""

from __future__ import annotations

import base64
import re

import httpx

from conftest import report
from helpers import event

ICS = "text/calendar; charset=utf-8"
SPAN = event("span-1-9999", "00010101T000000Z", "99991231T235959Z", "Ewigkeit ☃")
FREE_BUSY = """<?xml version="1.0"?>
<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
  <C:time-range start="{start}" end="{end}"/>
</C:free-busy-query>"""


def log_mark(server) -> int:
    return len(server.log.read_bytes())


def assert_no_unhandled(server, mark: int) -> None:
    """No traceback of an unhandled exception since ``mark`` (a second check after statuses)."""
    tail = server.log.read_bytes()[mark:].decode(errors="replace")
    unhandled = re.findall(
        r"^.*(?:Exception in ASGI application|ERROR radicale: Exception|"
        r"calcard\.access: \S+ \S+ \S+ 500 ).*$",
        tail,
        re.M,
    )
    assert not unhandled, unhandled


def hrefs(http: httpx.Client, path: str) -> list[str]:
    listing = http.request("PROPFIND", path, headers={"Depth": "1"})
    assert listing.status_code == 207, listing.text
    return sorted(re.findall(r"<href>([^<]+\.ics)</href>", listing.text))


def test_non_numeric_and_oversized_numbers_are_4xx(server):
    login = server.user()
    mark = log_mark(server)
    with server.client(login) as http:
        for after in ("x", "²", "-1", "9" * 30):
            response = http.get("/api/notifications", params={"after": after})
            assert response.status_code == 400, response.text
            assert "whole number" in response.json()["error"]
        stream = http.get(
            "/api/notifications/stream", headers={"Last-Event-ID": "²".encode("latin-1")}
        )
        assert stream.status_code == 400
        huge = "9" * 25
        for method, path in [
            ("DELETE", f"/api/me/app-passwords/{huge}"),
            ("DELETE", "/api/me/app-passwords/%C2%B2"),
            ("DELETE", f"/api/collections/{login}/calendar/public-links/{huge}"),
            ("POST", f"/api/reminders/{huge}/stop"),
            ("POST", f"/api/contacts/merges/{huge}/undo"),
        ]:
            response = http.request(method, path, headers={"Content-Type": "application/json"})
            assert response.status_code == 404, (path, response.text)
        restore = http.post(f"/api/trash/item-{huge}/restore", json={})
        assert restore.status_code == 400, restore.text
        assert "not a trash id" in restore.json()["error"]
    assert_no_unhandled(server, mark)


def test_deep_nan_nul_and_surrogate_json_is_400_and_changes_nothing(server):
    login = server.user()
    mark = log_mark(server)
    headers = {"Content-Type": "application/json"}
    with server.client(login) as http:
        before = http.get("/api/me/preferences").json()
        bodies = {
            b"[" * 100_000 + b"]" * 100_000: "deeper than 32",
            b'{"a":' * 50_000 + b"1" + b"}" * 50_000: "deeper than 32",
            b'{"timezone": ' + b'{"a":' * 40 + b"1" + b"}" * 40 + b"}": "deeper than 32",
            b'{"week_start": NaN}': "NaN is not a JSON number",
            b'{"timezone": Infinity}': "Infinity is not a JSON number",
            b'{"timezone": "Europe/Berlin\\u0000"}': "NUL",
            b'{"timezone": "\\ud800"}': "lone surrogate",
        }
        for body, reason in bodies.items():
            for method, path in (("PATCH", "/api/me/preferences"), ("POST", "/api/calendars")):
                response = http.request(method, path, content=body, headers=headers)
                assert response.status_code == 400, (path, body[:30], response.text)
                assert reason in response.json()["error"]
        assert http.get("/api/me/preferences").json() == before
        assert [c["path"] for c in http.get("/api/calendars").json()["calendars"]] == [
            f"/{login}/calendar/"
        ]
    assert_no_unhandled(server, mark)


def test_event_from_year_1_to_9999_is_refused_over_dav_with_its_reason(server):
    login = server.user()
    mark = log_mark(server)
    calendar = f"/{login}/calendar/"
    with server.client(login) as http:
        kept = event("kept", "20710304T090000Z", "20710304T100000Z", "Frühstück")
        assert http.put(
            calendar + "kept.ics", content=kept, headers={"Content-Type": ICS}
        ).is_success
        for name, text in {
            "span": SPAN,
            "duration": event("dur", "20300101T100000Z", "20300101T110000Z").replace(
                "DTEND:20300101T110000Z", "DURATION:P3650000D"
            ),
            "alarm": event("alarm", "20300101T100000Z", "20300101T110000Z").replace(
                "END:VEVENT",
                "BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-P99999W\nEND:VALARM\nEND:VEVENT",
            ),
            "year-1": event("year-1", "00010101T000000", "00010101T010000"),
        }.items():
            response = http.put(
                f"{calendar}{name}.ics", content=text, headers={"Content-Type": ICS}
            )
            assert response.status_code == 400, (name, response.text)
            assert "between the years 300 and 9699" in response.text
            assert http.get(f"{calendar}{name}.ics").status_code == 404
        assert hrefs(http, calendar) == [calendar + "kept.ics"]
    assert_no_unhandled(server, mark)


def test_event_from_year_1_to_9999_is_refused_by_the_api_and_import(server):
    login = server.user()
    mark = log_mark(server)
    calendar = f"/{login}/calendar/"
    with server.client(login) as http:
        for body in (
            {
                "calendar": calendar,
                "title": "x",
                "start": "0001-01-01T00:00",
                "end": "9999-12-31T23:59",
            },
            {"calendar": calendar, "title": "x", "start": "9999-12-31", "all_day": True},
        ):
            response = http.post("/api/event", json=body)
            assert response.status_code == 400, response.text
            assert "between the years 300 and 9699" in response.json()["error"]
        for text in (
            SPAN,
            event("last-day", "99991231", "")
            .replace("DTSTART:", "DTSTART;VALUE=DATE:")
            .replace("DTEND:\n", ""),
        ):
            imported = http.post(
                "/api/import",
                params={"into": calendar},
                content=text,
                headers={"Content-Type": ICS},
            )
            assert imported.status_code < 500, imported.text
            assert "between the years 300 and 9699" in imported.text
        assert hrefs(http, calendar) == []
    assert_no_unhandled(server, mark)


def test_windows_at_the_ends_of_datetime(server):
    login = server.user()
    mark = log_mark(server)
    calendar = f"/{login}/calendar/"
    with server.client(login) as http:
        busy = event("busy", "20710304T090000Z", "20710304T100000Z", "Sprechstunde")
        assert http.put(
            calendar + "busy.ics", content=busy, headers={"Content-Type": ICS}
        ).is_success
        for path, params in [
            (
                "/api/events",
                {
                    "calendar": calendar,
                    "start": "9999-12-31T00:00:00-01:00",
                    "end": "9999-12-31T23:00:00-12:00",
                },
            ),
            (
                "/api/events",
                {
                    "calendar": calendar,
                    "start": "0001-01-01T00:00:00+01:00",
                    "end": "0001-01-02T00:00:00+00:00",
                },
            ),
            (
                "/api/freebusy",
                {
                    "user": login,
                    "start": "9999-12-01T00:00:00+00:00",
                    "end": "9999-12-20T00:00:00+00:00",
                },
            ),
        ]:
            response = http.get(path, params=params)
            assert response.status_code == 400, (path, response.text)
            assert "between the years 300 and 9699" in response.json()["error"]
        find = http.post(
            "/api/freebusy/find",
            json={
                "attendees": [login],
                "duration_minutes": 60,
                "start": "9999-12-30T00:00:00+00:00",
            },
        )
        assert find.status_code == 400, find.text
        # RFC 4791 §7.10: a DAV free-busy-query over all of time is answered, clamped.
        answer = report(
            http, calendar, FREE_BUSY.format(start="00010101T000000Z", end="99991231T235959Z")
        )
        assert answer.status_code == 200, answer.text
        assert "20710304T090000Z/20710304T100000Z" in answer.text.replace("\r\n ", "")
    assert_no_unhandled(server, mark)


def test_deeply_nested_xml_is_400_with_its_reason(server):
    login = server.user()
    mark = log_mark(server)
    calendar = f"/{login}/calendar/"
    deep_propfind = (
        "<?xml version='1.0'?><D:propfind xmlns:D='DAV:'>"
        + "<D:prop>" * 50_000
        + "</D:prop>" * 50_000
        + "</D:propfind>"
    )
    deep_query = (
        "<?xml version='1.0'?><C:calendar-query xmlns:C='urn:ietf:params:xml:ns:caldav' "
        "xmlns:D='DAV:'><D:prop><D:getetag/></D:prop><C:filter>"
        + "<C:comp-filter name='VCALENDAR'>" * 100
        + "</C:comp-filter>" * 100
        + "</C:filter></C:calendar-query>"
    )
    with server.client(login) as http:
        kept = event("kept", "20710304T090000Z", "20710304T100000Z")
        assert http.put(
            calendar + "kept.ics", content=kept, headers={"Content-Type": ICS}
        ).is_success
        for method, body in [
            ("PROPFIND", deep_propfind),
            ("PROPPATCH", deep_propfind.replace("propfind", "propertyupdate")),
            ("REPORT", deep_query),
            ("MKCALENDAR", deep_propfind.replace("D:propfind", "D:mkcol")),
        ]:
            response = http.request(method, calendar, content=body, headers={"Depth": "1"})
            assert response.status_code == 400, (method, response.text[:200])
            assert "nests deeper than 64" in response.text
        empty = http.request("PROPFIND", calendar, content="<D:propfind xmlns:D='DAV:'/>")
        assert empty.status_code == 400, empty.text
        assert hrefs(http, calendar) == [calendar + "kept.ics"]
    assert_no_unhandled(server, mark)


def test_malformed_credentials_and_charsets_are_refused_not_500(server):
    login = server.user()
    mark = log_mark(server)
    home = f"/{login}/"
    for authorization in (
        b"Basic !!!",
        b"Basic " + base64.b64encode(b"no colon"),
        b"Basic",
        b"Basic \xe9\xe9",
    ):
        dav = httpx.request("PROPFIND", server.url + home, headers={"Authorization": authorization})
        assert dav.status_code == 401, (authorization, dav.text)
        assert "WWW-Authenticate" in dav.headers
        api = httpx.get(server.url + "/api/me", headers={"Authorization": authorization})
        assert api.status_code == 401, (authorization, api.text)
    with server.client(login) as http:
        for charset in ("\xe9bcdic", "base64", "undefined"):
            content_type = f"text/calendar; charset={charset}".encode("latin-1")
            put = http.put(
                f"{home}calendar/charset.ics",
                content=event("charset", "20710304T090000Z", "20710304T100000Z"),
                headers={"Content-Type": content_type},
            )
            assert put.status_code == 415, (charset, put.text)
            assert "unsupported charset" in put.text
        assert http.get(f"{home}calendar/charset.ics").status_code == 404
        assert http.request("PROPFIND", home, headers={"Depth": "0"}).status_code == 207
    assert_no_unhandled(server, mark)


def test_nul_in_a_url_is_400(server):
    login = server.user()
    mark = log_mark(server)
    with server.client(login) as http:
        for path, params in [
            ("/api/event", {"calendar": "\x00", "href": "\x00"}),
            ("/api/contacts", {"addressbook": f"/{login}/contacts/\x00"}),
            ("/api/events", {"calendar": f"/{login}/calendar/", "start": "\x00", "end": "x"}),
        ]:
            response = http.get(path, params=params)
            assert response.status_code == 400, (path, response.text)
            assert "NUL" in response.json()["error"]
        dav = http.get(f"/{login}/calendar/%00.ics")
        assert dav.status_code == 400
    assert_no_unhandled(server, mark)


def test_time_zone_names_too_long_for_a_file_name_are_400(server):
    """A zone lookup opens a file of that name: over the file system's limit it raised OSError."""
    login = server.user()
    mark = log_mark(server)
    zone = "Zeitzone/" + "Ä" * 300
    calendar = f"/{login}/calendar/"
    text = event("long-zone", "20710304T090000", "20710304T100000").replace(
        "DTSTART:", f"DTSTART;TZID={zone}:"
    )
    with server.client(login) as http:
        put = http.put(calendar + "zone.ics", content=text.encode(), headers={"Content-Type": ICS})
        assert put.status_code == 400, put.text
        assert "TZID" in put.text
        imported = http.post(
            "/api/import",
            params={"into": calendar},
            content=text.encode(),
            headers={"Content-Type": ICS},
        )
        assert imported.status_code == 200, imported.text
        assert imported.json()["added"] == 0
        created = http.post(
            "/api/event",
            json={
                "calendar": calendar,
                "title": "x",
                "start": "2071-03-04T09:00",
                "timezone": zone,
            },
        )
        assert created.status_code == 400, created.text
        before = http.get("/api/me/preferences").json()
        preferences = http.patch("/api/me/preferences", json={"timezone": zone})
        assert preferences.status_code == 400, preferences.text
        assert http.get("/api/me/preferences").json() == before
        assert hrefs(http, calendar) == []
    assert_no_unhandled(server, mark)


def test_ids_in_paths_that_are_no_numbers_are_404(server):
    """'²' passes str.isdigit but not int(); 25 digits overflow a BIGINT: both 404."""
    login = server.user()
    with server.client(login) as http:
        for bad in ("²", "9" * 25, "-1", "x"):
            for method, path in (
                ("POST", f"/api/me/invitations/{bad}/accept"),
                ("POST", f"/api/me/invitations/{bad}/decline"),
                ("DELETE", f"/api/me/app-passwords/{bad}"),
            ):
                answer = http.request(method, path)
                assert answer.status_code == 404, (method, path, answer.text)
