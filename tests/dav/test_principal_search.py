"""Principal search (RFC 3744 §9.4 principal-property-search, §9.5
principal-search-property-set): how clients look up attendees as one types.

Written as the attacker too: a user of another organization, an external, and
nobody at all search for the victims' names and addresses and must find nothing.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import unquote

import caldav
import httpx
import pytest
from sqlalchemy import select

from calcard import accounts
from calcard.accounts import rooms
from calcard.core.models import User

from conftest import PASSWORD
from helpers import share

CALDAV = "urn:ietf:params:xml:ns:caldav"
XML = {"Content-Type": "application/xml; charset=utf-8", "Depth": "0"}
PROPS = "<D:prop><D:displayname/><C:calendar-home-set/><C:calendar-user-address-set/>"
PROPS += "<C:calendar-user-type/><D:principal-URL/></D:prop>"


def search_body(*searches: tuple[str, str], test: str = "", match_type: str = "") -> str:
    """A principal-property-search: each search is (property element, text)."""
    how = f' match-type="{match_type}"' if match_type else ""
    parts = "".join(
        f"<D:property-search><D:prop>{prop}</D:prop><D:match{how}>{text}</D:match>"
        "</D:property-search>"
        for prop, text in searches
    )
    test_attr = f' test="{test}"' if test else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<D:principal-property-search xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"'
        f' xmlns:CS="http://calendarserver.org/ns/"{test_attr}>{parts}{PROPS}'
        "<D:apply-to-principal-collection-set/></D:principal-property-search>"
    )


def found(server, login: str, body: str, path: str = "/") -> set[str]:
    """The logins a principal-property-search by ``login`` answers."""
    with server.client(login) as http:
        response = http.request("REPORT", path, content=body, headers=XML)
    assert response.status_code == 207, response.text
    return {unquote(h).strip("/") for h in re.findall(r"<[^>]*href>([^<]+)</", response.text)
            if not h.startswith("mailto:")}


def people(server, names: dict[str, str]):
    """Users with display names (and addresses) in one fresh organization: {name: login}."""
    org = f"org-{uuid.uuid4().hex[:8]}"
    logins = {}
    with server.backend.db.transaction(write=True) as s:
        accounts.create_org(s, org, plan="team")
        for name, email in names.items():
            login = f"p{uuid.uuid4().hex[:10]}"
            accounts.add_user(s, login, org, "collaborator", PASSWORD, email=email, name=name)
            logins[name] = login
    return org, logins


def test_a_colleague_is_found_by_part_of_their_name_in_any_script_and_case(server):
    tag = uuid.uuid4().hex[:6]
    org, who = people(
        server,
        {
            f"Ünal Çelik {tag}": f"unal-{tag}@example.com",
            f"Дмитрий Петров {tag}": f"dmitri-{tag}@example.com",
            f"山田 太郎 {tag}": f"yamada-{tag}@example.com",
            f"Searcher {tag}": f"searcher-{tag}@example.com",
        },
    )
    me = who[f"Searcher {tag}"]
    name = "<D:displayname/>"
    assert found(server, me, search_body((name, f"ünal çELIK {tag}"))) == {who[f"Ünal Çelik {tag}"]}
    assert found(server, me, search_body((name, f"петров {tag}"))) == {who[f"Дмитрий Петров {tag}"]}
    assert found(server, me, search_body((name, f"山田 太郎 {tag}"))) == {who[f"山田 太郎 {tag}"]}
    assert found(server, me, search_body((name, tag))) == set(who.values())
    starts = search_body((name, "дмитрий"), match_type="starts-with")
    assert who[f"Дмитрий Петров {tag}"] in found(server, me, starts)
    assert found(server, me, search_body((name, "петров"), match_type="starts-with")) == set()


def test_the_caldav_library_finds_a_colleague_by_name(server):
    tag = uuid.uuid4().hex[:6]
    _, who = people(server, {f"Grace Hopper {tag}": "", f"Ada {tag}": ""})
    ada = who[f"Ada {tag}"]
    with caldav.DAVClient(url=server.url + "/", username=ada, password=PASSWORD) as client:
        principals = client.search_principals(name=f"Grace Hopper {tag}")
    assert [p.url.path.strip("/") for p in principals] == [who[f"Grace Hopper {tag}"]]
    assert principals[0].get_display_name() == f"Grace Hopper {tag}"


def test_a_colleague_is_found_by_email_address_with_or_without_mailto(server):
    tag = uuid.uuid4().hex[:6]
    _, who = people(server, {"Alice": f"Alice.{tag}@Example.com", "Bob": f"bob.{tag}@example.com"})
    for prop in ("<C:calendar-user-address-set/>", "<CS:email-address-set/>"):
        for text in (f"mailto:alice.{tag}@example.com", f"ALICE.{tag}"):
            assert found(server, who["Bob"], search_body((prop, text))) == {who["Alice"]}
    with server.client(who["Bob"]) as http:
        body = search_body((prop, f"alice.{tag}"))
        answer = http.request("REPORT", "/", content=body, headers=XML)
    assert f"mailto:Alice.{tag}@Example.com" in answer.text
    assert "INDIVIDUAL" in answer.text


def test_anyof_finds_by_name_or_address_and_allof_needs_both(server):
    tag = uuid.uuid4().hex[:6]
    _, who = people(server, {f"Carol {tag}": f"c-{tag}@x.example", "Dan": f"dan-{tag}@x.example"})
    both = (("<D:displayname/>", f"Carol {tag}"), ("<C:calendar-user-address-set/>", f"dan-{tag}"))
    assert found(server, who["Dan"], search_body(*both, test="anyof")) == set(who.values())
    assert found(server, who["Dan"], search_body(*both)) == set()
    unsearchable = (("<D:getetag/>", "x"), ("<D:displayname/>", f"Carol {tag}"))
    carol = {who[f"Carol {tag}"]}
    assert found(server, who["Dan"], search_body(*unsearchable, test="anyof")) == carol
    assert found(server, who["Dan"], search_body(*unsearchable)) == set()
    only_unsearchable = (("<D:getetag/>", "x"), ("<D:getetag/>", "y"))
    assert found(server, who["Dan"], search_body(*only_unsearchable, test="anyof")) == set()


def test_another_organization_and_an_external_find_nobody_of_the_victims(server):
    """The victims' exact names and addresses, searched by a stranger and an external."""
    tag = uuid.uuid4().hex[:6]
    org, victims = people(server, {f"Victim {tag}": f"victim-{tag}@example.com", "Boss": ""})
    _, strangers = people(server, {"Stranger": ""})
    _, externals = people(server, {"Partner": ""})
    with server.backend.db.transaction(write=True) as s:
        accounts.add_user(s, externals["Partner"], org, "external", PASSWORD)
        rooms.create_room(s, org, f"Boardroom {tag}")
    for attacker in (strangers["Stranger"], externals["Partner"]):
        for body in (
            search_body(("<D:displayname/>", f"Victim {tag}")),
            search_body(("<D:displayname/>", f"Boardroom {tag}")),
            search_body(("<C:calendar-user-address-set/>", f"victim-{tag}@example.com")),
            search_body(("<D:displayname/>", "")),
            search_body(),
        ):
            assert found(server, attacker, body) <= {attacker}
    # Sharing one's own calendar with the victim (nobody asks the victim) makes the
    # victim known to nobody.
    share(server, strangers["Stranger"], "user", victims[f"Victim {tag}"])
    assert found(server, strangers["Stranger"], search_body()) == {strangers["Stranger"]}
    # A share makes its owner known to the sharee, and only its owner.
    share(server, victims["Boss"], "user", externals["Partner"])
    everyone = found(server, externals["Partner"], search_body())
    assert everyone == {externals["Partner"], victims["Boss"]}
    # The boss knows the colleague, the external (a member) and the room.
    boss_sees = found(server, victims["Boss"], search_body(("<D:displayname/>", tag)))
    assert boss_sees == {victims[f"Victim {tag}"]} | _room_login(server, f"Boardroom {tag}")


def _room_login(server, name: str) -> set[str]:
    with server.backend.db.transaction() as s:
        return set(s.scalars(select(User.login).where(User.name == name)))


def test_a_room_is_a_room_principal_for_its_members(server):
    tag = uuid.uuid4().hex[:6]
    org, who = people(server, {"Member": ""})
    with server.backend.db.transaction(write=True) as s:
        rooms.create_room(s, org, f"Aula {tag}")
    with server.client(who["Member"]) as http:
        body = search_body(("<D:displayname/>", f"Aula {tag}"))
        answer = http.request("REPORT", "/", content=body, headers=XML)
    assert answer.status_code == 207
    kinds = ET.fromstring(answer.content).findall(f".//{{{CALDAV}}}calendar-user-type")
    assert [k.text for k in kinds] == ["ROOM"]


def test_nobody_gets_a_credentials_challenge_and_bad_requests_get_400(server):
    with httpx.Client(base_url=server.url) as http:
        answer = http.request("REPORT", "/", content=search_body(), headers=XML)
    assert answer.status_code == 401 and "www-authenticate" in answer.headers
    login = server.user()
    no_match = search_body().replace(
        "<D:prop><D:displayname/>", "<D:property-search><D:prop><D:displayname/></D:prop>"
        "</D:property-search><D:prop><D:displayname/>", 1
    )
    with server.client(login) as http:
        for body, headers in (
            (no_match, XML),
            (search_body(("<D:displayname/>", "x"), match_type="regex"), XML),
            (search_body(), {**XML, "Depth": "1"}),
            (search_body(*[("<D:displayname/>", "x")] * 21, test="anyof"), XML),
            ("<D:principal-property-search xmlns:D='DAV:'><D:prop>", XML),
        ):
            assert http.request("REPORT", "/", content=body, headers=headers).status_code == 400


def test_the_search_property_set_names_name_and_addresses(server):
    login = server.user()
    body = '<D:principal-search-property-set xmlns:D="DAV:"/>'
    with server.client(login) as http:
        answer = http.request("REPORT", "/", content=body, headers=XML)
    assert answer.status_code == 200
    assert "principal-search-property-set" in answer.text
    for prop in ("displayname", "calendar-user-address-set", "email-address-set"):
        assert prop in answer.text


@pytest.mark.parametrize("path", ["/", "/{login}/"])
def test_searching_from_the_root_or_ones_principal_gives_the_same_answer(server, path):
    tag = uuid.uuid4().hex[:6]
    _, who = people(server, {f"Eve {tag}": "", f"Frank {tag}": ""})
    me = who[f"Frank {tag}"]
    body = search_body(("<D:displayname/>", f"eve {tag}"))
    assert found(server, me, body, path.format(login=me)) == {who[f"Eve {tag}"]}


def _principal_name(server, login: str, path: str) -> tuple[int, str | None]:
    """PROPFIND Depth 0 of a principal for DAV:displayname, as ``login``: the status and,
    on 207, the name answered with 200 (None when it is answered 404)."""
    body = '<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/></D:prop></D:propfind>'
    with server.client(login) as http:
        response = http.request("PROPFIND", path, content=body, headers=XML)
    if response.status_code != 207:
        return response.status_code, None
    for propstat in ET.fromstring(response.content).iter("{DAV:}propstat"):
        if "200" in propstat.findtext("{DAV:}status", ""):
            return 207, propstat.findtext("{DAV:}prop/{DAV:}displayname")
    return 207, None


def test_a_principal_answers_its_users_name_as_displayname_to_its_user_only(server):
    """RFC 3744 §4: the principal (the home) is named as principal search names it;
    python-caldav's principal lookup reads it. A stranger learns nothing by PROPFIND."""
    tag = uuid.uuid4().hex[:6]
    _, who = people(server, {f"Zoë Ørsted {tag}": f"zoe-{tag}@example.com"})
    _, strangers = people(server, {f"Stranger {tag}": f"stranger-{tag}@example.com"})
    victim, stranger = who[f"Zoë Ørsted {tag}"], strangers[f"Stranger {tag}"]
    assert _principal_name(server, victim, f"/{victim}/") == (207, f"Zoë Ørsted {tag}")
    status, name = _principal_name(server, stranger, f"/{victim}/")
    assert name is None and status in (207, 403, 404)
    rename = (
        '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
        f"<D:displayname>Z. {tag}</D:displayname></D:prop></D:set></D:propertyupdate>"
    )
    with server.client(stranger) as http:
        assert http.request("PROPPATCH", f"/{victim}/", content=rename).status_code in (403, 404)
    assert _principal_name(server, victim, f"/{victim}/") == (207, f"Zoë Ørsted {tag}")
    with server.client(victim) as http:
        assert http.request("PROPPATCH", f"/{victim}/", content=rename).status_code == 207
    assert _principal_name(server, victim, f"/{victim}/") == (207, f"Z. {tag}")


def test_a_principal_without_a_name_is_named_by_its_login(server):
    """A user without a name (created by login alone): the principal's displayname is
    the login, as principal search names them, not missing."""
    login = server.user()
    assert _principal_name(server, login, f"/{login}/") == (207, login)


def test_a_principal_answers_its_calendar_user_type(server):
    """RFC 6638 §2.4.2 on PROPFIND of the principal itself, as principal search answers
    it: python-caldav copies it into ORGANIZER (CUTYPE=None when it is missing)."""
    tag = uuid.uuid4().hex[:6]
    _, who = people(server, {f"Typed {tag}": f"typed-{tag}@example.com"})
    login = who[f"Typed {tag}"]
    body = (
        '<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><C:calendar-user-type/></D:prop></D:propfind>"
    )
    with server.client(login) as http:
        answer = http.request("PROPFIND", f"/{login}/", content=body, headers=XML)
    assert answer.status_code == 207, answer.text
    found = [
        p.findtext(f"{{DAV:}}prop/{{{CALDAV}}}calendar-user-type")
        for p in ET.fromstring(answer.content).iter("{DAV:}propstat")
        if "200" in p.findtext("{DAV:}status", "")
    ]
    assert found == ["INDIVIDUAL"], answer.text


def test_a_clients_proppatch_of_the_home_does_not_freeze_the_given_name(server):
    """Radicale's PROPPATCH writes every property back; the name the home was given (the
    login here) must not be stored as the user's own, or a later name (a user bundle's
    import sets one) never shows."""
    login = server.user()
    alarm = (
        '<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set>'
        "<D:prop><C:default-alarm-vevent-datetime>BEGIN:VALARM\nTRIGGER:-PT5M\nEND:VALARM"
        "</C:default-alarm-vevent-datetime></D:prop></D:set></D:propertyupdate>"
    )
    with server.client(login) as http:  # what Apple's clients write there
        assert http.request("PROPPATCH", f"/{login}/", content=alarm).status_code == 207
    with server.backend.db.transaction(write=True, owners=[login]) as s:
        accounts.find_user(s, login).name = "Ada Lovelace"  # as a user bundle's import names it
    assert _principal_name(server, login, f"/{login}/") == (207, "Ada Lovelace")
