"""Changing the password, and turning 2FA on, end the other web sessions.

Attacker's view (issue 14, finding 11): whoever holds a stolen session cookie
or a device's app password must lose the session when the victim changes the
password or turns 2FA on, and must not be able to change the password
themselves (an app password never can; a session needs the current password).
"""

from __future__ import annotations

import httpx

from conftest import PASSWORD
from helpers import code, new_app_password, web_session

NEW = "Neues-Passwört-2031"
PROPFIND = {"Depth": "0"}


def dav_status(server, login: str, password: str) -> int:
    with server.client(login, password) as http:
        return http.request("PROPFIND", f"/{login}/", headers=PROPFIND).status_code


def web_login_status(server, login: str, password: str) -> int:
    answer = httpx.post(server.url + "/api/session", json={"login": login, "password": password})
    return answer.status_code


def test_password_change_ends_the_other_sessions_and_the_old_password(server):
    login = server.user()
    mine, csrf = web_session(server, login)
    stolen, _ = web_session(server, login)
    app = new_app_password(server, login)

    changed = mine.post(
        "/api/me/password", json={"current": PASSWORD, "new": NEW}, headers={"X-CSRF-Token": csrf}
    )
    assert changed.status_code == 200, changed.text
    assert mine.get("/api/me").json()["login"] == login  # the session making the change stays
    assert stolen.get("/api/me").status_code == 401
    assert dav_status(server, login, PASSWORD) == 401
    assert web_login_status(server, login, PASSWORD) == 401
    assert dav_status(server, login, NEW) == 207
    assert web_login_status(server, login, NEW) == 200
    # App passwords are separate device credentials: they stay valid.
    assert dav_status(server, login, app["password"]) == 207
    mine.close()
    stolen.close()


def test_wrong_current_password_is_refused_and_changes_nothing(server):
    login = server.user()
    mine, csrf = web_session(server, login)
    other, _ = web_session(server, login)
    headers = {"X-CSRF-Token": csrf}
    wrong = mine.post("/api/me/password", json={"current": "guessed!", "new": NEW}, headers=headers)
    assert wrong.status_code == 403 and "current password" in wrong.json()["error"]
    body = {"current": PASSWORD, "new": "kurz"}
    short = mine.post("/api/me/password", json=body, headers=headers)
    assert short.status_code == 400 and "8 characters" in short.json()["error"]
    missing = mine.post("/api/me/password", json={"current": PASSWORD}, headers=headers)
    assert missing.status_code == 400
    no_csrf = mine.post("/api/me/password", json={"current": PASSWORD, "new": NEW})
    assert no_csrf.status_code == 403
    assert other.get("/api/me").status_code == 200
    assert dav_status(server, login, PASSWORD) == 207
    assert dav_status(server, login, NEW) == 401
    mine.close()
    other.close()


def test_an_app_password_cannot_change_the_password(server):
    login = server.user()
    session, _ = web_session(server, login)
    app = new_app_password(server, login)
    with server.client(login, app["password"]) as http:
        refused = http.post("/api/me/password", json={"current": PASSWORD, "new": NEW})
        assert refused.status_code == 403 and "app password" in refused.json()["error"]
        # Not even with the app password itself given as the current one.
        refused = http.post("/api/me/password", json={"current": app["password"], "new": NEW})
        assert refused.status_code == 403
    assert dav_status(server, login, PASSWORD) == 207
    assert session.get("/api/me").status_code == 200
    session.close()


def test_basic_password_change_ends_every_session(server):
    login = server.user()
    session, _ = web_session(server, login)
    with server.client(login) as http:
        changed = http.post("/api/me/password", json={"current": PASSWORD, "new": NEW})
        assert changed.status_code == 200, changed.text
    assert session.get("/api/me").status_code == 401
    assert dav_status(server, login, NEW) == 207
    session.close()


def test_turning_2fa_on_ends_the_other_sessions(server):
    login = server.user()
    mine, csrf = web_session(server, login)
    stolen, _ = web_session(server, login)
    headers = {"X-CSRF-Token": csrf}
    secret = mine.post("/api/me/2fa", json={}, headers=headers).json()["secret"]
    assert stolen.get("/api/me").status_code == 200  # enrollment alone changes nothing
    confirmed = mine.post("/api/me/2fa/confirm", json={"code": code(secret)}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    assert stolen.get("/api/me").status_code == 401
    assert mine.get("/api/me").json()["two_factor"] is True
    mine.close()
    stolen.close()


def test_the_operator_sets_a_password_on_the_cli(server, cli):
    login = server.user()
    session, _ = web_session(server, login)
    refused = cli("user", "password", login, "--password-stdin", stdin="kurz\n", ok=False)
    assert "8 characters" in refused.stderr
    assert session.get("/api/me").status_code == 200
    cli("user", "password", login, "--password-stdin", stdin=NEW + "\n")
    assert session.get("/api/me").status_code == 401
    assert dav_status(server, login, PASSWORD) == 401
    assert dav_status(server, login, NEW) == 207
    assert "no user" in cli("user", "password", "nobody-x", "--password-stdin", ok=False).stderr
    session.close()
