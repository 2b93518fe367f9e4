"""Preconditions, access rules and bad input over raw HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from calcard import store

from helpers import event, invitation, share

ICS = "text/calendar; charset=utf-8"


def put(http, path: str, body: str, **headers):
    return http.put(path, content=body.encode(), headers={"Content-Type": ICS, **headers})


def test_concurrent_if_match_updates_give_one_winner(server):
    login = server.user()
    path = f"/{login}/calendar/race.ics"
    with server.client(login) as http:
        etag = put(http, path, event("race", "20260701T100000Z", "20260701T110000Z")).headers[
            "etag"
        ]
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def update(summary: str) -> None:
        with server.client(login) as http:
            barrier.wait()
            body = event("race", "20260701T100000Z", "20260701T110000Z", summary)
            statuses.append(put(http, path, body, **{"If-Match": etag}).status_code)

    threads = [threading.Thread(target=update, args=(f"v{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [204, 412]


def test_stale_if_match_and_if_none_match(server):
    login = server.user()
    path = f"/{login}/calendar/p.ics"
    with server.client(login) as http:
        assert (
            put(http, path, event("p", "20260701T100000Z", "20260701T110000Z")).status_code == 201
        )
        body = event("p", "20260701T100000Z", "20260701T110000Z", "again")
        assert put(http, path, body, **{"If-None-Match": "*"}).status_code == 412
        assert put(http, path, body, **{"If-Match": '"stale"'}).status_code == 412
        assert "again" not in http.get(path).text


def test_reused_uid_in_same_calendar_conflicts(server):
    login = server.user()
    with server.client(login) as http:
        body = event("dup", "20260701T100000Z", "20260701T110000Z")
        assert put(http, f"/{login}/calendar/a.ics", body).status_code == 201
        response = put(http, f"/{login}/calendar/b.ics", body)
        assert response.status_code == 409
        assert "no-uid-conflict" in response.text
        assert http.get(f"/{login}/calendar/b.ics").status_code == 404


def test_user_without_calendar_access_gets_403_on_calendars(server):
    login = server.user(calendar=False)
    with server.client(login) as http:
        assert http.get(f"/{login}/calendar/").status_code == 403
        body = event("nope", "20260701T100000Z", "20260701T110000Z")
        assert put(http, f"/{login}/calendar/n.ics", body).status_code == 403
        assert http.request("MKCALENDAR", f"/{login}/other/").status_code == 403
        # Contacts stay reachable.
        response = http.request("PROPFIND", f"/{login}/contacts/", headers={"Depth": "0"})
        assert response.status_code == 207


def test_user_without_contacts_access_gets_403_on_address_books(server):
    login = server.user(contacts=False)
    with server.client(login) as http:
        response = http.request("PROPFIND", f"/{login}/contacts/", headers={"Depth": "0"})
        assert response.status_code == 403


def test_login_is_case_insensitive(server):
    login = server.user()
    with server.client(login.upper()) as http:
        response = http.request("PROPFIND", f"/{login}/", headers={"Depth": "0"})
        assert response.status_code == 207


def test_malformed_icalendar_is_rejected_and_nothing_stored(server):
    login = server.user()
    with server.client(login) as http:
        for bad in (
            "this is not a calendar",
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n",
            event("bad", "not-a-date", "20260701T110000Z"),
        ):
            assert put(http, f"/{login}/calendar/bad.ics", bad).status_code == 400
        assert http.get(f"/{login}/calendar/bad.ics").status_code == 404


def test_malformed_vcard_is_rejected(server):
    login = server.user()
    with server.client(login) as http:
        response = http.put(
            f"/{login}/contacts/bad.vcf",
            content=b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN Bad\r\n",
            headers={"Content-Type": "text/vcard"},
        )
        assert response.status_code == 400
        assert http.get(f"/{login}/contacts/bad.vcf").status_code == 404


def test_oversized_item_and_body_are_rejected(server):
    login = server.user()
    big = event("big", "20260701T100000Z", "20260701T110000Z", "x" * 300_000)
    huge = event("huge", "20260701T100000Z", "20260701T110000Z", "x" * 1_200_000)
    with server.client(login) as http:
        assert put(http, f"/{login}/calendar/big.ics", big).status_code in (412, 413)
        assert put(http, f"/{login}/calendar/huge.ics", huge).status_code == 413

        def chunks():
            for _ in range(30):
                yield b"x" * 50_000

        response = http.put(
            f"/{login}/calendar/chunked.ics", content=chunks(), headers={"Content-Type": ICS}
        )
        assert response.status_code == 413
        for name in ("big", "huge", "chunked"):
            assert http.get(f"/{login}/calendar/{name}.ics").status_code == 404


def test_hostile_hrefs_do_not_escape_the_collection(server):
    login = server.user()
    other = server.user()
    body = event("hostile", "20260701T100000Z", "20260701T110000Z")
    with server.client(login) as http:
        for path in (
            f"/{login}/calendar/../../{other}/calendar/x.ics",
            f"/{login}/calendar/..%2F..%2F{other}%2Fcalendar%2Fx.ics",
            f"/{login}/calendar/%2e%2e/%2e%2e/{other}/calendar/x.ics",
        ):
            assert put(http, path, body).status_code in (400, 403, 404, 409)
    with server.backend.db.transaction() as s:
        theirs = store.get_collection(s, f"{other}/calendar")
        assert store.all_items(s, theirs.id) == []


def test_xml_external_entities_are_refused(server, tmp_path):
    login = server.user()
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    body = f"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret}">]>
<propfind xmlns="DAV:"><prop><displayname>&xxe;</displayname></prop></propfind>"""
    with server.client(login) as http:
        response = http.request(
            "PROPFIND",
            f"/{login}/calendar/",
            content=body.encode(),
            headers={"Depth": "0", "Content-Type": "application/xml"},
        )
        assert response.status_code == 400
        assert "TOP-SECRET" not in response.text
        patch = f"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret}">]>
<propertyupdate xmlns="DAV:"><set><prop><displayname>&xxe;</displayname></prop></set>
</propertyupdate>"""
        response = http.request(
            "PROPPATCH",
            f"/{login}/calendar/",
            content=patch.encode(),
            headers={"Content-Type": "application/xml"},
        )
        assert response.status_code == 400
        listing = http.request("PROPFIND", f"/{login}/calendar/", headers={"Depth": "0"})
        assert "TOP-SECRET" not in listing.text


def test_deleted_items_are_invisible_over_dav_but_kept_in_trash(server):
    login = server.user()
    path = f"/{login}/calendar/gone.ics"
    with server.client(login) as http:
        put(http, path, event("gone", "20260701T100000Z", "20260701T110000Z"))
        assert http.delete(path).status_code in (200, 204)
        assert http.get(path).status_code == 404
        listing = http.request("PROPFIND", f"/{login}/calendar/", headers={"Depth": "1"})
        assert "gone.ics" not in listing.text
    from calcard import trash

    with server.backend.db.transaction() as s:
        entries = trash.list_trash(s, login)
    assert [e.uid for e in entries] == ["gone"]


def test_answers_are_gzipped_only_for_clients_that_accept_it(server):
    login = server.user()
    with server.client(login) as http:
        for i in range(20):
            body = event(f"zip-{i}", "20270301T100000Z", "20270301T110000Z", "Compressed " * 20)
            assert put(http, f"/{login}/calendar/zip-{i}.ics", body).status_code == 201
        answers = {}
        for coding in ("gzip", "identity", "br, gzip;q=0.8"):
            response = http.request(
                "PROPFIND", f"/{login}/calendar/", headers={"Depth": "1", "Accept-Encoding": coding}
            )
            assert response.status_code == 207
            answers[coding] = response
    plain, packed = answers["identity"], answers["gzip"]
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert answers["br, gzip;q=0.8"].headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(plain.content) / 3
    assert packed.text == plain.text and "zip-19.ics" in plain.text  # httpx unpacks it


def test_a_calendar_takes_only_the_components_it_supports(server, people):
    """RFC 4791 §5.3.2.1 (CALDAV:supported-calendar-component): a client's new event PUT
    or MOVEd into a task list is refused with 403 and nothing stored; a task is taken.
    What was stored before the set was narrowed stays editable and deletable, and the
    server's own writes are not held to it: an invitation still reaches an attendee whose
    calendar takes tasks only. caldav-server-tester found the set advertised, not enforced."""
    organizer, attendee, _ = people
    tasks = f"/{organizer}/tasks/"
    meeting = event("meeting", "20260701T100000Z", "20260701T110000Z")
    older = event("older", "20160701T100000Z", "20160701T110000Z")
    with server.client(organizer) as http:
        assert http.request("MKCALENDAR", tasks).status_code == 201  # no set: takes anything
        assert put(http, f"{tasks}older.ics", older).status_code == 201
        narrowed = http.request("PROPPATCH", tasks, content=TASKS_ONLY)
        assert narrowed.status_code == 207, narrowed.text
        refused = put(http, f"{tasks}meeting.ics", meeting)
        assert refused.status_code == 403, refused.text
        error = ET.fromstring(refused.content)  # DAV:error naming the precondition
        assert error.find("{urn:ietf:params:xml:ns:caldav}supported-calendar-component") is not None
        assert "takes only VTODO, not VEVENT" in refused.text
        assert http.get(f"{tasks}meeting.ics").status_code == 404
        assert put(http, f"{tasks}todo.ics", TODO).status_code == 201
        assert put(http, f"/{organizer}/calendar/meeting.ics", meeting).status_code == 201
        moved = http.request(
            "MOVE",
            f"/{organizer}/calendar/meeting.ics",
            headers={"Destination": f"{server.url}{tasks}meeting.ics"},
        )
        assert moved.status_code == 403, moved.text
        assert http.get(f"/{organizer}/calendar/meeting.ics").status_code == 200  # not moved
        renamed = older.replace("SUMMARY:Meeting", "SUMMARY:Renamed")
        assert put(http, f"{tasks}older.ics", renamed).status_code == 204  # stored before
        assert http.delete(f"{tasks}older.ics").status_code in (200, 204)
    with server.client(attendee) as http:
        mine = f"/{attendee}/calendar/"
        assert http.request("PROPPATCH", mine, content=TASKS_ONLY).status_code == 207
    start = datetime(2046, 3, 5, 9, tzinfo=UTC)  # twenty years ahead
    invite = invitation("narrowed", organizer, [f"{attendee}@example.com"], start)
    with server.client(organizer) as http:
        assert put(http, f"/{organizer}/calendar/narrowed.ics", invite).status_code == 201
    with server.client(attendee) as http:
        listing = http.request("PROPFIND", f"/{attendee}/calendar/", headers={"Depth": "1"})
        copies = [h for h in re.findall(r"<[^>]*href>([^<]+\.ics)</", listing.text)]
        assert any("UID:narrowed" in http.get(h).text for h in copies), listing.text


TODO = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VTODO\r\nUID:todo\r\n"
    "DTSTAMP:20260101T000000Z\r\nSUMMARY:task\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
)
TASKS_ONLY = (
    '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" '
    'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:supported-calendar-component-set>'
    '<C:comp name="VTODO"/></C:supported-calendar-component-set></D:prop></D:set>'
    "</D:propertyupdate>"
)


def test_a_sharee_puts_no_event_into_the_owners_task_list(server):
    """Through the alias, or the owner's own path, a read-write sharee is held to the
    owner's calendar's components like the owner: 403, the owner's calendar unchanged."""
    owner, sharee = server.user(), server.user()
    with server.client(owner) as http:
        assert http.request("PROPPATCH", f"/{owner}/calendar/", content=TASKS_ONLY).is_success
    share(server, owner, "user", sharee, "read-write")
    meeting = event("intruder", "20360701T100000Z", "20360701T110000Z")  # ten years ahead
    with server.client(sharee) as http:
        for path in (f"/{sharee}/shared-{owner}-calendar/", f"/{owner}/calendar/"):
            refused = put(http, f"{path}intruder.ics", meeting)
            assert refused.status_code == 403, (path, refused.text)
            assert "takes only VTODO" in refused.text
        todo = TODO.replace("UID:todo", "UID:shared-todo")  # the alias itself takes a task
        assert put(http, f"/{sharee}/shared-{owner}-calendar/todo.ics", todo).status_code == 201
    with server.backend.db.transaction() as s:
        stored = store.all_items(s, store.get_collection(s, f"{owner}/calendar").id)
    assert [i.uid for i in stored] == ["shared-todo"]
