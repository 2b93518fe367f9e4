"""sync-collection with DAV:limit (RFC 6578 §3.6, §3.7) on calendars and address books.

A client pages through the changes with each page's token; items change and go
between pages. Every change must be reported once, none lost, and the client's
copy must end equal to the server's (SQLite and PostgreSQL).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

from calcard import store
from calcard.store import ItemData, ical

from conftest import report

DAV = "{DAV:}"
# RFC 6578 §6.4's request (initial sync with a limit), on one of our collections.
RFC_LIMITED = """<?xml version="1.0" encoding="utf-8" ?>
<D:sync-collection xmlns:D="DAV:">
  <D:sync-token/>
  <D:sync-level>1</D:sync-level>
  <D:limit>
    <D:nresults>{nresults}</D:nresults>
  </D:limit>
  <D:prop>
    <D:getetag/>
  </D:prop>
</D:sync-collection>"""
LIMITED = """<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:">
<D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>{limit}
<D:prop><D:getetag/></D:prop></D:sync-collection>"""
KINDS = {
    "contacts": ("contacts", ".vcf", "text/vcard"),
    "calendar": ("calendar", ".ics", "text/calendar"),
}


def text(kind: str, uid: str, version: int) -> str:
    if kind == "contacts":
        return f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{uid} v{version}\r\nEND:VCARD\r\n"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calcard tests//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20270105T{9 + version % 8:02}0000Z\r\n"
        f"DURATION:PT1H\r\nSUMMARY:{uid} v{version}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def seed(server, login: str, kind: str, count: int, version: int = 0) -> None:
    """``count`` items written straight into the store (what 250 PUTs would do, faster)."""
    name, suffix, _ = KINDS[kind]
    with server.backend.db.transaction(write=True, owners=[login]) as s:
        collection = store.get_collection(s, f"{login}/{name}")
        for i in range(count):
            uid = f"item-{i:03}"
            data = text(kind, uid, version)
            entry = ical.vcard_entry(i, data) if kind == "contacts" else None
            item = (
                ItemData.from_entry(uid + suffix, entry)
                if isinstance(entry, ical.Entry)
                else ItemData.from_text(uid + suffix, data)
            )
            store.put_item(s, collection, item)


class Client:
    """A syncing client's copy of one collection: href -> etag."""

    def __init__(self, http, path: str) -> None:
        self.http, self.path = http, path
        self.copy: dict[str, str] = {}
        self.reported: list[tuple[str, str | None]] = []

    def page(self, token: str, limit: int | None) -> tuple[str, bool, int]:
        """One report: (new token, whether it was truncated, members in it)."""
        nresults = f"<D:limit><D:nresults>{limit}</D:nresults></D:limit>" if limit else ""
        response = report(self.http, self.path, LIMITED.format(token=token, limit=nresults))
        assert response.status_code == 207, response.text
        root = ET.fromstring(response.content)
        truncated, members = False, 0
        for answer in root.iter(f"{DAV}response"):
            href = answer.findtext(f"{DAV}href")
            status = answer.findtext(f"{DAV}status") or ""
            if href.rstrip("/") == self.path.rstrip("/"):
                assert "507" in status
                assert answer.find(f"{DAV}error/{DAV}number-of-matches-within-limits") is not None
                truncated = True
                continue
            members += 1
            name = href.rsplit("/", 1)[1]
            etag = None if "404" in status else answer.findtext(f".//{DAV}getetag")
            self.reported.append((name, etag))
            if etag is None:
                self.copy.pop(name, None)
            else:
                self.copy[name] = etag
        return root.findtext(f"{DAV}sync-token"), truncated, members

    def page_through(self, token: str, limit: int, between) -> tuple[str, int]:
        """Follow truncated pages to the end, calling ``between(page)`` after each."""
        pages = 0
        while True:
            token, truncated, members = self.page(token, limit)
            assert members <= limit
            pages += 1
            if not truncated:
                return token, pages
            assert members == limit
            between(pages)


def server_state(http, path: str) -> dict[str, str]:
    listing = http.request("PROPFIND", path, headers={"Depth": "1"}, content=b"")
    root = ET.fromstring(listing.content)
    return {
        answer.findtext(f"{DAV}href").rsplit("/", 1)[1]: answer.findtext(f".//{DAV}getetag")
        for answer in root.iter(f"{DAV}response")
        if not answer.findtext(f"{DAV}href").endswith("/")
    }


def churn(http, path: str, kind: str, page: int) -> None:
    """Between pages: change an item likely seen and one likely not, delete two, add one."""
    _, suffix, mime = KINDS[kind]
    for i, version in ((page * 10, 100 + page), (240 - page * 10, 100 + page)):
        uid = f"item-{i:03}"
        put = http.put(
            f"{path}{uid}{suffix}",
            content=text(kind, uid, version).encode(),
            headers={"Content-Type": mime},
        )
        assert put.status_code in (201, 204), put.text
    for i in (page * 10 + 1, 239 - page * 10):
        assert http.delete(f"{path}item-{i:03}{suffix}").status_code in (200, 204, 404)
    uid = f"new-{page}"
    put = http.put(
        f"{path}{uid}{suffix}", content=text(kind, uid, 0).encode(), headers={"Content-Type": mime}
    )
    assert put.status_code == 201, put.text


def assert_exact(client: Client, http, path: str) -> None:
    """The copy is the server's, and no (href, etag) was reported twice."""
    assert client.copy == server_state(http, path)
    assert len(client.reported) == len(set(client.reported)), "a change came twice"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_initial_sync_pages_through_250_items_with_changes_between_pages(server, kind):
    login = server.user()
    path = f"/{login}/{KINDS[kind][0]}/"
    seed(server, login, kind, 250)
    with server.client(login) as http:
        client = Client(http, path)
        token, pages = client.page_through("", 100, lambda page: churn(http, path, kind, page))
        assert pages >= 3
        assert_exact(client, http, path)
        _, truncated, members = client.page(token, None)  # nothing left behind
        assert (truncated, members) == (False, 0)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_incremental_sync_pages_through_250_changes_with_changes_between_pages(server, kind):
    login = server.user()
    path = f"/{login}/{KINDS[kind][0]}/"
    _, suffix, mime = KINDS[kind]
    seed(server, login, kind, 250)
    with server.client(login) as http:
        client = Client(http, path)
        token, _, _ = client.page("", None)
        seed(server, login, kind, 200, version=1)  # 200 changed
        for i in range(200, 250):  # 50 removed
            assert http.delete(f"{path}item-{i:03}{suffix}").status_code in (200, 204)
        token, pages = client.page_through(token, 100, lambda page: churn(http, path, kind, page))
        assert pages >= 3
        assert_exact(client, http, path)
        put = http.put(
            f"{path}item-000{suffix}",
            content=text(kind, "item-000", 99).encode(),
            headers={"Content-Type": mime},
        )
        assert put.status_code == 204
        _, truncated, members = client.page(token, 100)
        assert (truncated, members) == (False, 1)


def test_rfc_example_request_with_a_limit_is_truncated_with_507(server):
    """RFC 6578 §6.4's request: one member, then the 507 response for the request-URI."""
    login = server.user()
    seed(server, login, "contacts", 3)
    with server.client(login) as http:
        response = report(http, f"/{login}/contacts/", RFC_LIMITED.format(nresults=1))
        assert response.status_code == 207
        root = ET.fromstring(response.content)
        answers = root.findall(f"{DAV}response")
        assert len(answers) == 2
        assert answers[0].findtext(f"{DAV}href").endswith(".vcf")
        assert answers[1].findtext(f"{DAV}href") == f"/{login}/contacts/"
        assert answers[1].findtext(f"{DAV}status") == "HTTP/1.1 507 Insufficient Storage"
        assert answers[1].find(f"{DAV}error/{DAV}number-of-matches-within-limits") is not None
        token = root.findtext(f"{DAV}sync-token")
        rest = report(http, f"/{login}/contacts/", LIMITED.format(token=token, limit=""))
        assert rest.text.count(".vcf</href>") == 2


def test_a_limit_of_zero_is_refused_as_rfc_6578_section_3_7_says(server):
    login = server.user()
    with server.client(login) as http:
        response = report(http, f"/{login}/contacts/", RFC_LIMITED.format(nresults=0))
        assert response.status_code == 507
        assert "number-of-matches-within-limits" in response.text


@pytest.mark.parametrize(
    "limit",
    [
        "<D:limit><D:nresults>-5</D:nresults></D:limit>",
        "<D:limit><D:nresults>ten</D:nresults></D:limit>",
        "<D:limit><D:nresults>1.5</D:nresults></D:limit>",
        "<D:limit><D:nresults></D:nresults></D:limit>",
        "<D:limit/>",
        "<D:limit><D:nresults>1</D:nresults><D:nresults>2</D:nresults></D:limit>",
        "<D:limit><D:other>1</D:other></D:limit>",
        "<D:limit><D:nresults>\u0661</D:nresults></D:limit>",  # an Arabic-Indic one
    ],
)
def test_a_malformed_limit_is_a_400(server, limit):
    login = server.user()
    with server.client(login) as http:
        response = report(http, f"/{login}/contacts/", LIMITED.format(token="", limit=limit))
        assert response.status_code == 400, response.text


def test_an_absurdly_large_limit_is_honoured_and_answers_everything(server):
    login = server.user()
    seed(server, login, "contacts", 3)
    limit = "<D:limit><D:nresults>" + "9" * 5000 + "</D:nresults></D:limit>"
    with server.client(login) as http:
        response = report(http, f"/{login}/contacts/", LIMITED.format(token="", limit=limit))
        assert response.status_code == 207
        assert response.text.count(".vcf</href>") == 3 and "507" not in response.text


@pytest.mark.parametrize(
    "forged",
    [
        "{id}-{rev}-",
        "{id}-{rev}-a%2",
        "{id}-{rev}-%61",
        "{id}-+{rev}-a",
        "{id}-0{rev}-a",
        "{id}-{later}-a",
        "{other}-{rev}-a",
        "{id}- {rev}",
        "{id}-{rev}-a%00b",  # a NUL, which PostgreSQL refuses in a query
        "{id}-{rev}-a%0Ab",
    ],
)
def test_a_forged_continuation_token_is_refused_with_valid_sync_token(server, forged):
    login = server.user()
    seed(server, login, "contacts", 3)
    with server.client(login) as http:
        first = report(http, f"/{login}/contacts/", RFC_LIMITED.format(nresults=1))
        token = ET.fromstring(first.content).findtext(f"{DAV}sync-token")
        prefix, position = token.rsplit("/", 1)
        collection_id, revision, _ = position.split("-", 2)
        full = report(http, f"/{login}/contacts/", LIMITED.format(token="", limit=""))
        current = ET.fromstring(full.content).findtext(f"{DAV}sync-token").rsplit("-", 1)[1]
        bad = (
            prefix
            + "/"
            + forged.format(
                id=collection_id,
                rev=revision,
                later=int(current) + 1,
                other=int(collection_id) + 1,
            )
        )
        response = report(http, f"/{login}/contacts/", LIMITED.format(token=bad, limit=""))
        assert response.status_code == 403, response.text
        assert "valid-sync-token" in response.text


def test_strangers_and_anonymous_page_through_nothing(server):
    owner, stranger = server.user(), server.user()
    seed(server, owner, "contacts", 3)
    body = RFC_LIMITED.format(nresults=1)
    with server.client(stranger) as http:
        response = report(http, f"/{owner}/contacts/", body)
        assert response.status_code in (403, 404)
        assert "item-" not in response.text
        zero = report(http, f"/{owner}/contacts/", RFC_LIMITED.format(nresults=0))
        assert zero.status_code in (403, 404, 507) and "item-" not in zero.text
    with server.client(owner) as http:  # the owner's continuation token, on the stranger's book
        token = ET.fromstring(report(http, f"/{owner}/contacts/", body).content).findtext(
            f"{DAV}sync-token"
        )
    with server.client(stranger) as http:
        response = report(http, f"/{stranger}/contacts/", LIMITED.format(token=token, limit=""))
        assert response.status_code == 403 and "valid-sync-token" in response.text
    anonymous = report(httpx.Client(base_url=server.url), f"/{owner}/contacts/", body)
    assert anonymous.status_code == 401
