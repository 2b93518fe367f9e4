"""Full-collection answers written by calcard (plugins/calcard_radicale/members.py):
PROPFIND depth 1, sync-collection and calendar-/addressbook-multiget.

Each request is sent as DAVx5, Apple (iOS/macOS), Thunderbird and the ``caldav``
library send it, and again in a variant that leaves the answer to Radicale (the
first property gets a child element: Radicale reads only the property's name,
calcard's parser declines it). Both answers, parsed into a normalized tree
(responses by href, propstats by status, properties as a set), must be equal:
on calendars and address books whose names and members' names need
percent-encoding (é, ü, 日本, spaces, &), through a sharee's alias, after changes
and deletions, paged with DAV:limit, and for multiget hrefs that are missing,
outside the collection or malformed. Strangers and removed users are refused as
Radicale refuses them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import quote

import httpx
import pytest

from calcard import accounts, store
from calcard_radicale import members

from helpers import new_app_password, share

DAV, CALDAV, CARDDAV = "DAV:", "urn:ietf:params:xml:ns:caldav", "urn:ietf:params:xml:ns:carddav"
ICS = {"Content-Type": "text/calendar; charset=utf-8"}
VCF = {"Content-Type": "text/vcard; charset=utf-8"}
XML = '<?xml version="1.0" encoding="UTF-8"?>'

# --------------------------------------------------------------------------- bodies

PROPFIND = {
    "davx5 calendar": (
        f'{XML}<propfind xmlns="DAV:" xmlns:CAL="{CALDAV}"><prop><resourcetype/><getetag/>'
        "<CAL:schedule-tag/></prop></propfind>"
    ),
    "davx5 contacts": (
        f'{XML}<propfind xmlns="DAV:"><prop><resourcetype/><getetag/></prop></propfind>'
    ),
    "apple": (
        f'{XML}<A:propfind xmlns:A="DAV:"><A:prop><A:getcontenttype/><A:getetag/></A:prop>'
        "</A:propfind>"
    ),
    "thunderbird": (
        f'{XML}<D:propfind xmlns:D="DAV:"><D:prop><D:getcontenttype/><D:resourcetype/>'
        "<D:getetag/></D:prop></D:propfind>"
    ),
    "caldav library": (
        f'{XML}<propfind xmlns="DAV:"><prop><displayname/><resourcetype/></prop></propfind>'
    ),
    "wide": (
        f'{XML}<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/" '
        'xmlns:I="http://apple.com/ns/ical/" xmlns:X="urn:x-unknown">'
        "<D:prop><X:unknown/><D:getlastmodified/><D:getcontentlength/><CS:getctag/>"
        "<D:sync-token/><I:calendar-color/><D:getetag/></D:prop></D:propfind>"
    ),
}

SYNC = {
    "davx5": (
        '<sync-collection xmlns="DAV:"><sync-token>{token}</sync-token>'
        "<sync-level>1</sync-level><prop><getetag/></prop>{limit}</sync-collection>"
    ),
    "apple": (
        '<A:sync-collection xmlns:A="DAV:"><A:sync-token>{token}</A:sync-token>'
        "<A:sync-level>1</A:sync-level><A:prop><A:getcontenttype/><A:getetag/></A:prop>"
        "{limit}</A:sync-collection>"
    ),
    "thunderbird": (
        '<sync-collection xmlns="DAV:"><sync-token>{token}</sync-token><sync-level>1'
        "</sync-level><prop><getcontenttype/><getetag/></prop>{limit}</sync-collection>"
    ),
    "caldav library": (
        '<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>'
        "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop>{limit}"
        "</D:sync-collection>"
    ),
    "with data": (
        f'<D:sync-collection xmlns:D="DAV:" xmlns:C="{CALDAV}" xmlns:R="{CARDDAV}">'
        "<D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop>"
        "<D:getetag/><C:schedule-tag/><C:calendar-data/><R:address-data/></D:prop>{limit}"
        "</D:sync-collection>"
    ),
}
LIMIT = {
    "davx5": "<limit><nresults>{n}</nresults></limit>",
    "apple": "<A:limit><A:nresults>{n}</A:nresults></A:limit>",
    "thunderbird": "<limit><nresults>{n}</nresults></limit>",
    "caldav library": "<D:limit><D:nresults>{n}</D:nresults></D:limit>",
    "with data": "<D:limit><D:nresults>{n}</D:nresults></D:limit>",
}

CALENDAR_MULTIGET = {
    "davx5": (
        f'<CAL:calendar-multiget xmlns="DAV:" xmlns:CAL="{CALDAV}"><prop><getcontenttype/>'
        "<getetag/><CAL:schedule-tag/><CAL:calendar-data/></prop>{hrefs}</CAL:calendar-multiget>",
        "<href>{}</href>",
    ),
    "apple": (
        f'<B:calendar-multiget xmlns:B="{CALDAV}"><A:prop xmlns:A="DAV:"><A:getetag/>'
        '<B:calendar-data/><B:schedule-tag/><C:updated-by xmlns:C="http://calendarserver.org/ns/"/>'
        '<C:created-by xmlns:C="http://calendarserver.org/ns/"/></A:prop>{hrefs}'
        "</B:calendar-multiget>",
        '<A:href xmlns:A="DAV:">{}</A:href>',
    ),
    "thunderbird": (
        f'<C:calendar-multiget xmlns:D="DAV:" xmlns:C="{CALDAV}"><D:prop><D:getetag/>'
        "<C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>",
        "<D:href>{}</D:href>",
    ),
    "caldav library": (
        f'<C:calendar-multiget xmlns:C="{CALDAV}" xmlns:D="DAV:"><D:prop><C:calendar-data/>'
        "<D:getetag/><C:schedule-tag/></D:prop>{hrefs}</C:calendar-multiget>",
        "<D:href>{}</D:href>",
    ),
}
ADDRESSBOOK_MULTIGET = {
    "davx5": (
        f'<CARD:addressbook-multiget xmlns="DAV:" xmlns:CARD="{CARDDAV}"><prop>'
        '<getcontenttype/><getetag/><CARD:address-data content-type="text/vcard" version="4.0"/>'
        "</prop>{hrefs}</CARD:addressbook-multiget>",
        "<href>{}</href>",
    ),
    "apple": (
        f'<C:addressbook-multiget xmlns:C="{CARDDAV}"><A:prop xmlns:A="DAV:"><A:getetag/>'
        "<C:address-data/></A:prop>{hrefs}</C:addressbook-multiget>",
        '<A:href xmlns:A="DAV:">{}</A:href>',
    ),
    "thunderbird": (
        f'<card:addressbook-multiget xmlns:d="DAV:" xmlns:card="{CARDDAV}"><d:prop>'
        "<d:getetag/><card:address-data/></d:prop>{hrefs}</card:addressbook-multiget>",
        "<d:href>{}</d:href>",
    ),
}

# --------------------------------------------------------------------------- data

# Names in several scripts, with spaces and characters a URL must encode.
CALENDAR_NAME = "Équipe ü 日本 & co"
BOOK_NAME = "Carnet é 日本"
MEMBER_NAMES = ["plain", "é ü", "日本 会議", "a&b <c>", "100% sure", "x+y=z"]


def vevent(uid: str, summary: str, organizer: bool = False) -> str:
    who = f"ORGANIZER:mailto:{uid}@example.com\r\n" if organizer else ""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calcard tests//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20270105T090000Z\r\n"
        f"DURATION:PT1H\r\nSUMMARY:{summary}\r\n{who}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def vcard(uid: str, name: str) -> str:
    return f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nEND:VCARD\r\n"


def member_url(collection: str, name: str, suffix: str) -> str:
    return collection + quote(name + suffix)


def fill(http: httpx.Client, collection: str, kind: str) -> None:
    for i, name in enumerate(MEMBER_NAMES):
        if kind == "calendar":
            text, headers, suffix = vevent(f"uid-{i}", f"{name} <&>", i % 2 == 0), ICS, ".ics"
        else:
            text, headers, suffix = vcard(f"card-{i}", f"{name} <&>"), VCF, ".vcf"
        put = http.put(member_url(collection, name, suffix), content=text.encode(), headers=headers)
        assert put.status_code == 201, put.text


@pytest.fixture(scope="module")
def owner(server):
    """A user with a filled calendar and address book whose names need encoding."""
    login = server.user()
    calendar = f"/{login}/{quote(CALENDAR_NAME)}/"
    book = f"/{login}/{quote(BOOK_NAME)}/"
    mkcol = (
        f'<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="{CARDDAV}"><D:set><D:prop>'
        "<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set>"
        "</D:mkcol>"
    )
    with server.client(login) as http:
        assert http.request("MKCALENDAR", calendar).status_code == 201
        assert http.request("MKCOL", book, content=mkcol.encode()).status_code == 201
        fill(http, calendar, "calendar")
        fill(http, book, "contacts")
        fill(http, f"/{login}/calendar/", "calendar")
    return login, calendar, book


# --------------------------------------------------------------------------- comparing


def radicale_variant(body: str) -> str:
    """The same request, that calcard leaves to Radicale: the first property gets a
    child element, which Radicale does not read."""
    root = ET.fromstring(body.encode())
    prop = root.find(f".//{{{DAV}}}prop")
    ET.SubElement(prop[0], "{urn:x-test}radicale")
    return ET.tostring(root, encoding="unicode")


def canonical(element: ET.Element):
    children = tuple(sorted(canonical(child) for child in element))
    return (element.tag, (element.text or "").strip(), children)


def normalized(text: str) -> dict:
    """A multistatus as clients read it: the sync token, and per href its status
    or its propstats (status -> set of properties with their values)."""
    root = ET.fromstring(text.encode())
    assert root.tag == f"{{{DAV}}}multistatus"
    answer: dict = {"sync-token": root.findtext(f"{{{DAV}}}sync-token"), "responses": {}}
    for response in root.findall(f"{{{DAV}}}response"):
        href = response.findtext(f"{{{DAV}}}href")
        assert href not in answer["responses"], f"{href} answered twice"
        propstats = {}
        for propstat in response.findall(f"{{{DAV}}}propstat"):
            status = propstat.findtext(f"{{{DAV}}}status")
            props = frozenset(canonical(p) for p in propstat.find(f"{{{DAV}}}prop"))
            assert status not in propstats
            propstats[status] = props
        error = response.find(f"{{{DAV}}}error")
        answer["responses"][href] = (
            response.findtext(f"{{{DAV}}}status"),
            propstats,
            canonical(error) if error is not None else None,
        )
    return answer


def ask(http: httpx.Client, method: str, path: str, body: str, depth: str = "1"):
    headers = {"Depth": depth, "Content-Type": "application/xml; charset=utf-8"}
    return http.request(method, path, content=body.encode(), headers=headers)


def both(http: httpx.Client, method: str, path: str, body: str) -> tuple[dict, dict]:
    """(calcard's answer, Radicale's answer), both 207, normalized."""
    ours = ask(http, method, path, body)
    radicale = ask(http, method, path, radicale_variant(body))
    assert ours.status_code == radicale.status_code == 207, (ours.text, radicale.text)
    assert ours.headers["content-type"] == radicale.headers["content-type"]
    return normalized(ours.text), normalized(radicale.text)


# --------------------------------------------------------------------------- parsers


@pytest.mark.parametrize("client", PROPFIND)
def test_each_clients_propfind_is_answered_by_calcard(client):
    assert members.propfind(PROPFIND[client].encode()) is not None
    assert members.propfind(radicale_variant(PROPFIND[client]).encode()) is None


def test_reports_clients_send_are_answered_by_calcard_and_others_left_to_radicale():
    for template in SYNC.values():
        body = template.format(token="", limit="")
        assert members.report(body.encode()) is not None
        assert members.report(radicale_variant(body).encode()) is None
    for template, href in [*CALENDAR_MULTIGET.values(), *ADDRESSBOOK_MULTIGET.values()]:
        body = template.format(hrefs=href.format("/a/b/c.ics"))
        assert members.report(body.encode()) is not None
        assert members.report(radicale_variant(body).encode()) is None
    left = [
        "<D:propfind xmlns:D='DAV:'><D:allprop/></D:propfind>",
        "<D:propfind xmlns:D='DAV:'><D:prop><D:getetag/><D:owner/></D:prop></D:propfind>",
        "<D:propfind xmlns:D='DAV:'><D:prop><D:current-user-privilege-set/></D:prop></D:propfind>",
        "<D:propfind xmlns:D='DAV:'><D:prop><getetag xmlns=''/></D:prop></D:propfind>",
    ]
    assert all(members.propfind(body.encode()) is None for body in left)
    expand = (
        f'<C:calendar-multiget xmlns:C="{CALDAV}" xmlns:D="DAV:"><D:prop><C:calendar-data>'
        '<C:expand start="20270101T000000Z" end="20270201T000000Z"/></C:calendar-data>'
        "</D:prop><D:href>/a/b/c.ics</D:href></C:calendar-multiget>"
    )
    filtered = (
        f'<C:calendar-multiget xmlns:C="{CALDAV}" xmlns:D="DAV:"><D:prop><D:getetag/></D:prop>'
        '<D:href>/a/b/c.ics</D:href><C:filter><C:comp-filter name="VCALENDAR"/></C:filter>'
        "</C:calendar-multiget>"
    )
    assert members.report(expand.encode()) is None
    assert members.report(filtered.encode()) is None


def test_a_listing_of_etags_reads_no_item_text(server, owner):
    login, calendar, _ = owner
    with server.backend.db.transaction() as s:
        collection = store.get_collection(s, f"{login}/{CALENDAR_NAME}")
        rows = store.listing(s, collection.id)
        some = store.listing(s, collection.id, ["plain.ics", "none.ics"], text=True)
    assert sorted(row.href for row in rows) == sorted(n + ".ics" for n in MEMBER_NAMES)
    assert all(row.text is None and row.etag for row in rows)
    assert [row.href for row in some] == ["plain.ics"] and "BEGIN:VEVENT" in some[0].text


# --------------------------------------------------------------------------- PROPFIND


@pytest.mark.parametrize("client", PROPFIND)
def test_propfind_depth_1_answers_like_radicale(server, owner, client):
    login, calendar, book = owner
    with server.client(login) as http:
        for path in (calendar, book, f"/{login}/calendar/"):
            ours, radicale = both(http, "PROPFIND", path, PROPFIND[client])
            assert ours == radicale
            assert len(ours["responses"]) == 1 + len(MEMBER_NAMES)
            assert path in ours["responses"]


def test_propfind_answers_schedule_tags_and_encoded_hrefs(server, owner):
    login, calendar, _ = owner
    with server.client(login) as http:
        answer = ask(http, "PROPFIND", calendar, PROPFIND["davx5 calendar"])
    found = normalized(answer.text)["responses"]
    assert calendar + quote("日本 会議.ics") in found
    assert calendar + "a%26b%20%3Cc%3E.ics" in found
    tagged = found[calendar + "plain.ics"][1]["HTTP/1.1 200 OK"]  # uid-0 has an ORGANIZER
    assert f"{{{CALDAV}}}schedule-tag" in {tag for tag, _, _ in tagged}
    untagged = found[calendar + quote("é ü.ics")][1]["HTTP/1.1 404 Not Found"]
    assert {tag for tag, _, _ in untagged} == {f"{{{CALDAV}}}schedule-tag"}


def test_propfind_of_other_shapes_and_depths_is_radicales(server, owner):
    login, calendar, _ = owner
    with server.client(login) as http:
        depth0 = ask(http, "PROPFIND", calendar, PROPFIND["apple"], depth="0")
        home = ask(http, "PROPFIND", f"/{login}/", PROPFIND["apple"])
        item = ask(http, "PROPFIND", calendar + "plain.ics", PROPFIND["apple"])
    assert depth0.status_code == home.status_code == item.status_code == 207
    assert len(normalized(depth0.text)["responses"]) == 1
    assert f"/{login}{quote('/' + CALENDAR_NAME + '/')}" in normalized(home.text)["responses"]
    assert list(normalized(item.text)["responses"]) == [calendar + "plain.ics"]


# --------------------------------------------------------------------------- sync


def sync_pair(http, path: str, client: str, token: str, limit: int | None = None):
    nresults = LIMIT[client].format(n=limit) if limit else ""
    return both(http, "REPORT", path, SYNC[client].format(token=token, limit=nresults))


@pytest.mark.parametrize("client", SYNC)
def test_sync_initial_and_incremental_answer_like_radicale(server, client):
    login = server.user()
    calendar, book = f"/{login}/{quote(CALENDAR_NAME)}/", f"/{login}/contacts/"
    with server.client(login) as http:
        assert http.request("MKCALENDAR", calendar).status_code == 201
        for path, kind in ((calendar, "calendar"), (book, "contacts")):
            fill(http, path, kind)
            ours, radicale = sync_pair(http, path, client, "")
            assert ours == radicale
            assert len(ours["responses"]) == len(MEMBER_NAMES)
            token = ours["sync-token"]
            suffix, headers = (".ics", ICS) if kind == "calendar" else (".vcf", VCF)
            changed = member_url(path, "é ü", suffix)
            text = vevent("uid-1", "moved") if kind == "calendar" else vcard("card-1", "moved")
            assert http.put(changed, content=text.encode(), headers=headers).status_code == 204
            assert http.delete(member_url(path, "日本 会議", suffix)).status_code in (200, 204)
            ours, radicale = sync_pair(http, path, client, token)
            assert ours == radicale
            statuses = {href: status for href, (status, _, _) in ours["responses"].items()}
            assert statuses == {
                changed: None,
                member_url(path, "日本 会議", suffix): "HTTP/1.1 404 Not Found",
            }
            ours, radicale = sync_pair(http, path, client, ours["sync-token"])
            assert ours == radicale and ours["responses"] == {}


@pytest.mark.parametrize("client", ["davx5", "with data"])
def test_sync_pages_with_a_limit_like_radicale(server, client):
    login = server.user()
    path = f"/{login}/calendar/"
    with server.client(login) as http:
        fill(http, path, "calendar")
        token, seen, pages = "", set(), 0
        while True:
            ours, radicale = sync_pair(http, path, client, token, limit=4)
            assert ours == radicale
            pages += 1
            truncated = ours["responses"].pop(path, None)
            seen |= set(ours["responses"])
            token = ours["sync-token"]
            if truncated is None:
                break
            assert truncated[0] == "HTTP/1.1 507 Insufficient Storage"
        assert pages == 2 and len(seen) == len(MEMBER_NAMES)


def test_a_bad_sync_token_is_refused_as_before(server, owner):
    login, calendar, _ = owner
    body = SYNC["davx5"].format(token="http://calcard.org/ns/sync/999-1", limit="")
    with server.client(login) as http:
        ours, radicale = (
            ask(http, "REPORT", calendar, body),
            ask(http, "REPORT", calendar, radicale_variant(body)),
        )
    assert ours.status_code == radicale.status_code == 403
    assert "valid-sync-token" in ours.text and ours.text == radicale.text


# --------------------------------------------------------------------------- multiget


def multiget_hrefs(login: str, collection: str, suffix: str) -> list[str]:
    """Members (encoded and not), a missing one, one twice, some outside the
    collection and malformed ones."""
    return [
        member_url(collection, "plain", suffix),
        member_url(collection, "日本 会議", suffix),
        collection + "é ü" + suffix,  # unencoded
        member_url(collection, "a&b <c>", suffix).replace("&", "&amp;").replace("<", "&lt;"),
        member_url(collection, "plain", suffix),  # twice
        member_url(collection, "missing", suffix),
        f"/{login}/calendar/plain.ics",  # another collection of the same owner
        "/someone-else/calendar/x.ics",
        "http://elsewhere.example/" + login + "/x.ics",
        collection + "a/b" + suffix,
        collection + "%00" + suffix,
        collection + "..%2F..%2Fescape" + suffix,
        "   ",
    ]


@pytest.mark.parametrize("client", CALENDAR_MULTIGET)
def test_calendar_multiget_answers_like_radicale(server, owner, client):
    login, calendar, _ = owner
    template, href = CALENDAR_MULTIGET[client]
    hrefs = "".join(href.format(h) for h in multiget_hrefs(login, calendar, ".ics"))
    with server.client(login) as http:
        ours, radicale = both(http, "REPORT", calendar, template.format(hrefs=hrefs))
    assert ours == radicale
    found = {h for h, (status, _, _) in ours["responses"].items() if status is None}
    assert found == {
        member_url(calendar, n, ".ics") for n in ("plain", "日本 会議", "é ü", "a&b <c>")
    }
    assert ours["responses"][member_url(calendar, "missing", ".ics")][0] == "HTTP/1.1 404 Not Found"
    assert ours["responses"][f"/{login}/calendar/plain.ics"][0] == "HTTP/1.1 404 Not Found"


@pytest.mark.parametrize("client", ADDRESSBOOK_MULTIGET)
def test_addressbook_multiget_answers_like_radicale(server, owner, client):
    login, _, book = owner
    template, href = ADDRESSBOOK_MULTIGET[client]
    hrefs = "".join(href.format(h) for h in multiget_hrefs(login, book, ".vcf"))
    with server.client(login) as http:
        ours, radicale = both(http, "REPORT", book, template.format(hrefs=hrefs))
    assert ours == radicale
    found = {h for h, (status, _, _) in ours["responses"].items() if status is None}
    assert len(found) == 4


def test_a_multiget_of_the_wrong_kind_or_naming_the_collection_is_radicales(server, owner):
    login, calendar, book = owner
    template, href = CALENDAR_MULTIGET["thunderbird"]
    with server.client(login) as http:
        wrong = ask(http, "REPORT", book, template.format(hrefs=href.format(book + "x.vcf")))
        itself = ask(http, "REPORT", calendar, template.format(hrefs=href.format(calendar)))
    assert wrong.status_code == 403 and "supported-report" in wrong.text
    assert itself.status_code == 207
    assert len(normalized(itself.text)["responses"]) == len(MEMBER_NAMES)


# --------------------------------------------------------------------------- who may ask


def shapes(path: str) -> list[tuple[str, str]]:
    template, href = CALENDAR_MULTIGET["davx5"]
    return [
        ("PROPFIND", PROPFIND["davx5 calendar"]),
        ("REPORT", SYNC["davx5"].format(token="", limit="")),
        ("REPORT", template.format(hrefs=href.format(path + "plain.ics"))),
    ]


@pytest.mark.parametrize("access", ["read", "read-write"])
def test_a_sharee_is_answered_under_his_alias(server, access):
    owner = server.user()
    reader = server.user(org=f"org-{owner}")
    with server.client(owner) as http:
        fill(http, f"/{owner}/calendar/", "calendar")
    share(server, owner, "user", reader, access)
    alias = f"/{reader}/shared-{owner}-calendar/"
    with server.client(reader) as http:
        for method, body in shapes(alias):
            ours, radicale = both(http, method, alias, body)
            assert ours == radicale
            assert ours["responses"] and all(h.startswith(alias) for h in ours["responses"])
        if access == "read":  # still read-only
            put = http.put(alias + "new.ics", content=vevent("n", "x").encode(), headers=ICS)
            assert put.status_code == 403


def test_strangers_removed_users_and_app_passwords(server):
    owner = server.user()
    path = f"/{owner}/calendar/"
    with server.client(owner) as http:
        fill(http, path, "calendar")
    stranger = server.user()
    gone = server.user(org=f"org-{owner}")
    share(server, owner, "user", gone)
    with server.backend.db.transaction(write=True, owners=[gone]) as s:
        accounts.remove_user(s, gone, f"org-{owner}", actor=gone)
    app = new_app_password(server, owner)
    for login, password, expected in [
        (stranger, None, {403, 404}),
        (gone, None, {401}),
        (owner, app["password"], {207}),
    ]:
        client = server.client(login, password) if password else server.client(login)
        with client as http:
            for target in (path, f"/{gone}/shared-{owner}-calendar/"):
                for method, body in shapes(target):
                    ours = ask(http, method, target, body)
                    radicale = ask(http, method, target, radicale_variant(body))
                    assert ours.status_code == radicale.status_code, (login, method, target)
                    if target == path:
                        assert ours.status_code in expected, (login, method, ours.text)
                    if ours.status_code == 207:
                        assert normalized(ours.text) == normalized(radicale.text)
    with server.client(owner) as http:
        assert ask(http, "PROPFIND", path, PROPFIND["apple"]).status_code == 207


def test_propfind_and_sync_answers_are_radicales_byte_for_byte(server, owner):
    """Where Radicale's order is fixed (members by href, changes by revision) the
    bytes are the same too, namespace declarations included (a multiget's order
    follows a Python set in Radicale: compared as trees above)."""
    login, calendar, book = owner
    with server.client(login) as http:
        for path in (calendar, book):
            for body in PROPFIND.values():
                ours = ask(http, "PROPFIND", path, body).content
                assert ours == ask(http, "PROPFIND", path, radicale_variant(body)).content
            for template in SYNC.values():
                body = template.format(token="", limit="")
                ours = ask(http, "REPORT", path, body).content
                assert ours == ask(http, "REPORT", path, radicale_variant(body)).content
