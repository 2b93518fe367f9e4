"""GET of a whole calendar or address book (issue 16): streamed, with Radicale's bytes.

The old body is Radicale's own ``BaseCollection.serialize`` over the storage plugin,
what every GET of a collection answered before calcard streamed it.
"""

from __future__ import annotations

import httpx
from radicale.storage import BaseCollection

from calcard import sharing, store
from calcard.transfer import importexport
from calcard_radicale import runtime, storage

from helpers import many_events, share

CUSTOM = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VTIMEZONE\r\nTZID:Bench Zone\r\n"
    "BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\n"
    "END:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;TZID={tz}:20270105T100000\r\nDURATION:PT1H\r\nSUMMARY:{uid}\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)
CARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card-{n}\r\nFN:Person {n}\r\nN:{n};P;;;\r\nEND:VCARD\r\n"


def old_body(db, path: str, shared=None) -> str:
    """What Radicale's GET of the collection answered: its serialize over get_all."""
    runtime.use(db)
    with db.transaction() as s:
        data = store.get_collection(s, path)
    return BaseCollection.serialize(storage.Collection(data, shared))  # type: ignore[arg-type]


def fill(server, login: str) -> None:
    """Many events (Europe/Zurich and New York VTIMEZONEs repeated, a custom zone) and cards."""
    feed = many_events(900).replace("DTSTART:2027", "DTSTART;TZID=Europe/Zurich:2027", 300)
    feed = feed.replace("T090000Z", "T090000", 300)
    db = server.backend.db
    importexport.import_lines(db, login, ".ics", feed.splitlines(keepends=True))
    with server.client(login) as http:
        for n, tz in enumerate(("Bench Zone", "America/New_York", "Bench Zone")):
            body = CUSTOM.format(uid=f"zone-{n}", tz=tz)
            assert http.put(f"/{login}/calendar/zone-{n}.ics", content=body).status_code == 201
    cards = "".join(CARD.format(n=n) for n in range(400))
    importexport.import_lines(db, login, ".vcf", cards.splitlines(keepends=True))


def test_get_of_a_big_collection_streams_the_old_body(server):
    login = server.user()
    fill(server, login)
    db = server.backend.db
    with server.client(login) as http:
        for path, media in (
            (f"{login}/calendar", "text/calendar"),
            (f"{login}/contacts", "text/vcard"),
        ):
            before = old_body(db, path)
            with db.transaction() as s:
                etag = storage.Collection(store.get_collection(s, path)).etag  # type: ignore[arg-type]
            got = http.get(f"/{path}/")
            assert got.status_code == 200
            assert got.text == before  # order and content, byte for byte
            assert got.headers["content-type"] == f"{media}; charset=utf-8"
            assert got.headers["etag"] == etag
            assert "attachment; filename*=utf-8''" in got.headers["content-disposition"]
            assert got.headers.get("transfer-encoding") == "chunked"  # streamed
            assert "content-length" not in got.headers
            packed = http.get(f"/{path}/", headers={"Accept-Encoding": "gzip"})
            assert packed.headers["content-encoding"] == "gzip" and packed.text == before
            head = http.head(f"/{path}/")
            assert head.status_code == 200 and head.content == b""
            assert head.headers["etag"] == etag
            assert head.headers["content-type"] == got.headers["content-type"]
    assert before.count("BEGIN:VCARD") == 400
    calendar = old_body(db, f"{login}/calendar")
    assert calendar.count("BEGIN:VEVENT") == 901  # two broken entries skipped, three PUT
    assert calendar.count("TZID:Bench Zone") == 1 and calendar.count("TZID:Europe/Zurich") == 1


def test_a_sharee_gets_the_alias_and_a_stranger_what_he_got_before(server):
    owner, sharee, stranger = server.user(), server.user(), server.user()
    fill(server, owner)
    share(server, owner, "user", sharee)
    db = server.backend.db
    with db.transaction() as s:
        shared = next(
            a for a in sharing.shared_with(s, sharee) if a.collection.path == f"{owner}/calendar"
        )
    with server.client(sharee) as http:
        got = http.get(f"/{shared.alias}/")
        assert got.status_code == 200 and got.headers.get("transfer-encoding") == "chunked"
        assert got.text == old_body(db, f"{owner}/calendar", shared)
    with server.client(stranger) as http:
        for method in ("GET", "HEAD"):
            refused = http.request(method, f"/{owner}/calendar/")
            assert refused.status_code == 403
            assert "BEGIN:VEVENT" not in refused.text
            assert refused.headers.get("transfer-encoding") != "chunked"
        assert http.get(f"/{shared.alias}/").status_code in (403, 404)
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        assert anonymous.get(f"/{owner}/calendar/").status_code == 401
