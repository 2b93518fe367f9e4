"""Membership needs consent, and a person's details are theirs (issue 14, finding 2).

Written as the attacker: an administrator of another organization adds an
existing login to theirs and then tries to redirect the user's reminders
(e-mail, chat webhook) or reach the user's calendars; an administrator inside
the same organization tries the same on a legal representative.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from calcard import accounts

from conftest import PASSWORD

ICS = {"Content-Type": "text/calendar; charset=utf-8"}
DETAILS = ("email", "chat_webhook", "timezone")


def event(uid: str, title: str, start: datetime) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\n"
        f"DTEND:{start + timedelta(hours=2):%Y%m%dT%H%M%SZ}\r\nSUMMARY:{title}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@pytest.fixture
def victim(server):
    """A user of their own organization with a private event far from today."""
    login = server.user(role="legal-representative")
    start = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)
    with server.client(login) as http:
        body = event("zahnarzt", "Zahnarzt Dr. Müller", start)
        response = http.put(f"/{login}/calendar/zahnarzt.ics", content=body, headers=ICS)
        assert response.status_code == 201, response.text
    return login


@pytest.fixture
def rival(server):
    """An administrator of another organization (with a non-ASCII name)."""
    login = f"r{uuid.uuid4().hex[:10]}"
    org = f"Société Rivale {login}"
    with server.backend.db.transaction(write=True, owners=["admin"]) as s:
        accounts.create_org(s, org, plan="team")
        accounts.add_user(s, login, org, "legal-representative", PASSWORD)
        admin = f"a{login}"
        accounts.add_user(s, admin, org, "administrator", PASSWORD)
    return {"org": org, "boss": login, "admin": admin}


def me(server, login: str) -> dict:
    with server.client(login) as http:
        return http.get("/api/me").json()


def details(server, login: str) -> dict:
    found = me(server, login)
    return {k: found[k] for k in (*DETAILS, "email_pending")}


def invite(server, manager: str, org: str, login: str, role: str = "collaborator") -> dict:
    with server.client(manager) as http:
        response = http.post(f"/api/orgs/{org}/members", json={"login": login, "role": role})
    assert response.status_code == 201, response.text
    return response.json()


def pending_invitation(server, login: str, org: str) -> int:
    with server.client(login) as http:
        found = http.get("/api/me/invitations").json()["invitations"]
    (wanted,) = [i for i in found if i["org"] == org]
    return wanted["id"]


def test_adding_an_existing_login_only_invites_it_and_the_org_sees_nothing(
    server, victim, rival
):
    org, admin = rival["org"], rival["admin"]
    before = details(server, victim)
    answer = invite(server, admin, org, victim)
    assert answer["status"] == "pending"
    with server.client(admin) as http:
        listed = {m["login"]: m for m in http.get(f"/api/orgs/{org}/members").json()["members"]}
        assert listed[victim]["status"] == "pending"
        assert listed[victim]["email"] == "" and listed[victim]["name"] == ""
        assert listed[admin]["status"] == "active"
        # Nothing of the pending user's can be changed through the organization ...
        for field, value in [
            ("email", "boite@rivale.example"),
            ("chat_webhook", "https://chat.rivale.example/hooks/vol"),
            ("timezone", "Pacific/Apia"),
        ]:
            assert http.patch(f"/api/users/{victim}", json={field: value}).status_code == 403
        response = http.patch(f"/api/orgs/{org}/members/{victim}", json={"role": "external"})
        assert response.status_code == 404
        response = http.patch(f"/api/orgs/{org}/members/{victim}", json={"calendar": False})
        assert response.status_code == 404
        assert http.post(f"/api/orgs/{org}/workgroups", json={"name": "Équipe"}).status_code == 201
        response = http.put(f"/api/orgs/{org}/workgroups/Équipe/members/{victim}")
        assert response.status_code == 400
        # ... nor seen: calendars and free/busy stay closed.
        assert http.get(f"/{victim}/calendar/zahnarzt.ics").status_code in (403, 404)
        found = http.post(
            "/api/freebusy/find",
            json={
                "attendees": [victim],
                "start": "2031-03-04T08:00:00+00:00",
                "duration_minutes": 60,
            },
        ).json()
        assert victim in found["unknown"]
        # A share to the organization does not reach the pending user.
        response = http.put(
            f"/api/collections/{admin}/calendar/shares",
            json={"kind": "org", "name": org, "access": "read-write"},
        )
        assert response.status_code == 200, response.text
    with server.client(victim) as http:
        assert [s for s in http.get("/api/shared").json()["shared"] if s["owner"] == admin] == []
        assert http.get(f"/{victim}/shared-{admin}-calendar/").status_code in (403, 404)
    data = me(server, victim)
    assert org not in {o["org"] for o in data["organizations"]}
    assert details(server, victim) == before
    with server.client(victim) as http:
        assert http.get(f"/{victim}/calendar/zahnarzt.ics").status_code == 200


def test_the_invited_user_accepts_or_declines(server, victim, rival):
    org, admin = rival["org"], rival["admin"]
    invite(server, admin, org, victim, role="external")
    invitation = pending_invitation(server, victim, org)
    with server.client(victim) as http:
        (shown,) = http.get("/api/me/invitations").json()["invitations"]
        assert shown == {
            "id": invitation,
            "org": org,
            "role": "external",
            "invited_by": admin,
            "created_at": shown["created_at"],
        }
    # Nobody else answers for the user.
    with server.client(admin) as http:
        assert http.post(f"/api/me/invitations/{invitation}/accept", json={}).status_code == 404
        again = http.post(f"/api/orgs/{org}/members", json={"login": victim, "role": "external"})
        assert again.status_code == 400 and "already invited" in again.json()["error"]
    with server.client(victim) as http:
        response = http.post(f"/api/me/invitations/{invitation}/decline", json={})
        assert response.status_code == 200 and response.json()["org"] == org
        assert http.get("/api/me/invitations").json()["invitations"] == []
        assert http.post(f"/api/me/invitations/{invitation}/accept", json={}).status_code == 404
        assert http.post("/api/me/invitations/abc/accept", json={}).status_code == 404
    with server.client(admin) as http:
        logins = {m["login"] for m in http.get(f"/api/orgs/{org}/members").json()["members"]}
    assert victim not in logins
    # Invited again, the user accepts: an active member with the invited role from now on.
    invite(server, admin, org, victim, role="external")
    with server.client(victim) as http:
        invitation = pending_invitation(server, victim, org)
        response = http.post(f"/api/me/invitations/{invitation}/accept", json={})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "active" and response.json()["role"] == "external"
    assert {o["org"]: o["role"] for o in me(server, victim)["organizations"]}[org] == "external"
    with server.client(admin) as http:
        listed = {m["login"]: m for m in http.get(f"/api/orgs/{org}/members").json()["members"]}
    assert listed[victim]["status"] == "active"
    # Still, being a member gives the organization's managers no hold on the user's details.
    before = details(server, victim)
    for manager in (admin, rival["boss"]):
        with server.client(manager) as http:
            for field in ("email", "chat_webhook"):
                value = "https://evil.example/x" if field == "chat_webhook" else "x@evil.example"
                response = http.patch(f"/api/users/{victim}", json={field: value})
                assert response.status_code == 403
    assert details(server, victim) == before


def test_an_app_password_cannot_answer_an_invitation(server, victim, rival):
    """A device's stolen app password must not make its owner a member of the rival's
    organization (nor decline for them): joining is managing the account (finding 9)."""
    org = rival["org"]
    invite(server, rival["admin"], org, victim)
    invitation = pending_invitation(server, victim, org)
    with server.backend.db.transaction(write=True, owners=[victim]) as s:
        secret = accounts.add_app_password(s, victim, "Téléphone volé")
    with server.client(victim, secret) as stolen:
        assert stolen.get("/api/me/invitations").status_code == 200  # reading is a device's
        for answer in ("accept", "decline"):
            refused = stolen.post(f"/api/me/invitations/{invitation}/{answer}", json={})
            assert refused.status_code == 403 and "app password" in refused.json()["error"]
    assert pending_invitation(server, victim, org) == invitation
    assert org not in {o["org"] for o in me(server, victim)["organizations"]}


def test_a_manager_withdraws_an_invitation_but_a_collaborator_cannot(server, victim, rival):
    org, admin = rival["org"], rival["admin"]
    worker = server.user(org=org)
    invite(server, admin, org, victim)
    with server.client(worker) as http:
        assert http.delete(f"/api/orgs/{org}/members/{victim}").status_code == 403
    with server.client(admin) as http:
        assert http.delete(f"/api/orgs/{org}/members/{victim}").status_code == 200
        logins = {m["login"] for m in http.get(f"/api/orgs/{org}/members").json()["members"]}
    assert victim not in logins
    with server.client(victim) as http:
        assert http.get("/api/me/invitations").json()["invitations"] == []
    assert len(me(server, victim)["organizations"]) == 1  # their own organization stays


def test_a_new_login_created_by_a_manager_is_an_active_member(server, rival):
    newcomer = f"n{uuid.uuid4().hex[:8]}"
    with server.client(rival["admin"]) as http:
        response = http.post(
            f"/api/orgs/{rival['org']}/members",
            json={"login": newcomer, "role": "collaborator", "password": PASSWORD},
        )
    assert response.status_code == 201 and response.json()["status"] == "active"
    assert [o["org"] for o in me(server, newcomer)["organizations"]] == [rival["org"]]


def test_an_administrator_cannot_change_a_legal_representatives_details(server):
    boss = server.user(role="legal-representative")
    org = f"org-{boss}"
    admin = server.user(role="administrator", org=org)
    before = details(server, boss)
    with server.client(admin) as http:
        for body in (
            {"email": f"{admin}@example.com"},
            {"email": "collecte@example.net"},
            {"chat_webhook": "https://chat.example.net/hooks/mine"},
            {"timezone": "Asia/Tokyo"},
        ):
            assert http.patch(f"/api/users/{boss}", json=body).status_code == 403, body
    assert details(server, boss) == before


def test_the_operator_adds_directly_and_answers_invitations_on_the_cli(server, cli, rival):
    direct, invited = server.user(), server.user()
    cli("user", "add", direct, "--org", rival["org"], "--role", "collaborator",
        "--password-stdin", stdin="ignored for an existing login\n")  # fmt: skip
    assert rival["org"] in {o["org"] for o in me(server, direct)["organizations"]}
    invite(server, rival["admin"], rival["org"], invited)
    listed = cli("user", "invitations", invited).stdout.strip().splitlines()
    assert len(listed) == 1 and f"\t{rival['org']}\tcollaborator\t" in listed[0]
    assert f"invited by {rival['admin']}" in listed[0]
    cli("user", "accept", invited, "--org", "no such org", ok=False)
    cli("user", "accept", invited, "--org", rival["org"])
    assert rival["org"] in {o["org"] for o in me(server, invited)["organizations"]}
    assert cli("user", "invitations", invited).stdout.strip() == ""
    other = server.user()
    invite(server, rival["admin"], rival["org"], other)
    cli("user", "decline", other, "--org", rival["org"])
    assert rival["org"] not in {o["org"] for o in me(server, other)["organizations"]}
