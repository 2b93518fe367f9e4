"""The server side of the web settings, sharing and branding pages, on both backends:
the two-step TOTP login, preferences, device setup (QR code, Apple profile), organization
branding, and the sharing endpoints the dialog uses; with hostile input."""

from __future__ import annotations

import os
import plistlib
import uuid

import httpx
import pytest

from calcard import accounts
from calcard.web import qrcodes

from conftest import PASSWORD
from helpers import code, enable_2fa, new_app_password, png, web_session

PROPFIND = {"Depth": "0"}


def login_json(server, body: dict) -> httpx.Response:
    return httpx.post(server.url + "/api/session", json=body, timeout=30)


def test_two_factor_web_login_asks_for_the_code_after_the_right_password_only(server):
    login = server.user()
    app = new_app_password(server, login)
    secret = enable_2fa(server, login)
    first = login_json(server, {"login": login, "password": PASSWORD})
    assert first.status_code == 401
    assert first.json() == {"error": "two-factor code required", "totp_required": True}
    assert "set-cookie" not in first.headers
    # A wrong password says what an unknown login says, 2FA or not: no hint the login exists.
    for name in (login, "nobody-" + login):
        wrong = login_json(server, {"login": name, "password": "wrong", "otp": code(secret)})
        assert wrong.json() == {"error": "wrong login or password"}
    # App passwords are for devices: they never open a web session (no second factor).
    by_app = login_json(server, {"login": login, "password": app["password"]})
    assert by_app.json() == {"error": "wrong login or password"}
    bad_code = login_json(server, {"login": login, "password": PASSWORD, "otp": "000000"})
    assert bad_code.json() == {"error": "wrong or expired two-factor code", "totp_required": True}
    # One code, computed once: a second code(secret, 1) can fall in the next 30-second step
    # and be a fresh, valid code rather than a replay.
    otp = code(secret, 1)
    opened = login_json(server, {"login": login, "password": PASSWORD, "otp": otp})
    assert opened.status_code == 200, opened.text
    assert opened.json()["login"] == login and "calcard_session" in opened.headers["set-cookie"]
    replayed = login_json(server, {"login": login, "password": PASSWORD, "otp": otp})
    assert replayed.status_code == 401


def test_two_factor_enrollment_answers_a_qr_code_of_the_otpauth_uri(server):
    login = server.user()
    http, csrf = web_session(server, login)
    enrollment = http.post("/api/me/2fa", json={}, headers={"X-CSRF-Token": csrf}).json()
    assert enrollment["uri"].startswith("otpauth://totp/")
    assert enrollment["qr"] == qrcodes.svg_data_uri(enrollment["uri"])
    assert enrollment["qr"].startswith("data:image/svg+xml")
    assert http.post("/api/me/2fa", json={}).status_code == 403  # no CSRF token


def test_preferences_round_trip_and_refusals_change_nothing(server):
    login, stranger = server.user(), server.user()
    http, csrf = web_session(server, login)
    headers = {"X-CSRF-Token": csrf}
    defaults = http.get("/api/me/preferences").json()
    # Unchosen, the week starts as English starts it (Sunday); the choice is remembered.
    assert defaults["week_start"] == 0 and defaults["week_start_chosen"] is False
    assert defaults["default_calendar"] == ""
    assert defaults["timezone"] == "UTC" and defaults["timezone_chosen"] is False
    wanted = {
        "timezone": "Europe/Zurich",
        "week_start": 2,
        "default_calendar": f"{login}/calendar",
        "email": f"{login}@example.org",
        "chat_webhook": "https://chat.example.org/hooks/abc",
        "language": "de",
    }
    saved = http.patch("/api/me/preferences", json=wanted, headers=headers)
    assert saved.status_code == 200, saved.text
    # A new address waits for its verification link; the verified one stays in use.
    expected = {
        **wanted,
        "default_calendar": f"/{login}/calendar/",
        "timezone_chosen": True,
        "week_start_chosen": True,
        "email": f"{login}@example.com",
        "email_pending": f"{login}@example.org",
    }
    assert saved.json() == expected == http.get("/api/me/preferences").json()
    hostile = [
        {"week_start": 7},
        {"week_start": "monday"},
        {"week_start": True},
        {"week_start": -1},
        {"timezone": "Mars/Olympus"},
        {"timezone": "../../etc/passwd"},
        {"default_calendar": f"/{stranger}/calendar/"},
        {"default_calendar": f"/{login}/contacts/"},
        {"chat_webhook": "javascript:alert(1)"},
        {"chat_webhook": "https://ok.example.org/\r\nX-Evil: 1"},
        {"email": "not an address"},
        {"email": "a@b.example\r\nBcc: victim@example.org"},
        {"timezone": "UTC", "email": "x" * 400 + "@example.org"},
        {"language": "tlh"},
        {"language": "../de"},
    ]
    for body in hostile:
        answer = http.patch("/api/me/preferences", json=body, headers=headers)
        assert answer.status_code == 400 and answer.json()["error"], body
    assert http.get("/api/me/preferences").json() == expected
    refused = http.patch("/api/me/preferences", json={"week_start": 3})
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
    assert http.get("/api/me/preferences").json()["week_start"] == 2


def test_week_start_follows_the_language_until_chosen_and_null_forgets_it(server):
    login, other = server.user(), server.user()
    http, csrf = web_session(server, login)
    headers = {"X-CSRF-Token": csrf}

    def week(accept_language: str = "") -> tuple[int, bool]:
        found = http.get("/api/me/preferences", headers={"Accept-Language": accept_language})
        return found.json()["week_start"], found.json()["week_start_chosen"]

    assert week() == (0, False)  # English: Sunday
    assert week("de-CH,de;q=0.9") == (1, False)  # the page is German: Monday
    saved = http.patch("/api/me/preferences", json={"language": "fr"}, headers=headers)
    assert (saved.json()["week_start"], saved.json()["week_start_chosen"]) == (1, False)
    assert week("en-US") == (1, False)  # the setting wins over the browser
    saved = http.patch("/api/me/preferences", json={"week_start": 0}, headers=headers)
    assert (saved.json()["week_start"], saved.json()["week_start_chosen"]) == (0, True)
    assert week("de") == (0, True)  # a chosen day wins over the language
    bad = {"week_start": None, "timezone": "Mars/Olympus"}
    both = http.patch("/api/me/preferences", json=bad, headers=headers)
    assert both.status_code == 400 and week() == (0, True)  # refused whole: nothing forgotten
    # The attackers: a device's app password, another user, no CSRF token.
    created = http.post("/api/me/app-passwords", json={"label": "phone"}, headers=headers)
    with server.client(login, created.json()["password"]) as device:
        assert device.patch("/api/me/preferences", json={"week_start": None}).status_code == 403
    with server.client(other) as stranger:
        assert stranger.patch("/api/me/preferences", json={"week_start": None}).status_code == 200
    assert http.patch("/api/me/preferences", json={"week_start": None}).status_code == 403
    assert week() == (0, True)
    forgot = http.patch("/api/me/preferences", json={"week_start": None}, headers=headers)
    assert forgot.status_code == 200, forgot.text
    assert (forgot.json()["week_start"], forgot.json()["week_start_chosen"]) == (1, False)
    assert week() == (1, False)  # French again, as the language starts it
    assert http.patch("/api/me/preferences", json={}, headers=headers).json()["week_start"] == 1


def test_device_setup_qr_code_and_apple_profile_with_a_working_app_password(server):
    login = server.user()
    http, csrf = web_session(server, login)
    setup = http.get("/api/me/devices").json()
    assert setup["dav_url"] == server.url + "/"
    assert setup["account_url"] == f"{server.url}/{login}/"
    assert setup["qr"] == qrcodes.svg_data_uri(setup["account_url"])
    assert http.post("/api/me/apple-profile", json={}).status_code == 403  # no CSRF token
    answer = http.post("/api/me/apple-profile", json={}, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/x-apple-aspen-config"
    assert ".mobileconfig" in answer.headers["content-disposition"]
    assert answer.headers["cache-control"] == "no-store"
    profile = plistlib.loads(answer.content)
    assert profile["PayloadType"] == "Configuration"
    payloads = {p["PayloadType"]: p for p in profile["PayloadContent"]}
    caldav, carddav = payloads["com.apple.caldav.account"], payloads["com.apple.carddav.account"]
    port = int(server.url.rsplit(":", 1)[1])
    assert (caldav["CalDAVHostName"], caldav["CalDAVPort"], caldav["CalDAVUseSSL"]) == (
        "127.0.0.1",
        port,
        False,
    )
    assert caldav["CalDAVUsername"] == carddav["CardDAVUsername"] == login
    assert caldav["CalDAVPrincipalURL"] == carddav["CardDAVPrincipalURL"] == f"/{login}/"
    password = caldav["CalDAVPassword"]
    assert password == carddav["CardDAVPassword"] and password != PASSWORD
    labels = [p["label"] for p in http.get("/api/me/app-passwords").json()["app_passwords"]]
    assert len(labels) == 1 and labels[0].startswith("Apple device profile")
    with server.client(login, password) as dav:
        assert dav.request("PROPFIND", f"/{login}/", headers=PROPFIND).status_code == 207


@pytest.fixture
def org_people(server):
    """An organization with an administrator, a collaborator and an external."""
    org = f"Brand {uuid.uuid4().hex[:8]}"
    admin = server.user("administrator", org=_new_org(server, org))
    member = server.user("collaborator", org=org)
    external = server.user("external", org=org)
    return org, admin, member, external


def _new_org(server, name: str) -> str:
    with server.backend.db.transaction(write=True) as s:
        accounts.create_org(s, name, plan="team")
    return name


def test_branding_is_set_by_managers_and_read_by_anyone(server, org_people):
    org, admin, member, external = org_people
    base = f"/api/orgs/{org}"
    empty = {"org": org, "accent": "", "background": "", "logo": None}
    assert httpx.get(server.url + base + "/branding").json() == empty
    unknown = httpx.get(server.url + "/api/orgs/no%20such%20org/branding")
    assert unknown.json() == {**empty, "org": "no such org"}  # no hint which orgs exist
    http, csrf = web_session(server, admin)
    headers = {"X-CSRF-Token": csrf}
    colors = {"accent": "#0F766E", "background": "#fef3c7"}
    saved = http.put(base + "/branding", json=colors, headers=headers)
    assert saved.status_code == 200, saved.text
    public = httpx.get(server.url + base + "/branding").json()
    assert public == {"org": org, "accent": "#0f766e", "background": "#fef3c7", "logo": None}
    for body in (
        {"accent": "red"},
        {"accent": "#12345"},
        {"background": "#fff;}body{x:1"},
        {"accent": 7},
    ):
        assert http.put(base + "/branding", json=body, headers=headers).status_code == 400, body
    assert http.put(base + "/branding", json=colors).status_code == 403  # no CSRF token
    for login in (member, external):
        other, other_csrf = web_session(server, login)
        refused = other.put(
            base + "/branding", json={"accent": "#000000"}, headers={"X-CSRF-Token": other_csrf}
        )
        assert refused.status_code == 403 and "administrator" in refused.json()["error"]
        logo = other.put(
            base + "/logo",
            content=png(),
            headers={"X-CSRF-Token": other_csrf, "Content-Type": "image/png"},
        )
        assert logo.status_code == 403
    stranger = server.client(server.user("administrator"))
    assert stranger.put(base + "/branding", json={"accent": "#000000"}).status_code == 403
    assert httpx.get(server.url + base + "/branding").json()["accent"] == "#0f766e"


def test_logo_upload_takes_small_real_images_only_and_serves_them_safely(server, org_people):
    org, admin, _member, _external = org_people
    base = f"/api/orgs/{org}"
    http, csrf = web_session(server, admin)

    def upload(content: bytes, content_type: str = "image/png", token: str = csrf):
        return http.put(
            base + "/logo",
            content=content,
            headers={"X-CSRF-Token": token, "Content-Type": content_type},
        )

    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert upload(svg, "image/svg+xml").status_code == 400
    html = b"<html><script>alert(1)</script></html>"
    assert upload(html, "image/png").status_code == 400
    assert upload(png()[:60]).status_code == 400  # truncated
    assert upload(png(3000, 10)).status_code == 400  # too wide
    assert upload(png(), "text/html").status_code == 415
    assert upload(os.urandom(300 * 1024)).status_code == 413
    assert upload(png(), token="wrong").status_code == 403
    assert httpx.get(server.url + base + "/logo").status_code == 404

    logo = png()
    stored = upload(logo, "image/gif")  # the claimed type is ignored; the decoded one counts
    assert stored.status_code == 200, stored.text
    url = stored.json()["logo"]
    assert url.startswith(f"/api/orgs/{org.replace(' ', '%20')}/logo?v=")
    served = httpx.get(server.url + url)
    assert served.status_code == 200 and served.content == logo
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]
    assert httpx.get(server.url + base + "/branding").json()["logo"] == url

    removed = http.delete(base + "/logo", headers={"X-CSRF-Token": csrf})
    assert removed.status_code == 200 and removed.json()["logo"] is None
    assert httpx.get(server.url + base + "/logo").status_code == 404


def test_share_dialog_endpoints_and_foreign_targets(server, org_people):
    org, admin, member, _external = org_people
    http, csrf = web_session(server, admin)
    headers = {"X-CSRF-Token": csrf}
    own = http.get("/api/collections").json()["collections"]
    assert {(c["path"], c["kind"]) for c in own} == {
        (f"/{admin}/calendar/", "calendar"),
        (f"/{admin}/contacts/", "addressbook"),
    }
    shares = f"/api/collections/{admin}/calendar/shares"
    share = {"kind": "user", "name": member, "access": "read"}
    assert http.put(shares, json=share).status_code == 403  # no CSRF token
    assert http.put(shares, json=share, headers=headers).status_code == 200
    assert http.get(shares).json()["shares"] == [share]
    with server.client(member) as sharee:
        seen = sharee.get("/api/calendars").json()["calendars"]
    assert [(c["path"], c["writable"]) for c in seen if c["owner"] == admin] == [
        (f"/{admin}/calendar/", False)
    ]

    other_org = f"Other {uuid.uuid4().hex[:8]}"
    outsider = server.user("administrator", org=_new_org(server, other_org))
    with server.client(outsider) as them:
        assert (
            them.post(f"/api/orgs/{other_org}/workgroups", json={"name": "Theirs"}).status_code
            == 201
        )
    foreign = [
        ({"kind": "group", "name": "Theirs", "access": "read"}, 400),
        ({"kind": "org", "name": other_org, "access": "read"}, 403),
        ({"kind": "user", "name": "nobody-" + member, "access": "read"}, 404),
        ({"kind": "user", "name": admin, "access": "read"}, 400),
        ({"kind": "user", "name": member, "access": "admin"}, 400),
        ({"kind": "everyone", "name": member, "access": "read"}, 400),
    ]
    for body, status in foreign:
        assert http.put(shares, json=body, headers=headers).status_code == status, body
    # Someone else's collection cannot be shared, listed or published by the caller, who
    # cannot read it either: the door answers 404, hiding that it exists.
    theirs = f"/api/collections/{outsider}/calendar"
    assert http.put(f"{theirs}/shares", json=share, headers=headers).status_code == 404
    assert http.get(f"{theirs}/shares").status_code == 404
    assert (
        http.post(f"{theirs}/public-links", json={"expires": "7d"}, headers=headers).status_code
        == 404
    )
    assert http.get(shares).json()["shares"] == [share]
