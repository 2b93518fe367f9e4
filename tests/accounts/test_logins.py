"""Logins: two-factor authentication, app passwords (also across two server
processes) and failed-login throttling, over DAV and the API."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from calcard import accounts
from calcard.accounts import logins

from conftest import PASSWORD
from helpers import code, enable_2fa, new_app_password

PROPFIND = {"Depth": "0"}


def test_two_factor_user_needs_an_app_password_over_dav_and_the_401_says_so(server):
    login = server.user()
    app = new_app_password(server, login)
    secret = enable_2fa(server, login)
    for password in (PASSWORD, "a wrong password"):
        with server.client(login, password) as http:
            response = http.request("PROPFIND", f"/{login}/", headers=PROPFIND)
            assert response.status_code == 401
            assert "app password" in response.text
            assert "app password" in response.headers["www-authenticate"]
            response = http.get("/api/me")
            assert response.status_code == 401
            assert "app password" in response.json()["error"]
    with server.client(login, app["password"]) as http:
        assert http.request("PROPFIND", f"/{login}/", headers=PROPFIND).status_code == 207
        assert http.get("/api/me").json()["two_factor"] is True
    # The API also takes the account password with a current code, once per code.
    with server.client(login) as http:
        otp = code(secret, 1)
        assert http.get("/api/me", headers={"X-Calcard-OTP": otp}).status_code == 200
        assert http.get("/api/me", headers={"X-Calcard-OTP": otp}).status_code == 401


def test_two_factor_can_be_disabled_only_with_a_code(server):
    login = server.user()
    app = new_app_password(server, login)
    secret = enable_2fa(server, login)
    with server.client(login, app["password"]) as http:
        # An app password is a device's: it cannot turn 2FA off, even with the right code.
        assert http.post("/api/me/2fa/disable", json={"code": code(secret, 1)}).status_code == 403
        assert http.get("/api/me").json()["two_factor"] is True
    _forget_used_codes(server, login)  # each request below spends a code (header, then body)
    with server.client(login) as http:
        wrong = {"X-Calcard-OTP": code(secret, -1)}
        assert (
            http.post("/api/me/2fa/disable", json={"code": "123456"}, headers=wrong).status_code
            == 403
        )
        assert http.post("/api/me/2fa", json={}, headers=wrong).status_code == 401  # code spent
        right = {"X-Calcard-OTP": code(secret)}
        response = http.post("/api/me/2fa/disable", json={"code": code(secret, 1)}, headers=right)
        assert response.status_code == 200
    with server.client(login) as http:
        assert http.request("PROPFIND", f"/{login}/", headers=PROPFIND).status_code == 207


def _forget_used_codes(server, login: str) -> None:
    """Let the codes around now be used again (one request takes two: header and body)."""
    with server.backend.db.transaction(write=True, owners=[login]) as s:
        accounts.get_user(s, login).totp_last_step = 0


def test_app_passwords_are_listed_with_last_use_and_revoked_at_once(server):
    login = server.user()
    phone = new_app_password(server, login, "Phone")
    laptop = new_app_password(server, login, "Laptop")
    with server.client(login, phone["password"]) as http:
        assert http.request("PROPFIND", f"/{login}/", headers=PROPFIND).status_code == 207
    with server.client(login) as http:
        listed = {p["label"]: p for p in http.get("/api/me/app-passwords").json()["app_passwords"]}
        assert set(listed) == {"Phone", "Laptop"}
        assert listed["Phone"]["last_used_at"] is not None
        assert listed["Laptop"]["last_used_at"] is None
        assert listed["Phone"]["created_at"]
        assert "password" not in listed["Phone"]
        assert http.delete(f"/api/me/app-passwords/{phone['id']}").status_code == 200
    with server.client(login, phone["password"]) as http:
        assert http.request("PROPFIND", f"/{login}/", headers=PROPFIND).status_code == 401
        assert http.get("/api/me").status_code == 401
    with server.client(login, laptop["password"]) as http:
        assert http.request("PROPFIND", f"/{login}/", headers=PROPFIND).status_code == 207
    other = server.user()
    with server.client(other) as http:
        assert http.delete(f"/api/me/app-passwords/{laptop['id']}").status_code == 404


def test_revoked_app_password_stops_working_on_every_process(two_servers):
    a, b = two_servers
    login = a.user()
    app = new_app_password(a, login)
    with b.client(login, app["password"]) as http:
        # Verified (and cached) on process b.
        assert http.request("PROPFIND", f"/{login}/", headers=PROPFIND).status_code == 207
    with a.client(login) as http:
        assert http.delete(f"/api/me/app-passwords/{app['id']}").status_code == 200
    with b.client(login, app["password"]) as http:
        assert http.request("PROPFIND", f"/{login}/", headers=PROPFIND).status_code == 401


def _propfind_from(server, login: str, password: str, address: str) -> httpx.Response:
    """A request as if from ``address`` (uvicorn trusts X-Forwarded-For from 127.0.0.1)."""
    with server.client(login, password) as http:
        return http.request(
            "PROPFIND",
            f"/{login}/",
            headers={**PROPFIND, "X-Forwarded-For": address},
        )


def test_failed_logins_slow_down_but_never_lock_out_the_right_password(server):
    """Finding 8: the owner gets in from the very address an attacker guesses from."""
    login = server.user()
    attacker = f"10.{uuid.uuid4().int % 250}.0.1"
    for _ in range(12):
        assert _propfind_from(server, login, "guess", attacker).status_code == 401
    assert _propfind_from(server, login, PASSWORD, attacker).status_code == 207
    with server.client(login) as http:
        assert http.get("/api/me", headers={"X-Forwarded-For": attacker}).status_code == 200
    assert _propfind_from(server, login, PASSWORD, "192.0.2.77").status_code == 207
    assert "login refused for" in server.log.read_text()


def _api_me_from(server, login: str, password: str, address: str) -> httpx.Response:
    with server.client(login, password) as http:
        return http.get("/api/me", headers={"X-Forwarded-For": address})


def test_a_spraying_address_does_not_lock_out_the_others_behind_it(server):
    """60 wrong passwords from one address (a shared NAT), for many logins and one victim:
    the victim and a colleague behind the same address still get in with theirs."""
    sprayer = f"172.16.{uuid.uuid4().int % 250}.9"
    victim, colleague = server.user(), server.user()
    guesses = [(f"nobody{i}-ü", "guess") for i in range(50)] + [(victim, "guess")] * 10
    with ThreadPoolExecutor(6) as pool:  # DAV and the API share the failure counts
        answers = list(pool.map(lambda g: _api_me_from(server, *g, sprayer), guesses))
    assert {a.status_code for a in answers} == {401}
    assert _api_me_from(server, colleague, PASSWORD, sprayer).status_code == 200
    assert _api_me_from(server, victim, PASSWORD, sprayer).status_code == 200
    assert _propfind_from(server, victim, PASSWORD, sprayer).status_code == 207


def test_every_refusal_waits_at_least_the_base_delay(server):
    """Even the first wrong password is answered only after CALCARD_AUTH_DELAY (0.05 s in
    the tests; a lower bound only, so a slow machine cannot make it fail)."""
    login = server.user()
    address = f"198.18.{uuid.uuid4().int % 250}.1"
    for refused in (
        lambda: _api_me_from(server, login, "first guess", address),
        lambda: _propfind_from(server, login, "second guess", address),
    ):
        started = time.monotonic()
        assert refused().status_code == 401
        assert time.monotonic() - started >= 0.05
    # The waits themselves, without a clock: from the first failure on, growing with more.
    first = logins.attempt(server.backend.db, f"{login}-x", "guess", "198.18.0.77", base_delay=1)
    assert first.delay >= 1
    for _ in range(logins.LOGIN_STEP):
        later = logins.attempt(server.backend.db, f"{login}-x", "?", "198.18.0.77", base_delay=1)
    assert later.delay > first.delay
