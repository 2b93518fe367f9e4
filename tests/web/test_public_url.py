"""The right URLs without configuration (issue 18): with CALCARD_BASE_URL unset, the
device-setup URLs, the QR code, the Apple profile and public links use the address the
browser reached; X-Forwarded-Proto counts only from trusted proxies; mails link to the
address `calcard serve` listens on, and the operator is warned once."""

from __future__ import annotations

import plistlib
import uuid

import pytest
from sqlalchemy import select

from calcard.core.models import OutgoingMail

from conftest import start_server, stop_server


@pytest.fixture
def unconfigured(backend, tmp_path):
    """A server on an unusual port with no public URL, trusting no proxy."""
    server = start_server(
        backend, tmp_path, {"CALCARD_BASE_URL": "", "FORWARDED_ALLOW_IPS": "192.0.2.1"}
    )
    yield server
    stop_server(server)


def _setup(server, login: str, headers: dict | None = None) -> dict:
    with server.client(login) as http:
        answer = http.get("/api/me/devices", headers=headers or {})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_device_setup_follows_the_address_the_browser_reached(unconfigured):
    server, login = unconfigured, unconfigured.user()
    setup = _setup(server, login)
    assert setup["dav_url"] == f"{server.url}/"  # the unusual port, not 5232
    assert setup["account_url"] == f"{server.url}/{login}/"
    proxied = _setup(server, login, {"Host": "cal.example.com:8443"})
    assert proxied["dav_url"] == "http://cal.example.com:8443/"
    assert proxied["qr"] != setup["qr"]
    # The loopback client is no trusted proxy here: its X-Forwarded-Proto is ignored.
    forged = _setup(server, login, {"X-Forwarded-Proto": "https"})
    assert forged["dav_url"] == f"{server.url}/"
    with server.client(login) as http:
        profile = http.post("/api/me/apple-profile", json={}, headers={"Host": "cal.example.com"})
    assert profile.status_code == 200
    accounts = plistlib.loads(profile.content)["PayloadContent"]
    assert {a.get("CalDAVHostName") or a.get("CardDAVHostName") for a in accounts} == {
        "cal.example.com"
    }


def test_a_trusted_proxy_sets_the_scheme(backend, tmp_path):
    server = start_server(backend, tmp_path, {"CALCARD_BASE_URL": ""})  # trusts 127.0.0.1
    try:
        login = server.user()
        setup = _setup(server, login, {"X-Forwarded-Proto": "https", "Host": "cal.example.com"})
        assert setup["dav_url"] == "https://cal.example.com/"
    finally:
        stop_server(server)


def test_mails_link_to_the_served_address_and_the_operator_is_warned(unconfigured):
    server, login = unconfigured, unconfigured.user()
    address = f"new-{uuid.uuid4().hex[:8]}@example.com"
    with server.client(login) as http:
        assert http.patch("/api/me/preferences", json={"email": address}).status_code == 200
    with server.backend.db.transaction() as s:
        mail = s.scalars(select(OutgoingMail).where(OutgoingMail.recipient == address)).one()
    assert f"{server.url}/api/" in mail.text  # the verification link
    log = server.log.read_text()
    assert log.count("CALCARD_BASE_URL is not set") == 1
