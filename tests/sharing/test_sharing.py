"""Sharing over DAV and the API: the sharee's home, access levels, revocation,
externals and organization-wide shares, workgroups, public links, and
Radicale's own sharing (with its birthday conversion) kept out of reach."""

from __future__ import annotations

import re
from datetime import timedelta

import caldav
import httpx
import pytest
from sqlalchemy import update

from calcard import accounts
from calcard.core.models import PublicLink
from calcard.core.times import utcnow

from conftest import sync_report
from helpers import dav, event, share

ICS = {"Content-Type": "text/calendar; charset=utf-8"}
PROPFIND_NAMES = """<?xml version="1.0"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/><D:resourcetype/></D:prop></D:propfind>"""


@pytest.fixture
def people(server):
    """An owner with a named account, a colleague, an external and an outsider."""
    owner = server.user(role="legal-representative")
    org = f"org-{owner}"
    with server.backend.db.transaction(write=True, owners=["admin"]) as s:
        accounts.get_user(s, owner).name = "Olivia Owner"
    found = {"org": org, "owner": owner, "outsider": server.user()}
    for role in ("collaborator", "external"):
        found[role] = server.user(role=role, org=org)
    with server.client(owner) as http:
        body = event("team-1", "20260901T100000Z", "20260901T110000Z", "Team day")
        assert (
            http.put(f"/{owner}/calendar/team-1.ics", content=body, headers=ICS).status_code == 201
        )
    return found


def home(server, login: str) -> dict[str, str]:
    """{href: displayname} of the collections in the user's DAV home."""
    with server.client(login) as http:
        response = http.request(
            "PROPFIND",
            f"/{login}/",
            content=PROPFIND_NAMES.encode(),
            headers={"Depth": "1", "Content-Type": "application/xml"},
        )
    assert response.status_code == 207, response.text
    found = {}
    for block in re.findall(r"<response>(.*?)</response>", response.text, re.S):
        href = re.search(r"<href>([^<]+)</href>", block).group(1)
        name = re.search(r"<displayname>([^<]*)</displayname>", block)
        found[href] = name.group(1) if name else ""
    return found


def test_read_share_appears_in_sharee_home_and_refuses_writes(server, people):
    owner, reader = people["owner"], people["collaborator"]
    alias = f"/{reader}/shared-{owner}-calendar/"
    assert alias not in home(server, reader)
    share(server, owner, "user", reader)
    listing = home(server, reader)
    assert listing[alias] == "Calendar (Olivia Owner)"
    with server.client(reader) as http:
        assert "Team day" in http.get(alias + "team-1.ics").text
        body = event("mine", "20260902T100000Z", "20260902T110000Z")
        assert http.put(alias + "mine.ics", content=body, headers=ICS).status_code == 403
        assert http.delete(alias + "team-1.ics").status_code == 403
        assert http.delete(alias).status_code == 403
        response = http.request(
            "PROPPATCH",
            alias,
            content=b'<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
            b"<D:displayname>Mine now</D:displayname></D:prop></D:set></D:propertyupdate>",
            headers={"Content-Type": "application/xml"},
        )
        assert response.status_code == 403
    with server.client(owner) as http:
        assert http.get(f"/{owner}/calendar/team-1.ics").status_code == 200
        assert (
            "mine.ics"
            not in http.request("PROPFIND", f"/{owner}/calendar/", headers={"Depth": "1"}).text
        )
    assert home(server, owner)[f"/{owner}/calendar/"] == "Calendar"


def test_read_write_share_writes_into_the_owner_calendar_and_syncs(server, people):
    owner, writer = people["owner"], people["collaborator"]
    share(server, owner, "user", writer, "read-write")
    alias = f"/{writer}/shared-{owner}-calendar/"
    with server.client(writer) as http:
        token, text = sync_report(http, alias)
        assert "team-1.ics" in text
        body = event("from-writer", "20260903T100000Z", "20260903T110000Z", "Added")
        assert http.put(alias + "w.ics", content=body, headers=ICS).status_code == 201
        token2, text = sync_report(http, alias, token)
        assert "w.ics" in text and "team-1.ics" not in text
    with server.client(owner) as http:
        assert "Added" in http.get(f"/{owner}/calendar/w.ics").text
        # The owner's own sync token family is the same collection.
        _, text = sync_report(http, f"/{owner}/calendar/", token)
        assert "w.ics" in text


def test_revoking_removes_the_share_from_home_and_next_sync(server, people):
    owner, reader = people["owner"], people["collaborator"]
    share(server, owner, "user", reader)
    alias = f"/{reader}/shared-{owner}-calendar/"
    with server.client(reader) as http:
        token, _ = sync_report(http, alias)
    with server.client(owner) as http:
        response = http.delete(f"/api/collections/{owner}/calendar/shares/user/{reader}")
        assert response.status_code == 200
    assert alias not in home(server, reader)
    with server.client(reader) as http:
        response = http.request(
            "REPORT",
            alias,
            content=f'<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}'
            "</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop>"
            "</D:sync-collection>".encode(),
            headers={"Depth": "1", "Content-Type": "application/xml"},
        )
        assert response.status_code in (403, 404)
        assert http.get(alias + "team-1.ics").status_code in (403, 404)
        assert http.get(f"/{owner}/calendar/team-1.ics").status_code == 403


def test_external_never_reads_an_organization_wide_share(server, people):
    owner, colleague, external = people["owner"], people["collaborator"], people["external"]
    share(server, owner, "org", people["org"])
    alias = f"/{colleague}/shared-{owner}-calendar/"
    assert alias in home(server, colleague)
    assert not any("shared-" in href for href in home(server, external))
    with server.client(external) as http:
        assert http.get(f"/{external}/shared-{owner}-calendar/team-1.ics").status_code in (403, 404)
        assert http.get(f"/{owner}/calendar/team-1.ics").status_code == 403
        assert http.get("/api/shared").json() == {"shared": []}
    with server.client(people["outsider"]) as http:
        assert http.get(f"/{owner}/calendar/team-1.ics").status_code == 403
    # Only the owner shares, and only with organizations they belong to.
    with server.client(colleague) as http:
        response = http.put(
            f"/api/collections/{owner}/calendar/shares",
            json={"kind": "user", "name": external, "access": "read"},
        )
        assert response.status_code == 403
    with server.client(owner) as http:
        other_org = f"org-{people['outsider']}"
        response = http.put(
            f"/api/collections/{owner}/calendar/shares",
            json={"kind": "org", "name": other_org, "access": "read"},
        )
        assert response.status_code == 403
        shares = http.get(f"/api/collections/{owner}/calendar/shares").json()["shares"]
    assert shares == [{"kind": "org", "name": people["org"], "access": "read"}]


def test_workgroup_share_reaches_its_members_only(server, people):
    owner, org = people["owner"], people["org"]
    member, external = people["collaborator"], people["external"]
    other = server.user(org=org)
    with server.client(owner) as http:
        assert http.post(f"/api/orgs/{org}/workgroups", json={"name": "Crew"}).status_code == 201
        for login in (member, external):
            assert http.put(f"/api/orgs/{org}/workgroups/Crew/members/{login}").status_code == 200
    share(server, owner, "group", "Crew", "read-write")
    assert f"/{member}/shared-{owner}-calendar/" in home(server, member)
    # Workgroups are explicit: an external put into one gets its shares.
    assert f"/{external}/shared-{owner}-calendar/" in home(server, external)
    assert not any("shared-" in href for href in home(server, other))
    # Leaving the organization ends its workgroup memberships, and their shares
    # (the member stays a user through another organization).
    with server.backend.db.transaction(write=True, owners=["admin"]) as s:
        accounts.add_user(s, member, f"org-{people['outsider']}", "collaborator", "")
    with server.client(member) as http:
        assert http.delete(f"/api/orgs/{org}/members/{member}").status_code == 200
    assert not any("shared-" in href for href in home(server, member))


def test_caldav_client_discovers_and_syncs_a_calendar_shared_with_it(server, people):
    owner, reader = people["owner"], people["collaborator"]
    share(server, owner, "user", reader)
    calendars = dav(server, reader).principal().calendars()
    shared = [c for c in calendars if "shared-" in str(c.url)]
    assert [c.get_display_name() for c in shared] == ["Calendar (Olivia Owner)"]
    first = shared[0].objects_by_sync_token(load_objects=True, disable_fallback=True)
    assert [str(o.icalendar_component["UID"]) for o in first] == ["team-1"]
    dav(server, owner).principal().calendar(cal_id="calendar").save_event(
        event("team-2", "20260904T100000Z", "20260904T110000Z", "Second")
    )
    changes = shared[0].objects_by_sync_token(
        sync_token=first.sync_token, load_objects=True, disable_fallback=True
    )
    assert [str(o.icalendar_component["UID"]) for o in changes] == ["team-2"]
    with pytest.raises(caldav.lib.error.AuthorizationError):
        shared[0].save_event(event("nope", "20260905T100000Z", "20260905T110000Z"))


def test_public_link_serves_ics_until_revoked_or_expired(server, people):
    owner = people["owner"]
    links = f"/api/collections/{owner}/calendar/public-links"
    with server.client(owner) as http:
        assert http.post(links, json={"expires": "2w"}).status_code == 400
        assert (
            http.post(f"/api/collections/{owner}/contacts/public-links", json={"expires": "7d"})
        ).status_code == 404
        created = http.post(links, json={"expires": "7d"}).json()
        forever = http.post(links, json={"expires": "unlimited"}).json()
        assert forever["expires_at"] is None
        listed = http.get(links).json()["public_links"]
        assert {link["id"] for link in listed} == {created["id"], forever["id"]}
        assert "url" not in listed[0]
    with server.client(people["collaborator"]) as http:  # no share: the door hides it (404)
        assert http.post(links, json={"expires": "7d"}).status_code == 404
        assert http.get(links).status_code == 404
    path = created["url"].split("://", 1)[1].split("/", 1)[1]
    response = httpx.get(server.url + "/" + path)  # no credentials: the URL is the secret
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "Team day" in response.text
    assert httpx.get(server.url + "/api/public/not-a-token.ics").status_code == 404
    with server.client(owner) as http:
        assert http.delete(f"{links}/{created['id']}").status_code == 200
        assert http.delete(f"{links}/{created['id']}").status_code == 404
    assert httpx.get(server.url + "/" + path).status_code == 404
    forever_path = "/" + forever["url"].split("://", 1)[1].split("/", 1)[1]
    assert httpx.get(server.url + forever_path).status_code == 200
    with server.backend.db.transaction(write=True) as s:
        s.execute(
            update(PublicLink)
            .where(PublicLink.id == forever["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert httpx.get(server.url + forever_path).status_code == 404


def test_radicale_sharing_and_birthday_conversion_are_unreachable(server, people):
    owner = people["owner"]
    with server.client(owner) as http:
        for path in (
            "/.sharing/v1/map/create",
            "/.sharing/v1/token/create",
            "/.sharing/v1/all/info",
        ):
            response = http.post(
                path,
                json={
                    "PathMapped": f"/{owner}/contacts/",
                    "PathOrToken": f"/{owner}/birthdays/",
                    "Conversion": "bday",
                },
            )
            assert response.status_code >= 400, path
        assert (
            http.request("PROPFIND", f"/{owner}/birthdays/", headers={"Depth": "0"}).status_code
            == 404
        )
    assert not any("birthday" in href or "bday" in href for href in home(server, owner))
