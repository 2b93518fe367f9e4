"""The one door (calcard.access), tried as an attacker: a read-write sharee of a
calendar uses its events but never changes, replaces or deletes the calendar
itself, through the owner's path or the alias in its own home (issue 14,
finding 6); a refused DAV request keeps nothing it wrote; the free-busy REPORT
keeps a calendar the owner took out of free/busy out (finding 11)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from calcard import sharing, store
from calcard.sharing import access

from conftest import report
from helpers import FREE_BUSY_QUERY, periods, zoned_event

ICS = {"Content-Type": "text/calendar; charset=utf-8"}
XML = {"Content-Type": "application/xml; charset=utf-8"}
RENAME = """<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>
<D:displayname>Übernommen von Mallory</D:displayname>
<D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>
</D:prop></D:set></D:propertyupdate>"""
PROPS = """<?xml version="1.0"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/><D:resourcetype/></D:prop></D:propfind>"""
OWNER_NAME = "Jahresplanung Zürich"


@pytest.fixture
def shared(server):
    """An owner whose calendar (with one event) a colleague may read and write."""
    owner = server.user(role="legal-representative")
    sharee = server.user(org=f"org-{owner}")
    with server.backend.db.transaction(write=True, owners=[owner]) as s:
        calendar = store.get_collection(s, f"{owner}/calendar")
        store.set_props(s, calendar, {**calendar.props, "D:displayname": OWNER_NAME})
        sharing.add_share(s, f"/{owner}/calendar/", "user", sharee, "read-write")
    with server.client(owner) as http:
        body = zoned_event("jahr-1", "20310310T100000", "20310310T110000")
        assert http.put(f"/{owner}/calendar/jahr-1.ics", content=body, headers=ICS).is_success
    return owner, sharee


def paths(owner: str, sharee: str) -> list[str]:
    return [f"/{owner}/calendar/", f"/{sharee}/shared-{owner}-calendar/"]


def owner_view(server, owner: str) -> tuple[str, str, list[str]]:
    """(displayname, resourcetype XML, event hrefs) of the owner's calendar, read as the owner."""
    with server.client(owner) as http:
        answer = http.request(
            "PROPFIND", f"/{owner}/calendar/", content=PROPS, headers={**XML, "Depth": "0"}
        )
        assert answer.status_code == 207, answer.text
        name = re.search(r"<displayname>([^<]*)</displayname>", answer.text)
        kind = re.search(r"<resourcetype>(.*?)</resourcetype>", answer.text, re.S)
        events = http.get(f"/{owner}/calendar/jahr-1.ics")
    with server.backend.db.transaction() as s:
        calendar = store.get_collection(s, f"{owner}/calendar")
        hrefs = [i.href for i in store.all_items(s, calendar.id)]
    assert events.status_code == 200
    return (name.group(1) if name else ""), (kind.group(1) if kind else ""), hrefs


def test_read_write_sharee_never_changes_the_collection_properties(server, shared):
    owner, sharee = shared
    before = owner_view(server, owner)
    assert before[0] == OWNER_NAME and "calendar" in before[1]
    with server.client(sharee) as http:
        for path in paths(owner, sharee):
            answer = http.request("PROPPATCH", path, content=RENAME.encode(), headers=XML)
            assert answer.status_code == 403, (path, answer.status_code, answer.text)
            assert "only its owner" in answer.text
    assert owner_view(server, owner) == before
    with server.backend.db.transaction() as s:
        assert store.get_collection(s, f"{owner}/calendar").tag == "VCALENDAR"


def test_read_write_sharee_never_deletes_nor_replaces_the_collection(server, shared):
    owner, sharee = shared
    before = owner_view(server, owner)
    whole = zoned_event("ersatz", "20310311T100000", "20310311T110000")
    with server.client(sharee) as http:
        for path in paths(owner, sharee):
            answer = http.delete(path)
            assert answer.status_code == 403, (path, answer.text)
            assert "only its owner" in answer.text
            assert http.put(path, content=whole, headers=ICS).status_code == 403, path
        for path in (f"/api/calendars/{owner}/calendar/",):
            assert http.put(path, json={"name": "Gekapert"}).status_code == 403
            assert http.delete(path).status_code == 403
        # What the share grants still works: the events.
        mine = zoned_event("beitrag", "20310312T100000", "20310312T110000")
        alias_item = f"/{sharee}/shared-{owner}-calendar/beitrag.ics"
        assert http.put(alias_item, content=mine, headers=ICS).status_code == 201
    after = owner_view(server, owner)
    assert after[:2] == before[:2]
    assert sorted(after[2]) == sorted(before[2] + ["beitrag.ics"])


def test_the_door_answers_per_relation(server, shared):
    owner, sharee = shared
    stranger = server.user()
    path = f"{owner}/calendar"
    with server.backend.db.transaction() as s:
        for action in access.ACTIONS[:2] + access.ACTIONS[3:]:
            assert access.may(s, owner, action, path), action
            assert access.may(s, None, action, path), action  # the operator
            assert not access.may(s, stranger, action, path), action
            assert not access.may(s, "", action, path), action  # anonymous
        assert access.decide(s, sharee, access.READ, path).relation == access.WRITER
        assert access.may(s, sharee, access.WRITE, f"{path}/jahr-1.ics")
        refused = [a for a in access.ACTIONS if not access.may(s, sharee, a, path)]
        assert refused == [
            access.CREATE,
            access.CHANGE_PROPERTIES,
            access.DELETE_COLLECTION,
            access.SHARE,
            access.PUBLISH,
        ]
        alias = f"{sharee}/shared-{owner}-calendar"
        assert access.decide(s, sharee, access.WRITE, alias).allowed
        assert not access.decide(s, stranger, access.READ, alias).readable  # not their alias
        assert access.dav_letters(s, sharee, path) == "rwd"
        assert access.dav_letters(s, owner, path) == "rw"
        assert access.dav_letters(s, stranger, path) == ""
    with server.client(stranger) as http:  # existence hidden from who may not read
        assert http.get(f"/api/collections/{owner}/calendar/shares").status_code == 404
        assert http.get(f"/api/collections/{owner}/calendar/public-links").status_code == 404
    with server.client(sharee) as http:  # a reader learns why
        answer = http.get(f"/api/collections/{owner}/calendar/public-links")
        assert answer.status_code == 403 and "owner" in answer.json()["error"]


HOME_PATCH = """<?xml version="1.0"?>
<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Mein Zuhause ä</D:displayname>
</D:prop></D:set></D:propertyupdate>"""


def test_the_door_keeps_the_dav_basics_of_homes_and_challenges(server, shared):
    """What the door must not take away: a user changes the properties of their own home
    (clients keep e.g. default alarms there), nobody else's (403, unchanged); and a DELETE
    of a collection without credentials is asked for them (401 with a challenge, as
    everywhere in DAV), so a client that authenticates only when asked can still delete."""
    owner, sharee = shared
    home = f"/{owner}/"
    with server.client(sharee) as http:
        assert http.request("PROPPATCH", home, content=HOME_PATCH, headers=XML).status_code == 403
    with server.client(owner) as http:
        found = http.request("PROPFIND", home, content=PROPS, headers={**XML, "Depth": "0"})
        assert "Mein Zuhause" not in found.text
        answer = http.request("PROPPATCH", home, content=HOME_PATCH, headers=XML)
        assert answer.status_code == 207 and "200 OK" in answer.text, answer.text
        found = http.request("PROPFIND", home, content=PROPS, headers={**XML, "Depth": "0"})
        assert "Mein Zuhause ä" in found.text
    before = owner_view(server, owner)
    asked = httpx.delete(f"{server.url}/{owner}/calendar/")
    assert asked.status_code == 401 and "Basic" in asked.headers["www-authenticate"]
    assert owner_view(server, owner) == before


def test_a_refused_dav_request_keeps_nothing_it_wrote(server, shared):
    """Radicale stores a PROPPATCH's properties, then fails on the resource type it
    cannot name back (400), from inside ``acquire_lock``: that answer must not commit.
    A refused PUT (an outdated copy) leaves the event as it was too."""
    owner, sharee = shared
    before = owner_view(server, owner)
    with server.client(owner) as http:
        answer = http.request(
            "PROPPATCH", f"/{owner}/calendar/", content=RENAME.encode(), headers=XML
        )
        assert answer.status_code >= 400, answer.text
    assert owner_view(server, owner) == before
    with server.backend.db.transaction() as s:
        calendar = store.get_collection(s, f"{owner}/calendar")
        assert calendar.tag == "VCALENDAR" and calendar.props["D:displayname"] == OWNER_NAME
    changed = zoned_event("jahr-1", "20310310T120000", "20310310T130000")
    with server.client(sharee) as http:  # an outdated copy: 412, nothing stored
        answer = http.put(
            f"/{owner}/calendar/jahr-1.ics", content=changed, headers={**ICS, "If-Match": '"x"'}
        )
        assert answer.status_code == 412
    with server.client(owner) as http:
        assert "T100000" in http.get(f"/{owner}/calendar/jahr-1.ics").text


@pytest.mark.parametrize("when", ["far", "near"])
def test_free_busy_report_leaves_out_a_calendar_excluded_from_free_busy(server, when):
    owner = server.user(role="legal-representative")
    viewer = server.user(org=f"org-{owner}")
    day = datetime(2031, 3, 10, tzinfo=UTC) if when == "far" else datetime.now(UTC) + timedelta(2)
    with server.backend.db.transaction(write=True, owners=[owner]) as s:
        sharing.add_share(s, f"/{owner}/calendar/", "user", viewer, "read")
    stamp = f"{day:%Y%m%d}"
    with server.client(owner) as http:
        body = zoned_event("geheim", f"{stamp}T100000", f"{stamp}T110000", tz="")
        assert http.put(f"/{owner}/calendar/geheim.ics", content=body, headers=ICS).is_success
    query = FREE_BUSY_QUERY.replace("20270104", stamp).replace(
        "20270105", f"{day + timedelta(1):%Y%m%d}"
    )
    with server.client(viewer) as http:
        assert periods(report(http, f"/{owner}/calendar/", query).text) == {
            ("BUSY", f"{stamp}T100000Z/{stamp}T110000Z")
        }
    with server.client(owner) as http:
        answer = http.put(
            "/api/freebusy/calendars", json={"path": f"/{owner}/calendar/", "counts": False}
        )
        assert answer.status_code == 200, answer.text
    for login, path in ((viewer, f"/{owner}/calendar/"), (owner, f"/{owner}/calendar/")):
        with server.client(login) as http:
            answer = report(http, path, query)
        assert answer.status_code == 200, answer.text
        assert periods(answer.text) == set(), login
