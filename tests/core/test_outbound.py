"""Chat webhooks cannot reach the inside (issue 14, finding 7).

Traffic only ever goes to loopback listeners here: the refusals of other internal
addresses are tested at the decision, which comes before any connection (a
recording network backend proves that nothing was connected).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore
import pytest
from sqlalchemy import delete

from calcard import accounts
from calcard.core import outbound
from calcard.core.config import Settings
from calcard.core.models import Reminder
from calcard.reminders import delivery
from calcard.worker import Dispatcher

from conftest import free_port, start_server, stop_server
from helpers import put_event

REFUSED = [
    "127.0.0.1",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.251",
    "240.0.0.1",
    "::1",
    "::",
    "fe80::1",
    "fd00::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "2002:c0a8:0101::1",
]


class Listener:
    """A loopback webhook: records what is posted; ``redirect`` answers 302 there instead."""

    def __init__(self, redirect: str = "") -> None:
        self.posts: list[dict] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server API)
                posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(302 if redirect else 200)
                if redirect:
                    self.send_header("Location", redirect)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/hooks/ä"

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture
def listener():
    found = Listener()
    yield found
    found.close()


@pytest.fixture
def connects(monkeypatch) -> list[tuple[str, int]]:
    """Every TCP connection the guarded transport opens (and none to a refused address)."""
    opened: list[tuple[str, int]] = []
    real = httpcore.SyncBackend.connect_tcp

    def record(self, host, port, *args, **kwargs):
        opened.append((host, port))
        return real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", record)
    return opened


@pytest.mark.parametrize("address", REFUSED)
def test_internal_addresses_are_refused_before_any_connection(address, connects):
    assert outbound.Policy.parse("").refusal("hook", ipaddress.ip_address(address))
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(delivery.DeliveryError) as refused:
        delivery.post_chat(f"http://{host}:8065/hooks/x", "Geheim: Übernahme")
    assert str(refused.value) == delivery.CHAT_UNREACHABLE
    assert connects == []


def test_public_addresses_pass_and_the_allow_list_opens_named_networks():
    policy = outbound.Policy.parse("")
    for public in ("8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"):
        assert policy.refusal("hook", ipaddress.ip_address(public)) == ""
    allowed = outbound.Policy.parse(" 10.1.0.0/16 , Chat.Intern.example ,127.0.0.0/8")
    assert allowed.refusal("x", ipaddress.ip_address("10.1.2.3")) == ""
    assert allowed.refusal("x", ipaddress.ip_address("::ffff:127.0.0.1")) == ""
    assert allowed.refusal("x", ipaddress.ip_address("10.2.0.1"))
    assert allowed.refusal("chat.intern.example.", ipaddress.ip_address("10.9.9.9")) == ""
    assert allowed.refusal("169.254.169.254", ipaddress.ip_address("169.254.169.254"))


def test_a_name_resolving_inside_is_refused_and_the_checked_address_is_the_one_connected(
    monkeypatch, connects, listener
):
    """No DNS-rebinding gap: the name is resolved once, and the socket goes to that address."""
    with pytest.raises(delivery.DeliveryError):
        delivery.post_chat("http://localhost:8065/hooks/x", "t")
    assert connects == []
    answers = iter(["127.0.0.1", "10.0.0.1"])  # a rebinding DNS server: first safe, then not

    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = listener.httpd.server_port
    delivery.post_chat(f"http://rebind.example:{port}/hooks/x", "Erinnerung", "127.0.0.0/8")
    assert connects == [("127.0.0.1", port)] and listener.posts == [{"text": "Erinnerung"}]


def test_redirects_are_not_followed(listener, connects):
    bounce = Listener(redirect=listener.url)
    try:
        with pytest.raises(delivery.DeliveryError) as refused:
            delivery.post_chat(bounce.url, "t", "127.0.0.0/8")
    finally:
        bounce.close()
    assert str(refused.value) == delivery.CHAT_UNREACHABLE
    assert len(bounce.posts) == 1 and listener.posts == []
    assert len(connects) == 1


@pytest.fixture(scope="module")
def strict_server(backend, tmp_path_factory):
    """A server as deployed by default: no CALCARD_OUTBOUND_ALLOW."""
    srv = start_server(backend, tmp_path_factory.mktemp("strict"), {"CALCARD_OUTBOUND_ALLOW": ""})
    yield srv
    stop_server(srv)


def test_setting_an_internal_webhook_is_refused_with_400(strict_server, server, listener):
    login = strict_server.user()
    with strict_server.client(login) as http:
        for url in (
            listener.url,
            "http://10.0.0.1/hooks/x",
            "https://169.254.169.254/latest/meta-data",
            "http://[::1]:8065/hooks/x",
            "http://localhost:8065/hooks/x",
        ):
            answer = http.patch("/api/me/preferences", json={"chat_webhook": url})
            assert answer.status_code == 400, url
            assert http.get("/api/me/preferences").json()["chat_webhook"] == ""
        # A name that does not resolve yet is taken: delivery checks again.
        ok = http.patch("/api/me/preferences", json={"chat_webhook": "https://chat.invalid/h/1"})
        assert ok.status_code == 200
    other = server.user()  # the test suite's server allows loopback
    with server.client(other) as http:
        answer = http.patch("/api/me/preferences", json={"chat_webhook": listener.url})
        assert answer.status_code == 200


def _chat_reminder(server, login: str, webhook: str) -> datetime:
    with server.backend.db.transaction(write=True) as s:
        s.execute(delete(Reminder))  # other tests' rows must not reach this test's listeners
        accounts.set_user(s, login, chat_webhook=webhook)
    start = (datetime.now(UTC) + timedelta(hours=30)).replace(minute=0, second=0, microsecond=0)
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\nUID:chat-ü\r\n"
        f"DTSTAMP:20260101T000000Z\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\n"
        "SUMMARY:Gehaltsverhandlung\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\n"
        "DESCRIPTION:d\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    put_event(server, login, "chat", text)
    return start


@pytest.mark.parametrize("allow", ["", "127.0.0.0/8"])
def test_delivery_rechecks_and_the_user_sees_a_generic_error(server, listener, allow):
    login = server.user()
    start = _chat_reminder(server, login, listener.url)
    settings = Settings(
        data_dir=server.log.parent,
        database_url=server.backend.url,
        base_url=server.url,
        outbound_allow=allow,
    )
    dispatcher = Dispatcher(server.backend.db, settings, lambda: start - timedelta(minutes=4))
    # The browser notification and the chat post, and whatever else the shared database
    # has due (other tests' mails): only this user's reminders are checked below.
    assert dispatcher.run_once() >= 2
    with server.client(login) as http:
        (chat,) = [
            r for r in http.get("/api/reminders").json()["reminders"] if r["channel"] == "chat"
        ]
    if allow:
        assert chat["status"] == "sent"
        assert len(listener.posts) == 1 and "Gehaltsverhandlung" in listener.posts[0]["text"]
    else:
        assert listener.posts == []
        assert chat["last_error"] == "the chat webhook could not be reached"
