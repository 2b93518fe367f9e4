"""RFC 6638 schedule inbox and outbox over DAV, the RSVP page's language, and
cross-owner writes of scheduling under concurrency."""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from calcard import accounts, store
from calcard.core.config import Settings
from calcard.core.db import Database, alembic_config
from calcard.store import inbox
from calcard.worker import Dispatcher

from conftest import sync_report
from helpers import answer, dav_calendar, flush_mail, invitation, partstats, rsvp_link

DAV, CALDAV = "{DAV:}", "{urn:ietf:params:xml:ns:caldav}"
ICS = {"Content-Type": "text/calendar"}
HOUR = timedelta(hours=1)


def propfind(http: httpx.Client, path: str, props: str, depth: str = "0") -> ET.Element:
    body = (
        '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" '
        f'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>{props}</D:prop></D:propfind>'
    )
    response = http.request("PROPFIND", path, content=body, headers={"Depth": depth})
    assert response.status_code == 207, response.text
    return ET.fromstring(response.text)


def found(tree: ET.Element, prop: str) -> ET.Element:
    """The element of ``prop`` (Clark notation) answered with 200."""
    for propstat in tree.iter(f"{DAV}propstat"):
        if "200" in (propstat.findtext(f"{DAV}status") or ""):
            element = propstat.find(f"{DAV}prop/{prop}")
            if element is not None:
                return element
    raise AssertionError(f"{prop} not found in {ET.tostring(tree).decode()}")


def inbox_messages(server, login: str) -> dict[str, str]:
    """The METHOD of each message in the user's inbox, by href, read with GET."""
    with server.client(login) as http:
        tree = propfind(http, f"/{login}/inbox/", "<D:getetag/>", depth="1")
        hrefs = [h.text for h in tree.iter(f"{DAV}href") if h.text.endswith(".ics")]
        methods = {}
        for href in hrefs:
            response = http.get(href)
            assert response.status_code == 200
            methods[href] = re.search(r"^METHOD:(\w+)", response.text, re.M)[1]
    return methods


@pytest.fixture
def pair(server):
    """An organizer and a colleague, both with their account address."""
    organizer, guest = server.user(), server.user()
    with server.backend.db.transaction(write=True) as s:
        accounts.update_settings(s, organizer, {"language": "de"})
    return organizer, guest


def start_in(days: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )


def test_principal_advertises_the_boxes_and_they_show_as_boxes(server, pair):
    organizer, _ = pair
    with server.client(organizer) as http:
        tree = propfind(http, f"/{organizer}/", "<C:schedule-inbox-URL/><C:schedule-outbox-URL/>")
        inbox_url = found(tree, f"{CALDAV}schedule-inbox-URL").findtext(f"{DAV}href")
        outbox_url = found(tree, f"{CALDAV}schedule-outbox-URL").findtext(f"{DAV}href")
        assert (inbox_url, outbox_url) == (f"/{organizer}/inbox/", f"/{organizer}/outbox/")
        tree = propfind(
            http, inbox_url, "<D:resourcetype/><C:schedule-default-calendar-URL/><D:sync-token/>"
        )
        kinds = [child.tag for child in found(tree, f"{DAV}resourcetype")]
        assert kinds == [f"{DAV}collection", f"{CALDAV}schedule-inbox"]
        default = found(tree, f"{CALDAV}schedule-default-calendar-URL")
        assert default.findtext(f"{DAV}href") == f"/{organizer}/calendar/"
        tree = propfind(http, outbox_url, "<D:resourcetype/>")
        kinds = [child.tag for child in found(tree, f"{DAV}resourcetype")]
        assert kinds == [f"{DAV}collection", f"{CALDAV}schedule-outbox"]
    principal = dav_calendar(server, organizer).client.principal()
    assert str(principal.schedule_inbox().url).endswith(f"/{organizer}/inbox/")
    # The boxes are no calendars: clients listing calendars do not see them.
    assert [str(c.url).rstrip("/").rsplit("/", 1)[-1] for c in principal.calendars()] == [
        "calendar"
    ]


def test_inbox_receives_request_reply_and_cancel(server, pair):
    organizer, guest = pair
    guest_inbox = dav_calendar(server, guest).client.principal().schedule_inbox()
    with server.client(guest) as http:
        token, _ = sync_report(http, f"/{guest}/inbox/")
    dav_calendar(server, organizer).save_event(
        invitation("boxed", organizer, [f"{guest}@example.com"], start_in(30))
    )
    (request,) = guest_inbox.get_items()
    assert "METHOD:REQUEST" in request.data and "UID:boxed" in request.data
    assert "VALARM" not in request.data and "SCHEDULE-STATUS" not in request.data
    with server.client(guest) as http:
        token, changes = sync_report(http, f"/{guest}/inbox/", token)
        assert str(request.url.path) in changes

    answer(server, guest, "boxed", "ACCEPTED")
    (reply,) = inbox_messages(server, organizer).items()
    assert reply[1] == "REPLY"
    with server.client(organizer) as http:
        text = http.get(reply[0]).text
    assert partstats(text) == {f"{guest}@example.com": "ACCEPTED"}  # only the one answering
    assert f"ORGANIZER:mailto:{organizer}@example.com" in text

    # A processed message is deleted by the client; the deletion syncs.
    request.delete()
    with server.client(guest) as http:
        token, changes = sync_report(http, f"/{guest}/inbox/", token)
        assert "404" in changes and str(request.url.path) in changes
        assert http.get(request.url.path).status_code == 404
    assert inbox_messages(server, guest) == {}

    # An update (another time) is a new REQUEST; deleting the event, a CANCEL.
    event = dav_calendar(server, organizer).event_by_uid("boxed")
    event.data = invitation("boxed", organizer, [f"{guest}@example.com"], start_in(30) + HOUR)
    event.save()
    assert list(inbox_messages(server, guest).values()) == ["REQUEST"]
    dav_calendar(server, organizer).event_by_uid("boxed").delete()
    assert sorted(inbox_messages(server, guest).values()) == ["CANCEL", "REQUEST"]
    with server.client(guest) as http:
        listing = http.get("/api/trash").text
    assert "inbox" not in listing  # deleted messages do not clutter the trash


def test_a_rooms_own_answer_reaches_the_organizers_inbox(server, team):
    organizer, _, room = team
    calendar = dav_calendar(server, organizer)
    calendar.save_event(invitation("roomy", organizer, [room], start_in(40)))
    (reply,) = inbox_messages(server, organizer).items()
    assert reply[1] == "REPLY"
    with server.client(organizer) as http:
        assert partstats(http.get(reply[0]).text) == {room: "ACCEPTED"}
    event = calendar.event_by_uid("roomy")
    event.data = event.data.replace("SUMMARY:Planning roomy", "SUMMARY:Planning, renamed")
    event.save()  # same answer, nothing new to read
    assert len(inbox_messages(server, organizer)) == 1
    clash = invitation("clash", organizer, [room], start_in(40))
    calendar.save_event(clash)  # the room is taken then: it declines
    with server.client(organizer) as http:
        answers = [partstats(http.get(h).text) for h in inbox_messages(server, organizer)]
    assert {room: "DECLINED"} in answers and len(answers) == 2


def test_inbox_is_read_and_delete_only_and_private(server, pair):
    organizer, guest = pair
    dav_calendar(server, organizer).save_event(
        invitation("private", organizer, [f"{guest}@example.com"], start_in(31))
    )
    (href,) = inbox_messages(server, guest)
    body = invitation("forged", organizer, [f"{guest}@example.com"], start_in(31))
    with server.client(guest) as http:
        for path in (f"/{guest}/inbox/forged.ics", href):
            refused = http.put(path, content=body, headers=ICS)
            assert refused.status_code == 403 and "inbox" in refused.text, refused.text
        assert http.put(f"/{guest}/inbox/", content=body, headers=ICS).status_code == 403
        assert http.put(f"/{guest}/outbox/x.ics", content=body, headers=ICS).status_code == 403
        assert http.request("MKCOL", f"/{guest}/inbox/sub/").status_code == 403
        assert http.request("DELETE", f"/{guest}/inbox/").status_code == 403
        assert http.request("DELETE", f"/{guest}/outbox/").status_code == 403
        moved = http.request(
            "MOVE", href, headers={"Destination": f"{server.url}/{guest}/calendar/moved.ics"}
        )
        assert moved.status_code == 403
        proppatch = (
            '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
            "<D:displayname>Mine</D:displayname></D:prop></D:set></D:propertyupdate>"
        )
        assert http.request("PROPPATCH", f"/{guest}/inbox/", content=proppatch).status_code == 403
    assert list(inbox_messages(server, guest)) == [href]
    with server.client(organizer) as stranger:
        assert stranger.request("PROPFIND", f"/{guest}/inbox/").status_code == 403
        assert stranger.get(href).status_code == 403
        assert stranger.delete(href).status_code == 403
    assert list(inbox_messages(server, guest)) == [href]
    with server.client(guest) as http:
        shared = http.put(
            f"/api/collections/{guest}/inbox/shares",
            json={"kind": "user", "name": organizer, "access": "read"},
        )
    assert shared.status_code == 404, shared.text


def test_rsvp_page_speaks_the_organizers_language(server, pair, smtp):
    organizer, _ = pair
    external = "gast@elsewhere.example"
    dav_calendar(server, organizer).save_event(
        invitation("sprache", organizer, [external], start_in(32))
    )
    flush_mail(server, smtp)
    link = rsvp_link(smtp.to(external)[-1])
    page = httpx.get(link)
    assert page.status_code == 200
    assert "<html lang='de'>" in page.text and "Zusagen" in page.text, page.text
    form = dict(re.findall(r"name='(\w+)' value='([^']*)'", page.text))
    form = {k: v.replace("&amp;", "&") for k, v in form.items()}
    done = httpx.post(f"{server.url}/api/rsvp", data={**form, "answer": "ACCEPTED"})
    assert done.status_code == 200 and "zugesagt" in done.text, done.text
    refused = httpx.post(f"{server.url}/api/rsvp", data={**form, "sig": "x", "answer": "ACCEPTED"})
    assert refused.status_code == 403
    # The organizer's inbox has the external answer too.
    assert "REPLY" in inbox_messages(server, organizer).values()


def test_existing_users_get_their_boxes_on_upgrade(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    db.upgrade()
    with db.transaction(write=True) as s:
        accounts.create_org(s, "Old", plan="team")
        accounts.add_user(s, "olduser", "Old", "collaborator", "long enough pass")
    config = alembic_config(db.url)
    before = ScriptDirectory.from_config(config).get_revision("0011").down_revision
    command.downgrade(config, before)
    with db.engine.connect() as conn:  # the schema of then: no model of today fits it
        boxes = conn.execute(text("SELECT path FROM collections WHERE path LIKE 'olduser/%'"))
        assert "olduser/inbox" not in boxes.scalars().all()
    command.upgrade(config, "head")
    with db.transaction() as s:
        boxes = [inbox.kind(store.get_collection(s, f"olduser/{b}")) for b in ("inbox", "outbox")]
    assert boxes == ["inbox", "outbox"]
    db.dispose()


def test_two_organizers_inviting_each_other_concurrently(server):
    alice, bob = server.user(), server.user()
    start = (datetime.now(UTC) + timedelta(days=20)).replace(minute=0, second=0, microsecond=0)
    rounds, threads_per_user = 4, 4
    barrier = threading.Barrier(2 * threads_per_user)
    statuses: list[int] = []
    uids: list[tuple[str, str]] = []

    def invite(organizer: str, guest: str, worker: int) -> None:
        with server.client(organizer) as http:
            barrier.wait()
            for n in range(rounds):
                uid = f"mutual-{organizer}-{worker}-{n}"
                body = invitation(uid, organizer, [f"{guest}@example.com"], start)
                response = http.put(
                    f"/{organizer}/calendar/{uid}.ics",
                    content=body.encode(),
                    headers={"Content-Type": "text/calendar"},
                )
                statuses.append(response.status_code)
                uids.append((organizer, uid))

    threads = [
        threading.Thread(target=invite, args=(who, other, worker))
        for who, other in ((alice, bob), (bob, alice))
        for worker in range(threads_per_user)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses and all(200 <= code < 300 for code in statuses), statuses
    assert len(uids) == 2 * threads_per_user * rounds
    for login in (alice, bob):
        with server.client(login) as http:
            listing = http.request("PROPFIND", f"/{login}/calendar/", headers={"Depth": "1"}).text
        for _, uid in uids:
            assert f"{uid}.ics" in listing, (login, uid)


def test_messages_older_than_a_month_leave_the_inbox_and_the_deletion_syncs(server, pair):
    organizer, guest = pair
    dav_calendar(server, organizer).save_event(
        invitation("aging", organizer, [f"{guest}@example.com"], start_in(3))
    )
    (href,) = inbox_messages(server, guest)
    with server.client(guest) as http:
        token, _ = sync_report(http, f"/{guest}/inbox/")
    now = datetime.now(UTC)
    inbox.purge(server.backend.db, now + inbox.KEEP - HOUR)
    assert list(inbox_messages(server, guest)) == [href]  # not a month old yet
    settings = Settings(data_dir=server.log.parent, database_url=server.backend.url)
    Dispatcher(server.backend.db, settings).housekeeping(now + inbox.KEEP + HOUR)
    assert inbox_messages(server, guest) == {}
    with server.client(guest) as http:
        _, changes = sync_report(http, f"/{guest}/inbox/", token)
        assert "404" in changes and href in changes
        assert http.get(href).status_code == 404
    assert dav_calendar(server, guest).event_by_uid("aging")  # the event itself stays
