"""Web Push for the web calendar's browsers: a subscription through the API, reminders on
the browser channel and invitation notices sent to it (decrypted by the loopback push
service), the Stop action's signed route, and the Settings list with its removal."""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from calcard import accounts
from calcard.core.errors import Refusal
from calcard.core.models import PushSubscription, Reminder
from calcard.core.times import utcnow
from calcard.push import subscriptions, wire
from calcard.push.vapid import b64url_decode
from calcard.worker import Dispatcher

from conftest import Subscriber, b64url, fresh_backend, start_server, stop_server
from helpers import another_write_meanwhile, invitation, put_event, send_pushes, web_session

ALARM_EVENT = (  # a display alarm: the browser channel
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
    "DTSTAMP:20260101T000000Z\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDURATION:PT1H\r\n"
    "SUMMARY:Standup {uid}\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\n"
    "DESCRIPTION:r\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def browser_body(sub: Subscriber, label: str = "Browser: test") -> dict:
    return {
        "endpoint": sub.url,
        "keys": {"p256dh": sub.p256dh, "auth": b64url(sub.auth)},
        "label": label,
    }


def subscribe(server, login: str, sub: Subscriber) -> str:
    http, csrf = web_session(server, login)
    answer = http.post("/api/push/browser", json=browser_body(sub), headers={"X-CSRF-Token": csrf})
    http.close()
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def notices(service, sub) -> list[dict]:
    return [json.loads(d.plaintext) for d in service.messages(sub)]


def test_browser_gets_its_reminders_and_stops_a_repeating_one(server, push):
    service, settings = push
    login = server.user()
    sub = service.subscriber()
    subscribe(server, login, sub)
    start = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    text = ALARM_EVENT.format(uid="wp1", start=start)
    put_event(server, login, "wp1", text)
    with server.backend.db.transaction(write=True) as s:  # a repeating one, on the browser channel
        accounts.update_settings(s, login, {"language": "de"})  # the Stop action in German
        row = s.scalars(
            select(Reminder).where(Reminder.owner == login, Reminder.channel == "display")
        ).one()
        row.repeat = "hourly"
        fire = row.fire_at
    clock = lambda: fire.replace(tzinfo=UTC) + timedelta(minutes=1)  # noqa: E731
    Dispatcher(server.backend.db, settings, clock).run_once()
    send_pushes(settings, clock() + timedelta(seconds=2))
    [notice] = notices(service, sub)
    assert notice["title"].startswith("Standup wp1") and notice["tag"] == f"calcard-{notice['id']}"
    stop = notice["stop"]
    assert stop["title"] == "Beenden"  # the worker has no page language: the server says it
    with httpx.Client(base_url=server.url, timeout=30) as worker:  # what sw.js's Stop posts
        forged = worker.post(stop["url"], data={"sig": "0" * 32})
        assert forged.status_code == 404
        answer = worker.post(stop["url"], data={"sig": stop["sig"]})
    assert answer.status_code == 200, answer.text
    with server.backend.db.transaction() as s:  # the next repeat will not come
        statuses = s.scalars(
            select(Reminder.status).where(Reminder.owner == login, Reminder.channel == "display")
        ).all()
    assert sorted(statuses) == ["sent", "stopped"]


def test_invitation_notice_reaches_the_invitees_browser_and_its_phone(server, push):
    service, settings = push
    organizer, guest = server.user(), server.user()
    browser, phone = service.subscriber(), service.subscriber()
    subscribe(server, guest, browser)
    with server.client(guest) as http:
        answer = http.post(
            f"/{guest}/calendar/",
            content=phone.register_body(),
            headers={"Content-Type": "application/xml"},
        )
        assert answer.status_code == 201, answer.text
    start = datetime(2027, 3, 1, 9, tzinfo=UTC)
    put_event(
        server, organizer, "inv1", invitation("inv1", organizer, [f"{guest}@example.com"], start)
    )
    send_pushes(settings)
    [notice] = notices(service, browser)
    assert notice["title"] == "Invitation: Planning inv1" and "stop" not in notice
    assert len(service.messages(phone)) == 1  # the copy delivered into the guest's calendar


def test_settings_lists_and_removes_only_ones_own(server, push):
    service, _ = push
    owner, other = server.user(), server.user()
    mine = subscribe(server, owner, service.subscriber())
    theirs = subscribe(server, other, service.subscriber())
    http, csrf = web_session(server, owner)
    listed = http.get("/api/push/subscriptions").json()["subscriptions"]
    assert [(s["token"], s["kind"], s["service"]) for s in listed] == [
        (mine, "browser", "127.0.0.1")
    ]
    assert "p256dh" not in json.dumps(listed) and "auth" not in listed[0]
    refused = http.delete(f"/api/push/registrations/{theirs}", headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 404
    no_csrf = http.delete(f"/api/push/registrations/{mine}")
    assert no_csrf.status_code == 403
    assert (
        http.delete(f"/api/push/registrations/{mine}", headers={"X-CSRF-Token": csrf}).status_code
        == 204
    )
    http.close()
    with server.backend.db.transaction() as s:
        assert s.scalars(select(PushSubscription.token)).all() == [theirs]


def test_browser_subscription_refuses_bad_keys_and_plain_http(server, push):
    service, _ = push
    login = server.user()
    http, csrf = web_session(server, login)
    sub = service.subscriber()
    bad = [
        {**browser_body(sub), "endpoint": "http://example.com/push/x"},
        {**browser_body(sub), "keys": {"p256dh": "AAAA", "auth": b64url(sub.auth)}},
        {**browser_body(sub), "keys": {"p256dh": sub.p256dh, "auth": "AAAA"}},
        {**browser_body(sub), "keys": "none"},
        {"endpoint": sub.url},
        {**browser_body(sub), "endpoint": 5},
    ]
    for body in bad:
        answer = http.post("/api/push/browser", json=body, headers={"X-CSRF-Token": csrf})
        assert 400 <= answer.status_code < 500, (body, answer.text)
    http.close()
    with server.backend.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(PushSubscription)) == 0


def test_two_subscriptions_at_the_cap_at_once_only_one_is_taken(backend):
    """The per-person cap holds under concurrency: a registration that waits for another
    still open counts it (the registrant's lock), rather than both counting one short."""
    login = f"cap{uuid.uuid4().hex[:10]}"
    with backend.db.transaction(write=True, owners=[login]) as s:
        accounts.create_org(s, f"org-{login}", plan="team")
        accounts.add_user(s, login, f"org-{login}", "collaborator", "a long password 1")
        for n in range(subscriptions.MAX_PER_OWNER - 1):
            subscriptions.register_browser(s, login, _wanted(n), "Browser", ALLOW, utcnow())
    holding, may_commit = threading.Event(), threading.Event()

    def register_and_hold() -> None:
        with backend.db.transaction(write=True) as s:
            subscriptions.register_browser(s, login, _wanted(-1), "Browser", ALLOW, utcnow())
            holding.set()
            may_commit.wait(10)

    def register_too() -> str:
        holding.wait(10)
        try:
            with backend.db.transaction(write=True) as s:
                subscriptions.register_browser(s, login, _wanted(-2), "Browser", ALLOW, utcnow())
        except Refusal as refusal:
            return str(refusal)
        return "accepted"

    with ThreadPoolExecutor(2) as pool:
        holder, contender = pool.submit(register_and_hold), pool.submit(register_too)
        time.sleep(0.5)  # the contender is inside its transaction now
        may_commit.set()
        holder.result(15)
        assert "at most" in contender.result(15)
    with backend.db.transaction() as s:
        count = s.scalar(select(func.count()).where(PushSubscription.owner == login))
    assert count == subscriptions.MAX_PER_OWNER


ALLOW = "127.0.0.1"


def _wanted(n: int) -> wire.Registration:
    sub = Subscriber(f"http://127.0.0.1:9/push/{n}")
    return wire.Registration(sub.url, sub.p256dh, b64url(sub.auth), None)


def test_the_first_key_is_made_while_another_connection_writes(backend, tmp_path):
    """The key is made on first use. Made inside the read transaction that found it
    missing, SQLite refused it (503 "database is locked") whenever another connection
    committed in between, as the suite's other requests did; a key made in a write
    transaction of its own waits for that one instead."""
    if backend.name != "sqlite":
        pytest.skip("PostgreSQL lets a read transaction write")
    with fresh_backend("sqlite", tmp_path) as fresh:
        srv = start_server(fresh, tmp_path)
        try:
            http, _ = web_session(srv, srv.user())
            with another_write_meanwhile(fresh.url):
                answer = http.get("/api/push/key")
            assert answer.status_code == 200, answer.text
            assert len(b64url_decode(answer.json()["key"])) == 65
            assert http.get("/api/push/key").json() == answer.json()  # made once
        finally:
            stop_server(srv)
