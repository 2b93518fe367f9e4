"""The web UI's contacts API: create, search, edit and delete cards, seen over CardDAV."""

from __future__ import annotations

import vobject

from helpers import api_import

PROPFIND = """<?xml version="1.0"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>"""

APPLE_CARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:apple-ann\r\nN:Keller;Ann;;;\r\nFN:Ann Keller\r\n"
    "item1.EMAIL;type=INTERNET:ann@keller.example\r\nitem1.X-ABLabel:_$!<Other>!$_\r\n"
    "TEL;type=CELL:+41 79 555 01 02\r\nPHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRg==\r\n"
    "X-SOCIALPROFILE;type=twitter:https://twitter.com/ann\r\nNOTE:Old note\r\nEND:VCARD\r\n"
)

ZOE = {
    "given": "Zoé",
    "family": "Brunner",
    "emails": [
        {"type": "work", "value": "zoe@brunner-ag.example"},
        {"type": "home", "value": "zoe.b@mail.example"},
    ],
    "phones": [{"type": "cell", "value": "+41 79 123 45 67"}, {"type": "work", "value": "044 1"}],
    "org": "Brunner AG",
    "title": "CTO",
    "address": {"street": "Bahnhofstr. 1", "city": "Zürich", "postal": "8001", "country": "CH"},
    "birthday": "1984-02-29",
    "note": "Likes tea;\nno meetings on Fridays, please",
}


def names(http, book: str, **params: str) -> list[str]:
    answer = http.get("/api/contacts", params={"addressbook": book, **params})
    assert answer.status_code == 200, answer.text
    return [c["name"] for c in answer.json()["contacts"]]


def test_create_search_edit_delete_and_carddav_sees_each_step(server):
    login = server.user()
    book = f"/{login}/contacts/"
    with server.client(login) as http:
        books = http.get("/api/addressbooks").json()["addressbooks"]
        assert books == [{"path": book, "name": "Contacts", "owner": login, "writable": True}]

        created = http.post("/api/contact", json={"addressbook": book, **ZOE})
        assert created.status_code == 201, created.text
        zoe = created.json()
        assert zoe["name"] == "Zoé Brunner" and zoe["birthday"] == "1984-02-29"

        listing = http.request("PROPFIND", book, content=PROPFIND, headers={"Depth": "1"})
        assert listing.status_code == 207 and zoe["href"] in listing.text
        dav = http.get(book + zoe["href"])
        assert dav.status_code == 200 and dav.headers["etag"] == zoe["etag"]
        card = vobject.readOne(dav.text)
        assert card.version.value == "3.0" and card.fn.value == "Zoé Brunner"
        assert card.n.value.given == "Zoé" and card.n.value.family == "Brunner"
        assert [(e.value, e.params["TYPE"]) for e in card.contents["email"]] == [
            ("zoe@brunner-ag.example", ["WORK"]),
            ("zoe.b@mail.example", ["HOME"]),
        ]
        assert card.tel.params["TYPE"] == ["CELL"] and card.org.value == ["Brunner AG"]
        assert card.adr.value.city == "Zürich" and card.adr.value.code == "8001"
        assert card.bday.value == "1984-02-29"
        assert card.note.value == "Likes tea;\nno meetings on Fridays, please"

        api_import(http, "contacts4.vcf")  # Dora Frei and the group Team, over the importer
        assert names(http, book) == ["Dora Frei", "Zoé Brunner"]
        for query in ("brun", "BRUNNER-AG.example", "0791234567", "79 123", "cto", "zoé"):
            assert names(http, book, q=query) == ["Zoé Brunner"], query
        assert names(http, book, q="nobody") == []
        assert names(http, book, q="example") == ["Dora Frei", "Zoé Brunner"]

        changed = {**ZOE, "phones": [{"type": "home", "value": "+41 44 000 00 00"}]}
        stale = http.put(
            "/api/contact",
            json={"addressbook": book, "uid": zoe["uid"], "etag": "old", **changed},
        )
        assert stale.status_code == 409 and "changed meanwhile" in stale.json()["error"]
        edited = http.put(
            "/api/contact",
            json={"addressbook": book, "uid": zoe["uid"], "etag": zoe["etag"], **changed},
        )
        assert edited.status_code == 200, edited.text
        assert edited.json()["phones"] == [{"type": "home", "value": "+41 44 000 00 00"}]
        card = vobject.readOne(http.get(book + zoe["href"]).text)
        assert [t.value for t in card.contents["tel"]] == ["+41 44 000 00 00"]
        assert len(card.contents["email"]) == 2

        gone = http.delete("/api/contact", params={"addressbook": book, "uid": zoe["uid"]})
        assert gone.status_code == 200, gone.text
        assert http.get(book + zoe["href"]).status_code == 404
        trash = http.get("/api/trash").json()["trash"]
        assert [t["uid"] for t in trash] == [zoe["uid"]]
        again = http.get("/api/contact", params={"addressbook": book, "uid": zoe["uid"]})
        assert again.status_code == 404


def test_an_edit_changes_only_what_the_form_changed(server):
    login = server.user()
    book = f"/{login}/contacts/"
    with server.client(login) as http:
        put = http.put(book + "apple-ann.vcf", content=APPLE_CARD.encode())
        assert put.status_code == 201
        shown = http.get("/api/contact", params={"addressbook": book, "uid": "apple-ann"}).json()
        assert shown["emails"] == [{"type": "other", "value": "ann@keller.example"}]
        assert shown["phones"] == [{"type": "cell", "value": "+41 79 555 01 02"}]
        form = {k: shown[k] for k in ("name", "given", "family", "emails", "phones", "org")}
        edited = http.put(
            "/api/contact",
            json={"addressbook": book, "uid": "apple-ann", **form, "note": "New note"},
        )
        assert edited.status_code == 200, edited.text
        text = http.get(book + "apple-ann.vcf").text
        for kept in ("item1.EMAIL", "item1.X-ABLabel", "PHOTO", "X-SOCIALPROFILE", "TEL;TYPE=CELL"):
            assert kept.lower() in text.lower(), kept
        assert "New note" in text and "Old note" not in text

        year_less = http.put(
            "/api/contact",
            json={"addressbook": book, "uid": "apple-ann", "birthday": "--04-12", "emails": []},
        )
        assert year_less.status_code == 200, year_less.text
        card = vobject.readOne(http.get(book + "apple-ann.vcf").text)
        assert card.bday.value == "1604-04-12" and "email" not in card.contents
        assert "X-ABLabel".lower() not in card.serialize().lower()  # its label went with it
        assert card.fn.value == "Ann Keller" and "photo" in card.contents
        birthdays = http.get("/api/birthdays", params={"start": "2030-04-01", "end": "2030-04-30"})
        assert [(b["name"], b["age"]) for b in birthdays.json()["birthdays"]] == [
            ("Ann Keller", None)
        ]


def test_groups_filter_the_list_and_show_on_the_contact(server):
    login = server.user()
    book = f"/{login}/contacts/"
    with server.client(login) as http:
        uids = {}
        for given in ("Ann", "Ben", "Cleo"):
            made = http.post("/api/contact", json={"addressbook": book, "given": given})
            uids[given] = made.json()["uid"]
        group = http.post("/api/contacts/groups", json={"addressbook": book, "name": "Board"})
        board = group.json()["uid"]
        http.post(
            f"/api/contacts/groups/{board}/members",
            json={"addressbook": book, "add": [uids["Ann"], uids["Cleo"]]},
        )
        assert names(http, book) == ["Ann", "Ben", "Cleo"]  # the group card is no person
        assert names(http, book, group=board) == ["Ann", "Cleo"]
        assert names(http, book, group=board, q="cle") == ["Cleo"]
        ann = http.get("/api/contact", params={"addressbook": book, "uid": uids["Ann"]}).json()
        assert ann["groups"] == [board]
        as_group = http.get("/api/contact", params={"addressbook": book, "uid": board})
        assert as_group.status_code == 404 and "is a group" in as_group.json()["error"]


def test_bad_input_is_refused_with_a_reason_and_others_books_are_not_found(server):
    login, other = server.user(), server.user()
    book = f"/{login}/contacts/"
    with server.client(login) as http:
        cases = [
            ({}, "needs a name"),
            ({"emails": [{"type": "work", "value": "not an address"}]}, "not an e-mail"),
            ({"given": "A", "emails": [{"type": "fax", "value": "a@b.c"}]}, "must be one of"),
            ({"given": "A", "phones": [{"type": "cell", "value": "call me"}]}, "not a phone"),
            ({"given": "A", "birthday": "2026-02-30"}, "not a day of the year"),
            ({"given": "A", "birthday": "12.04.1985"}, "YYYY-MM-DD"),
            ({"given": "A\r\nEND:VCARD"}, "control characters"),
            ({"given": "A", "emails": [{"value": f"{n}@x.ch"} for n in range(51)]}, "at most"),
            ({"given": "A", "address": "Main Street"}, "address must be an object"),
            ({"given": ["A"]}, "given must be text"),
        ]
        for body, message in cases:
            answer = http.post("/api/contact", json={"addressbook": book, **body})
            assert answer.status_code == 400, (body, answer.text)
            assert message in answer.json()["error"], (body, answer.text)
        assert names(http, book) == []

        injected = http.post(
            "/api/contact",
            json={"addressbook": book, "given": "Eve", "note": "x\nEND:VCARD\nBEGIN:VCARD\nFN:Y"},
        )
        assert injected.status_code == 201
        text = http.get(book + injected.json()["href"]).text
        assert text.splitlines().count("BEGIN:VCARD") == 1 and names(http, book) == ["Eve"]

        foreign = f"/{other}/contacts/"
        for answer in (
            http.get("/api/contacts", params={"addressbook": foreign}),
            http.post("/api/contact", json={"addressbook": foreign, "given": "X"}),
            http.delete("/api/contact", params={"addressbook": foreign, "uid": "x"}),
        ):
            assert answer.status_code == 404, answer.text
