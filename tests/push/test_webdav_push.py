"""WebDAV-Push end to end (draft "Push for WebDAV"): a real server, a real loopback push
service (``conftest.PushService``: it verifies the VAPID signature against the key the
server advertises and decrypts each message with the subscriber's keys), and the
dispatcher's push round run by the test with its own clock."""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime

import httpx
import pytest
from sqlalchemy import func, select, update

from calcard import accounts, sharing
from calcard.core.db import Database
from calcard.core.models import PushSubscription
from calcard.core.times import utcnow
from calcard.push import dispatch, vapid

from conftest import (
    PASSWORD,
    Subscriber,
    free_port,
    fresh_backend,
    start_server,
    stop_server,
    sync_report,
)
from helpers import (
    another_write_meanwhile,
    api_import,
    event,
    new_app_password,
    send_pushes,
    web_session,
)

P = "https://bitfire.at/webdav-push"
PUSH_PROPS = (
    '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:P="https://bitfire.at/webdav-push">'
    "<D:prop><P:transports/><P:topic/><P:supported-triggers/></D:prop></D:propfind>"
)
XML = {"Content-Type": "application/xml; charset=utf-8"}
CARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{uid}\r\nEND:VCARD\r\n"


def push_properties(server, login: str, path: str) -> dict[str, str]:
    with server.client(login) as http:
        answer = http.request("PROPFIND", path, content=PUSH_PROPS, headers={"Depth": "0", **XML})
    assert answer.status_code == 207, answer.text
    root = ET.fromstring(answer.content)
    key = root.find(f".//{{{P}}}transports/{{{P}}}web-push/{{{P}}}vapid-public-key")
    depth = root.find(f".//{{{P}}}supported-triggers/{{{P}}}content-update/{{DAV:}}depth")
    assert key is not None and key.get("type") == "p256ecdsa" and depth.text == "1"
    return {"key": key.text, "topic": root.findtext(f".//{{{P}}}topic")}


def register(server, login: str, path: str, sub: Subscriber, **body) -> httpx.Response:
    with server.client(login) as http:
        return http.post(path, content=sub.register_body(**body), headers=XML)


def subscribed(server, login: str, path: str, sub: Subscriber) -> str:
    """Register and return the registration URL."""
    answer = register(server, login, path, sub)
    assert answer.status_code == 201, answer.text
    assert answer.headers["location"].startswith(server.url + "/api/push/registrations/")
    return answer.headers["location"]


def message(delivered) -> tuple[str, str]:
    """(topic, sync token) of a decrypted push-message."""
    root = ET.fromstring(delivered.plaintext)
    assert root.tag == f"{{{P}}}push-message"
    token = root.findtext(f"{{{P}}}content-update/{{DAV:}}sync-token")
    return root.findtext(f"{{{P}}}topic"), token


def put(server, login: str, path: str, text: str, name: str) -> None:
    media = "text/vcard" if name.endswith(".vcf") else "text/calendar"
    with server.client(login) as http:
        answer = http.put(f"{path}{name}", content=text.encode(), headers={"Content-Type": media})
    assert answer.status_code in (201, 204), answer.text


def count_subscriptions(server) -> int:
    with server.backend.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(PushSubscription)) or 0


def test_options_advertise_webdav_push(server):
    login = server.user()
    with server.client(login) as http:
        answer = http.options(f"/{login}/calendar/")
    assert "webdav-push" in answer.headers["dav"]


def test_calendar_and_address_book_push_their_topic_and_new_sync_token(server, push):
    service, settings = push
    login = server.user()
    cal, book = f"/{login}/calendar/", f"/{login}/contacts/"
    cal_sub, book_sub, idle_sub = service.subscriber(), service.subscriber(), service.subscriber()
    subscribed(server, login, cal, cal_sub)
    subscribed(server, login, book, book_sub)
    other = server.user()
    subscribed(server, other, f"/{other}/calendar/", idle_sub)
    put(server, login, cal, event("p1", "20270104T090000Z", "20270104T100000Z"), "p1.ics")
    assert send_pushes(settings) == 1  # the calendar only: nothing changed elsewhere
    with server.client(login) as http:
        token = sync_report(http, cal)[0]
    [got] = service.messages(cal_sub)
    assert push_properties(server, login, cal)["key"] == service.vapid_key  # what it verified
    assert message(got) == (push_properties(server, login, cal)["topic"], token)
    assert got.headers["content-type"].startswith("application/xml")
    assert int(got.headers["ttl"]) > 0 and got.claims["sub"] == "mailto:calcard@example.com"
    assert service.messages(book_sub) == [] and service.messages(idle_sub) == []
    put(server, login, book, CARD.format(uid="c1"), "c1.vcf")
    send_pushes(settings)
    [got] = service.messages(book_sub)
    with server.client(login) as http:
        assert message(got) == (
            push_properties(server, login, book)["topic"],
            sync_report(http, book)[0],
        )
    assert len(service.messages(cal_sub)) == 1 and service.rejected == []


def test_a_new_servers_first_topic_is_signed_while_another_connection_writes(backend, tmp_path):
    """A topic is signed with the link key, inside the PROPFIND's read transaction; made
    there on a new server, SQLite refused it when another connection committed in
    between (503). Each serving process makes the key as it starts."""
    if backend.name != "sqlite":
        pytest.skip("PostgreSQL lets a read transaction write")
    with fresh_backend("sqlite", tmp_path) as fresh:
        srv = start_server(fresh, tmp_path)
        try:
            login = srv.user()
            with srv.client(login) as http:  # the login verified (and cached) beforehand
                assert http.request("PROPFIND", f"/{login}/").status_code == 207
            with fresh.db.transaction() as s:  # the push key is there, made at the start
                assert vapid.public_key(s)
            with another_write_meanwhile(fresh.url):
                topic = push_properties(srv, login, f"/{login}/calendar/")["topic"]
            assert topic and topic == push_properties(srv, login, f"/{login}/calendar/")["topic"]
        finally:
            stop_server(srv)


def test_topics_differ_between_people_and_collections(server, push):
    first, second = server.user(), server.user()
    topics = {
        push_properties(server, login, f"/{login}/{name}/")["topic"]
        for login in (first, second)
        for name in ("calendar", "contacts")
    }
    assert len(topics) == 4


def test_changes_within_a_moment_are_one_message_with_the_last_token(server, push):
    service, settings = push
    login = server.user()
    cal = f"/{login}/calendar/"
    sub = service.subscriber()
    subscribed(server, login, cal, sub)
    for n in range(3):
        put(server, login, cal, event(f"m{n}", "20270104T090000Z", "20270104T100000Z"), f"m{n}.ics")
    assert send_pushes(settings) == 1
    assert send_pushes(settings) == 0  # nothing new: nothing more
    with server.client(login) as http:
        token = sync_report(http, cal)[0]
        assert http.delete(f"{cal}m0.ics").status_code in (200, 204)
    [first] = service.messages(sub)
    assert message(first)[1] == token
    send_pushes(settings)
    second = service.messages(sub)[1]
    assert message(second)[1] != token  # the removal moved the token on


def test_web_api_changes_push_too(server, push):
    service, settings = push
    login = server.user()
    sub = service.subscriber()
    subscribed(server, login, f"/{login}/calendar/", sub)
    with server.client(login) as http:
        answer = http.post(
            "/api/event",
            json={
                "calendar": f"/{login}/calendar/",
                "title": "From the web",
                "start": "2027-01-04T09:00:00Z",
                "end": "2027-01-04T10:00:00Z",
            },
        )
    assert answer.status_code in (200, 201), answer.text
    send_pushes(settings)
    assert len(service.messages(sub)) == 1


def test_sharee_subscribes_through_its_alias_until_the_share_ends(server, push, people):
    service, settings = push
    organizer, colleague, _ = people  # the colleague's calendar is shared with the organizer
    with server.backend.db.transaction() as s:
        alias = next(
            a.alias for a in sharing.shared_with(s, organizer) if a.collection.owner == colleague
        )
    sub = service.subscriber()
    subscribed(server, organizer, f"/{alias}/", sub)
    assert (
        push_properties(server, organizer, f"/{alias}/")["topic"]
        == push_properties(server, colleague, f"/{colleague}/calendar/")["topic"]
    )
    put(
        server,
        colleague,
        f"/{colleague}/calendar/",
        event("s1", "20270104T090000Z", "20270104T100000Z"),
        "s1.ics",
    )
    send_pushes(settings)
    assert len(service.messages(sub)) == 1
    with server.backend.db.transaction(write=True, owners=[colleague]) as s:
        sharing.remove_share(s, f"/{colleague}/calendar/", "user", organizer)
    send_pushes(settings)
    put(
        server,
        colleague,
        f"/{colleague}/calendar/",
        event("s2", "20270104T090000Z", "20270104T100000Z"),
        "s2.ics",
    )
    send_pushes(settings)
    assert len(service.messages(sub)) == 1  # nothing after the share ended
    assert count_subscriptions(server) == 0  # the registration went with the access


def test_revoking_a_devices_app_password_ends_its_registrations(server, push):
    """A lost phone's app password is revoked: its registration ends with it (it learns
    nothing more of the calendar's changes); the account password's one stays."""
    service, settings = push
    login = server.user()
    cal = f"/{login}/calendar/"
    phone, laptop = service.subscriber(), service.subscriber()
    device = new_app_password(server, login)
    with server.client(login, device["password"]) as http:
        answer = http.post(cal, content=phone.register_body(), headers=XML)
    assert answer.status_code == 201, answer.text
    subscribed(server, login, cal, laptop)
    with server.client(login) as http:
        assert http.delete(f"/api/me/app-passwords/{device['id']}").status_code == 200
    put(server, login, cal, event("v1", "20270104T090000Z", "20270104T100000Z"), "v1.ics")
    send_pushes(settings)
    assert service.messages(phone) == [] and len(service.messages(laptop)) == 1
    assert count_subscriptions(server) == 1


def test_registering_again_updates_and_keeps_the_location(server, push):
    service, _ = push
    login = server.user()
    cal = f"/{login}/calendar/"
    sub = service.subscriber()
    first = register(server, login, cal, sub, trigger=False, encoding=False)  # DAVx5 < 4.5.20
    assert first.status_code == 201, first.text
    far = format_datetime(utcnow() + timedelta(days=30), usegmt=True)
    again = register(server, login, cal, sub, expires=far)
    assert again.status_code == 204
    assert again.headers["location"] == first.headers["location"]
    capped = parsedate_to_datetime(again.headers["expires"])
    assert utcnow() + timedelta(days=6) < capped <= utcnow() + timedelta(days=7, minutes=1)
    soon = format_datetime(utcnow() + timedelta(days=3), usegmt=True)
    asked = parsedate_to_datetime(
        register(server, login, cal, sub, expires=soon).headers["expires"]
    )
    assert abs(asked - parsedate_to_datetime(soon)) < timedelta(seconds=2)
    assert count_subscriptions(server) == 1


def test_unsubscribe_only_by_the_registrant(server, push):
    service, settings = push
    login, stranger = server.user(), server.user()
    cal = f"/{login}/calendar/"
    sub = service.subscriber()
    url = subscribed(server, login, cal, sub)
    for client in (server.client(stranger), httpx.Client(timeout=30)):
        with client as http:
            assert http.delete(url).status_code in (401, 403, 404)
    assert count_subscriptions(server) == 1
    with server.client(login) as http:
        assert http.delete(url).status_code == 204
        assert http.delete(url).status_code == 404
    put(server, login, cal, event("u1", "20270104T090000Z", "20270104T100000Z"), "u1.ics")
    send_pushes(settings)
    assert service.messages(sub) == []


def test_expired_registrations_get_nothing_and_go(server, push):
    service, settings = push
    login = server.user()
    cal = f"/{login}/calendar/"
    sub = service.subscriber()
    url = subscribed(server, login, cal, sub)
    put(server, login, cal, event("e1", "20270104T090000Z", "20270104T100000Z"), "e1.ics")
    later = utcnow() + timedelta(days=8)
    assert send_pushes(settings, later) == 0
    assert service.messages(sub) == []
    with server.backend.db.transaction(write=True) as s:  # the server's clock: as if days passed
        s.execute(update(PushSubscription).values(expires_at=utcnow() - timedelta(seconds=1)))
    with server.client(login) as http:
        assert http.delete(url).status_code == 404  # unknown or expired: 404
    assert dispatch.purge_expired(Database(settings.database_url), utcnow()) == 1
    assert count_subscriptions(server) == 0


def test_gone_push_resource_ends_the_subscription_and_failures_retry(server, push):
    service, settings = push
    login = server.user()
    cal = f"/{login}/calendar/"
    gone, flaky = service.subscriber(), service.subscriber()
    subscribed(server, login, cal, gone)
    subscribed(server, login, cal, flaky)
    service.answers[gone.url.removeprefix(service.origin)] = 410
    service.answers[flaky.url.removeprefix(service.origin)] = 503
    put(server, login, cal, event("g1", "20270104T090000Z", "20270104T100000Z"), "g1.ics")
    send_pushes(settings)
    with server.backend.db.transaction() as s:
        rows = s.scalars(select(PushSubscription)).all()
        assert [(r.push_resource, r.attempts) for r in rows] == [(flaky.url, 1)]
        retry = rows[0].due_at
    del service.answers[flaky.url.removeprefix(service.origin)]
    assert send_pushes(settings) == 0  # not before its backoff
    send_pushes(settings, retry.replace(tzinfo=utcnow().tzinfo) + timedelta(seconds=1))
    assert len(service.messages(flaky)) == 1


def test_a_failed_send_tells_the_registrant_no_address(server, push):
    """last_error is the registrant's to read (Settings): why the connection failed, and
    where a host resolved to, stays in the server's log."""
    _, settings = push
    login = server.user()
    cal = f"/{login}/calendar/"
    dead = Subscriber(f"http://127.0.0.1:{free_port()}/push/dead")  # nothing listens there
    subscribed(server, login, cal, dead)
    put(server, login, cal, event("d1", "20270104T090000Z", "20270104T100000Z"), "d1.ics")
    send_pushes(settings)
    http, _ = web_session(server, login)
    [listed] = http.get("/api/push/subscriptions").json()["subscriptions"]
    http.close()
    assert listed["last_error"] == "the push service could not be reached"


def test_two_dispatchers_send_each_message_once(server, push):
    service, settings = push
    login = server.user()
    cal = f"/{login}/calendar/"
    subs = [service.subscriber() for _ in range(12)]
    for sub in subs:
        subscribed(server, login, cal, sub)
    put(server, login, cal, event("t1", "20270104T090000Z", "20270104T100000Z"), "t1.ics")
    moment = utcnow() + timedelta(seconds=2)
    databases = [Database(settings.database_url) for _ in range(2)]

    def drain(n: int) -> None:
        while send_pushes(settings, moment, f"node-{n}", databases[n]):
            pass

    threads = [threading.Thread(target=drain, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [len(service.messages(sub)) for sub in subs] == [1] * 12


def test_a_round_out_of_time_releases_what_it_did_not_reach(server, push):
    """A round starts no message past its budget: the rest go back, due, unclaimed (not
    held until a lease runs out and then sent twice), and the next round sends them."""
    service, settings = push
    login = server.user()
    cal = f"/{login}/calendar/"
    subs = [service.subscriber() for _ in range(3)]
    for sub in subs:
        subscribed(server, login, cal, sub)
    put(server, login, cal, event("b1", "20270104T090000Z", "20270104T100000Z"), "b1.ics")
    moment = utcnow() + timedelta(seconds=2)
    db = Database(settings.database_url)
    assert dispatch.run(db, settings, "slow", moment, budget=0) == 1
    with server.backend.db.transaction() as s:
        rows = s.scalars(select(PushSubscription)).all()
        assert sorted(r.due_at is None for r in rows) == [False, False, True]
        assert all(r.lease_until is None for r in rows)
    assert send_pushes(settings, moment, "other") == 2
    assert [len(service.messages(sub)) for sub in subs] == [1, 1, 1]


def test_who_may_not_read_cannot_subscribe(server, push, people):
    service, _ = push
    organizer, colleague, org = people
    member = server.user(org=org)  # same organization, no share
    stranger = server.user()  # another organization
    external = server.user("external", org=org)
    gone = server.user(org=org)
    with server.backend.db.transaction(write=True, owners=[gone]) as s:
        accounts.remove_user(s, gone, org)
    target = f"/{colleague}/calendar/"
    for login, expected in ((member, 404), (stranger, 404), (external, 404), (gone, 401)):
        answer = register(server, login, target, service.subscriber())
        assert answer.status_code == expected, (login, answer.text)
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        answer = anonymous.post(target, content=service.subscriber().register_body(), headers=XML)
    assert answer.status_code == 401 and "basic" in answer.headers["www-authenticate"].lower()
    organizer_alias = f"/{member}/calendar/"  # someone else's home
    assert register(server, organizer, organizer_alias, service.subscriber()).status_code == 404
    assert count_subscriptions(server) == 0
    assert PASSWORD  # the people fixture's password opens the organizer's account


def _bodies(sub: Subscriber) -> dict[str, tuple[str, int]]:
    good = sub.register_body()
    deep = "<a>" * 200 + "</a>" * 200
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<P:push-register xmlns:P="https://bitfire.at/webdav-push">&b;</P:push-register>'
    )
    key = re.search(r'p256dh">([^<]+)<', good).group(1)
    auth = re.search(r"<P:auth-secret>([^<]+)<", good).group(1)
    return {
        "not xml": ('<P:push-register xmlns:P="https://bitfire.at/webdav-push"><', 400),
        "entities": (bomb, 400),
        "too deep": (good.replace("<P:subscription>", "<P:subscription>" + deep, 1), 400),
        "two subscriptions": (
            good.replace("</P:subscription>", "</P:subscription><P:subscription/>", 1),
            403,
        ),
        "no key": (
            re.sub(r"<P:subscription-public-key[^/]+/P:subscription-public-key>", "", good),
            403,
        ),
        "key not on the curve": (good.replace(key, "BA" + "A" * 85), 403),
        "key of the wrong length": (good.replace(key, key[:40]), 403),
        "auth not base64url": (good.replace(auth, "!!not-base64!!"), 403),
        "auth too short": (good.replace(auth, "AAAA"), 403),
        "relative resource": (good.replace(sub.url, "/push/abc"), 403),
        "javascript resource": (good.replace(sub.url, "javascript:alert(1)"), 403),
        "ftp resource": (good.replace(sub.url, "ftp://127.0.0.1/x"), 403),
        "http to a host not allowed": (good.replace(sub.url, "http://example.com/push/x"), 403),
        "a private address not allowed": (good.replace(sub.url, "https://10.1.2.3/push/x"), 403),
        "credentials in the resource": (good.replace("http://", "http://me:pw@", 1), 403),
        "control character": (good.replace(sub.url, sub.url + "&#10;x"), 403),
        "other encryption": (good.replace(">aes128gcm<", ">aesgcm<"), 403),
        "property updates only": (
            good.replace(
                "<P:content-update><D:depth>1</D:depth></P:content-update>",
                "<P:property-update><D:depth>0</D:depth></P:property-update>",
            ),
            403,
        ),
        "empty trigger": (
            good.replace("<P:content-update><D:depth>1</D:depth></P:content-update>", ""),
            403,
        ),
        "wrong root": (good.replace("push-register", "push-register-not"), 400),
    }


def test_hostile_registrations_get_4xx_and_store_nothing(server, push):
    service, _ = push
    login = server.user()
    sub = service.subscriber()
    with server.client(login) as http:
        for name, (body, expected) in _bodies(sub).items():
            answer = http.post(f"/{login}/calendar/", content=body.encode(), headers=XML)
            assert answer.status_code == expected, (name, answer.status_code, answer.text)
        for where in (f"/{login}/inbox/", f"/{login}/", f"/{login}/calendar/nothing.ics"):
            answer = http.post(where, content=sub.register_body().encode(), headers=XML)
            assert answer.status_code in (403, 404), (where, answer.text)
    assert count_subscriptions(server) == 0


def test_garbled_expiry_is_ignored(server, push):
    service, _ = push
    login = server.user()
    answer = register(server, login, f"/{login}/calendar/", service.subscriber(), expires="soon")
    assert answer.status_code == 201
    assert parsedate_to_datetime(answer.headers["expires"]) > utcnow() + timedelta(days=6)


def test_trash_restore_and_removal_of_the_collection_push(server, push):
    service, settings = push
    login = server.user()
    cal = f"/{login}/team/"
    with server.client(login) as http:
        assert http.request("MKCALENDAR", cal).status_code == 201
    sub = service.subscriber()
    subscribed(server, login, cal, sub)
    put(server, login, cal, event("r1", "20270104T090000Z", "20270104T100000Z"), "r1.ics")
    with server.client(login) as http:
        assert http.delete(f"{cal}r1.ics").status_code in (200, 204)
        send_pushes(settings)
        trashed = http.get("/api/trash").json()["trash"]
        entry = next(e for e in trashed if e["uid"] == "r1")
        assert http.post(f"/api/trash/{entry['id']}/restore").status_code == 200
        send_pushes(settings)
        restored = sync_report(http, cal)[0]
        assert message(service.messages(sub)[-1])[1] == restored
        assert http.delete(cal).status_code in (200, 204)  # the calendar itself, to the trash
    send_pushes(settings)
    topic, token = message(service.messages(sub)[-1])
    assert len(service.messages(sub)) == 3 and token is None and topic
    assert count_subscriptions(server) == 0  # the registration ended with its collection


def test_a_trashed_collection_tells_only_who_still_had_access(server, push):
    """The last message of a trashed collection goes to its owner and to sharees whose
    share stands; a former sharee whose registration was not yet swept gets nothing."""
    service, settings = push
    owner, kept, former = server.user(), server.user(), server.user()
    cal = f"/{owner}/team/"
    with server.client(owner) as http:
        assert http.request("MKCALENDAR", cal).status_code == 201
    with server.backend.db.transaction(write=True, owners=[owner]) as s:
        for sharee in (kept, former):
            sharing.add_share(s, cal, "user", sharee, "read")
    with server.backend.db.transaction() as s:
        aliases = {a.alias.split("/")[0]: a.alias for a in sharing.shared_with(s, kept)}
        aliases |= {a.alias.split("/")[0]: a.alias for a in sharing.shared_with(s, former)}
    subs = {who: service.subscriber() for who in (owner, kept, former)}
    subscribed(server, owner, cal, subs[owner])
    for sharee in (kept, former):
        subscribed(server, sharee, f"/{aliases[sharee]}/", subs[sharee])
    with server.backend.db.transaction(write=True, owners=[owner]) as s:
        sharing.remove_share(s, cal, "user", former)
    with server.client(owner) as http:
        assert http.delete(cal).status_code in (200, 204)
    send_pushes(settings)
    assert [len(service.messages(subs[w])) for w in (owner, kept, former)] == [1, 1, 0]
    assert count_subscriptions(server) == 0


def test_push_dont_notify_spares_only_the_requesters_own(server, push):
    service, settings = push
    owner, writer = server.user(), server.user()
    cal = f"/{owner}/calendar/"
    with server.backend.db.transaction(write=True, owners=[owner]) as s:
        sharing.add_share(s, cal, "user", writer, "read-write")
    own, other, writers = service.subscriber(), service.subscriber(), service.subscriber()
    own_url = subscribed(server, owner, cal, own)
    subscribed(server, owner, cal, other)
    subscribed(server, writer, cal, writers)
    text = event("q1", "20270104T090000Z", "20270104T100000Z")
    with server.client(owner) as http:
        headers = {"Content-Type": "text/calendar", "Push-Dont-Notify": f'"{own_url}", "junk"'}
        assert http.put(f"{cal}q1.ics", content=text.encode(), headers=headers).status_code == 201
    send_pushes(settings)
    assert [len(service.messages(s)) for s in (own, other, writers)] == [0, 1, 1]
    with server.client(writer) as http:  # "*" spares the writer's own only, never the owner's
        headers = {"Content-Type": "text/calendar", "Push-Dont-Notify": "*"}
        answer = http.put(
            f"{cal}q1.ics", content=text.replace("Meeting", "Moved").encode(), headers=headers
        )
        assert answer.status_code == 204, answer.text
    send_pushes(settings)
    assert [len(service.messages(s)) for s in (own, other, writers)] == [1, 2, 1]
    with server.client(writer) as http:  # naming someone else's registration spares nothing
        headers = {"Content-Type": "text/calendar", "Push-Dont-Notify": f'"{own_url}"'}
        assert http.delete(f"{cal}q1.ics", headers=headers).status_code in (200, 204)
    send_pushes(settings)
    assert [len(service.messages(s)) for s in (own, other, writers)] == [2, 3, 2]


def test_an_import_pushes_once(server, push):
    service, settings = push
    login = server.user()
    sub = service.subscriber()
    subscribed(server, login, f"/{login}/calendar/", sub)
    with server.client(login) as http:
        api_import(http, "google.ics", f"/{login}/calendar/")
    send_pushes(settings)
    assert len(service.messages(sub)) == 1


def test_padded_keys_are_stored_canonical_and_a_far_expiry_is_ignored(server, push):
    """Padding past the data (``=`` after a complete key) still decodes to a good key:
    it is stored as its canonical base64url, not as sent (PostgreSQL's columns hold no
    more; a 500 before); an expiry whose UTC moment is past year 9999 is unreadable."""
    service, settings = push
    login = server.user()
    cal = f"/{login}/calendar/"
    sub = service.subscriber()
    body = sub.register_body(expires="Fri, 31 Dec 9999 23:59:59 -1400")
    body = body.replace(sub.p256dh, sub.p256dh + "=" * 300)
    body = body.replace("</P:auth-secret>", "=" * 300 + "</P:auth-secret>")
    with server.client(login) as http:
        answer = http.post(cal, content=body.encode(), headers=XML)
    assert answer.status_code == 201, answer.text
    assert parsedate_to_datetime(answer.headers["expires"]) < utcnow() + timedelta(days=8)
    with server.backend.db.transaction() as s:
        [row] = s.scalars(select(PushSubscription)).all()
        assert (len(row.p256dh), len(row.auth)) == (87, 22)
    put(server, login, cal, event("k1", "20270104T090000Z", "20270104T100000Z"), "k1.ics")
    send_pushes(settings)
    assert len(service.messages(sub)) == 1 and service.rejected == []
