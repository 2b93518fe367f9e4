"""Organization rules through the JSON API (and DAV where DAV can reach them).

Membership changes have no DAV entry point; those rules are tried through the
API here and through the CLI in test_cli.py. Plans are tried over DAV.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from calcard import accounts

from conftest import PASSWORD

MKCOL_ADDRESSBOOK = """<?xml version="1.0"?>
<D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">
  <D:set><D:prop><D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>
  </D:prop></D:set>
</D:mkcol>"""


@pytest.fixture
def team(server):
    """An organization with one member of each role: {role: login}, plus "org"."""
    boss = server.user(role="legal-representative")
    org = f"org-{boss}"
    found = {"org": org, "legal-representative": boss}
    for role in ("administrator", "collaborator", "external"):
        found[role] = server.user(role=role, org=org)
    return found


def api(server, login: str):
    return server.client(login)


def test_collaborator_cannot_promote_themselves_or_change_others(server, team):
    org, me = team["org"], team["collaborator"]
    with api(server, me) as http:
        for role in ("legal-representative", "administrator"):
            response = http.patch(f"/api/orgs/{org}/members/{me}", json={"role": role})
            assert response.status_code == 403
            assert "only a legal representative" in response.json()["error"]
        response = http.patch(
            f"/api/orgs/{org}/members/{team['external']}", json={"calendar": False}
        )
        assert response.status_code == 403
        response = http.post(
            f"/api/orgs/{org}/members",
            json={
                "login": f"n{uuid.uuid4().hex[:8]}",
                "role": "collaborator",
                "password": PASSWORD,
            },
        )
        assert response.status_code == 403
        assert http.delete(f"/api/orgs/{org}/members/{team['external']}").status_code == 403
    with api(server, team["external"]) as http:
        response = http.patch(f"/api/orgs/{org}/members/{me}", json={"role": "external"})
        assert response.status_code == 403
        assert http.get(f"/api/orgs/{org}/members").status_code == 403
    with api(server, team["legal-representative"]) as http:
        roles = {
            m["login"]: m["role"] for m in http.get(f"/api/orgs/{org}/members").json()["members"]
        }
    assert roles[me] == "collaborator"


def test_only_a_legal_representative_appoints_a_legal_representative(server, team):
    org, admin, worker = team["org"], team["administrator"], team["collaborator"]
    with api(server, admin) as http:
        response = http.patch(
            f"/api/orgs/{org}/members/{worker}", json={"role": "legal-representative"}
        )
        assert response.status_code == 403
        # An administrator cannot demote a legal representative either.
        response = http.patch(
            f"/api/orgs/{org}/members/{team['legal-representative']}",
            json={"role": "collaborator"},
        )
        assert response.status_code == 403
        # But manages ordinary members.
        response = http.patch(f"/api/orgs/{org}/members/{worker}", json={"contacts": False})
        assert response.status_code == 200
        assert response.json()["contacts"] is False and response.json()["calendar"] is True
        response = http.patch(f"/api/orgs/{org}/members/nobody", json={"calendar": False})
        assert response.status_code == 404
    with api(server, team["legal-representative"]) as http:
        response = http.patch(
            f"/api/orgs/{org}/members/{worker}", json={"role": "legal-representative"}
        )
        assert response.status_code == 200
        assert response.json()["role"] == "legal-representative"


def test_last_legal_representative_cannot_be_removed_demoted_or_leave(server, team):
    org, boss = team["org"], team["legal-representative"]
    with api(server, boss) as http:
        response = http.patch(f"/api/orgs/{org}/members/{boss}", json={"role": "administrator"})
        assert response.status_code == 400
        assert "last legal representative" in response.json()["error"]
        response = http.delete(f"/api/orgs/{org}/members/{boss}")
        assert response.status_code == 400
        assert "appoint another one first" in response.json()["error"]
        # Appoint another first, then leaving works.
        second = team["administrator"]
        assert (
            http.patch(
                f"/api/orgs/{org}/members/{second}", json={"role": "legal-representative"}
            ).status_code
            == 200
        )
        assert http.delete(f"/api/orgs/{org}/members/{boss}").status_code == 200
    with server.backend.db.transaction() as s:
        assert accounts.role_of(s, boss, accounts.get_org(s, org)) is None


def test_member_can_leave_and_manager_can_add_and_remove(server, team):
    org = team["org"]
    newcomer = f"n{uuid.uuid4().hex[:8]}"
    with api(server, team["administrator"]) as http:
        response = http.post(
            f"/api/orgs/{org}/members",
            json={"login": newcomer, "role": "collaborator", "password": PASSWORD},
        )
        assert response.status_code == 201, response.text
        response = http.post(
            f"/api/orgs/{org}/members",
            json={"login": f"x{newcomer}", "role": "legal-representative", "password": PASSWORD},
        )
        assert response.status_code == 403
    with api(server, newcomer) as http:
        assert http.request("PROPFIND", f"/{newcomer}/", headers={"Depth": "0"}).status_code == 207
    with api(server, team["collaborator"]) as http:
        assert http.delete(f"/api/orgs/{org}/members/{team['collaborator']}").status_code == 200
    with api(server, team["administrator"]) as http:
        assert http.delete(f"/api/orgs/{org}/members/{newcomer}").status_code == 200
        logins = {m["login"] for m in http.get(f"/api/orgs/{org}/members").json()["members"]}
    assert team["collaborator"] not in logins and newcomer not in logins


def test_one_login_in_two_organizations_switches_between_them(server, team):
    me = team["collaborator"]
    other_boss = server.user(role="legal-representative")
    other_org = f"org-{other_boss}"
    with api(server, other_boss) as http:
        response = http.post(
            f"/api/orgs/{other_org}/members", json={"login": me, "role": "external"}
        )
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "pending"  # an existing login is invited
    with api(server, me) as http:
        (invitation,) = http.get("/api/me/invitations").json()["invitations"]
        accepted = http.post(f"/api/me/invitations/{invitation['id']}/accept", json={})
        assert accepted.status_code == 200, accepted.text
        data = http.get("/api/me").json()
        assert {o["org"]: o["role"] for o in data["organizations"]} == {
            team["org"]: "collaborator",
            other_org: "external",
        }
        assert data["current_org"] == team["org"]
        assert http.put("/api/me/current-org", json={"org": other_org}).status_code == 200
        assert http.get("/api/me").json()["current_org"] == other_org
        response = http.put("/api/me/current-org", json={"org": "no such org"})
        assert response.status_code == 404


def test_contact_preferences_by_self_only(server, team):
    """A person's details are theirs: no manager changes them (issue 14, finding 2)."""
    me, peer = team["collaborator"], team["external"]
    with api(server, me) as http:
        response = http.patch(f"/api/users/{me}", json={"timezone": "Europe/Zurich"})
        assert response.status_code == 200
        assert http.patch(f"/api/users/{peer}", json={"email": "x@evil"}).status_code == 403
        assert http.patch(f"/api/users/{me}", json={"timezone": "Mars/Base"}).status_code == 400
    for manager in (team["administrator"], team["legal-representative"]):
        with api(server, manager) as http:
            response = http.patch(f"/api/users/{peer}", json={"email": "p@example.com"})
            assert response.status_code == 403
    with api(server, peer) as http:
        assert http.get("/api/me").json()["email"] == f"{peer}@example.com"


def test_workgroups_are_managed_by_managers_and_seen_by_members(server, team):
    org = team["org"]
    with api(server, team["collaborator"]) as http:
        assert http.post(f"/api/orgs/{org}/workgroups", json={"name": "Sales"}).status_code == 403
    with api(server, team["administrator"]) as http:
        assert http.post(f"/api/orgs/{org}/workgroups", json={"name": "Sales"}).status_code == 201
        assert http.post(f"/api/orgs/{org}/workgroups", json={"name": "Sales"}).status_code == 400
        url = f"/api/orgs/{org}/workgroups/Sales/members/{team['collaborator']}"
        assert http.put(url).status_code == 200
        outsider = server.user()
        assert http.put(f"/api/orgs/{org}/workgroups/Sales/members/{outsider}").status_code == 400
    with api(server, team["collaborator"]) as http:
        groups = http.get(f"/api/orgs/{org}/workgroups").json()["workgroups"]
        assert groups == [{"name": "Sales", "members": [team["collaborator"]]}]
        assert http.delete(url).status_code == 403
    with api(server, team["administrator"]) as http:
        assert http.delete(url).status_code == 200
        assert http.delete(f"/api/orgs/{org}/workgroups/Sales").status_code == 200
        assert http.get(f"/api/orgs/{org}/workgroups").json()["workgroups"] == []


def _free_user(server) -> str:
    login = f"f{uuid.uuid4().hex[:10]}"
    with server.backend.db.transaction(write=True, owners=[login]) as s:
        accounts.create_org(s, f"org-{login}", plan="free")
        accounts.add_user(s, login, f"org-{login}", "legal-representative", PASSWORD)
    return login


def test_free_plan_refuses_a_second_calendar_or_address_book_over_dav(server):
    login = _free_user(server)
    with server.client(login) as http:
        response = http.request("MKCALENDAR", f"/{login}/second/")
        assert response.status_code == 403
        assert "plan allows 1 calendar" in response.text
        response = http.request(
            "MKCOL",
            f"/{login}/more-contacts/",
            content=MKCOL_ADDRESSBOOK.encode(),
            headers={"Content-Type": "application/xml"},
        )
        assert response.status_code == 403
        assert "address book" in response.text
        assert http.request(
            "PROPFIND", f"/{login}/second/", headers={"Depth": "0"}
        ).status_code in (
            403,
            404,
        )
        # Deleting the one calendar makes room for another.
        assert http.delete(f"/{login}/calendar/").status_code in (200, 204)
        assert http.request("MKCALENDAR", f"/{login}/second/").status_code == 201


def test_team_plan_allows_several_calendars(server):
    login = server.user()
    with server.client(login) as http:
        assert http.request("MKCALENDAR", f"/{login}/second/").status_code == 201
        assert http.request("MKCALENDAR", f"/{login}/third/").status_code == 201


# --- the organization's default language (issue 20) ----------------------------------------


def _org_language(server, org: str) -> str:
    with server.backend.db.transaction() as s:
        return accounts.get_org(s, org).language


def test_managers_set_the_language_members_read_it_and_it_reaches_their_mails(server, team):
    org = team["org"]
    with api(server, team["administrator"]) as http:
        put = http.put(f"/api/orgs/{org}/language", json={"language": "de"})
        assert put.status_code == 200 and put.json() == {"language": "de"}
    for role in ("collaborator", "external", "legal-representative"):
        with api(server, team[role]) as http:
            assert http.get(f"/api/orgs/{org}/language").json() == {"language": "de"}
    with server.backend.db.transaction() as s:  # no setting, no browser: the org's default
        assert accounts.language(s, team["collaborator"]) == "de"
        assert accounts.language(s, team["collaborator"], "fr-CH") == "fr"
    with api(server, team["legal-representative"]) as http:
        assert http.put(f"/api/orgs/{org}/language", json={"language": ""}).json() == {
            "language": ""
        }
    assert _org_language(server, org) == ""


def test_an_unknown_language_is_refused_and_nothing_changes(server, team):
    org = team["org"]
    with server.backend.db.transaction(write=True) as s:
        accounts.set_org_language(s, org, "it")
    with api(server, team["administrator"]) as http:
        for bad in ({"language": "tlh"}, {"language": "de-CH"}, {"language": 7}, {}):
            refused = http.put(f"/api/orgs/{org}/language", json=bad)
            assert refused.status_code == 400, (bad, refused.text)
            assert "error" in refused.json()
        english = http.put(
            f"/api/orgs/{org}/language", json={"language": "tlh"}, headers={"Accept-Language": "en"}
        )
        assert "unknown language “tlh”" in english.json()["error"]
        # No setting, no header: the organization's default (Italian) says the refusal.
        italian = http.put(f"/api/orgs/{org}/language", json={"language": "tlh"})
        assert italian.json()["error"].startswith("lingua sconosciuta «tlh»")
        german = http.put(
            f"/api/orgs/{org}/language", json={"language": "xx"}, headers={"Accept-Language": "de"}
        )
        assert german.json()["error"].startswith("unbekannte Sprache „xx“")  # the API's refusal
    assert _org_language(server, org) == "it"


def test_nobody_but_the_orgs_managers_changes_its_language(server, team):
    org = team["org"]
    with server.backend.db.transaction(write=True) as s:
        accounts.set_org_language(s, org, "fr")
        password = accounts.add_app_password(s, team["legal-representative"], "phone")
    stranger = server.user(role="administrator")  # manages another organization
    for login in (stranger, team["collaborator"], team["external"]):
        with api(server, login) as http:
            refused = http.put(f"/api/orgs/{org}/language", json={"language": "es"})
            assert refused.status_code == 403, (login, refused.text)
    with server.client(team["legal-representative"], password) as http:  # an app password
        assert http.put(f"/api/orgs/{org}/language", json={"language": "es"}).status_code == 403
    with httpx.Client(base_url=server.url) as http:  # nobody
        assert http.put(f"/api/orgs/{org}/language", json={"language": "es"}).status_code == 401
        assert http.get(f"/api/orgs/{org}/language").status_code == 401
    with api(server, stranger) as http:  # an outsider does not read it either
        assert http.get(f"/api/orgs/{org}/language").status_code == 403
    assert _org_language(server, org) == "fr"


def test_the_operator_sets_and_resets_the_language_on_the_command_line(server, team, cli):
    org = team["org"]
    assert "is es" in cli("org", "set", org, "--language", "es").stdout
    assert _org_language(server, org) == "es"
    refused = cli("org", "set", org, "--language", "klingon", ok=False)
    assert "unknown language “klingon”" in refused.stderr
    assert _org_language(server, org) == "es"
    cli("org", "set", org, "--language", "en")
    assert _org_language(server, org) == ""
    cli("org", "set", org, "--language", "it")
    cli("org", "set", org, "--language", "")
    assert _org_language(server, org) == ""
