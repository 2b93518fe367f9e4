"""Contact groups (vCard 4 and Apple), copy/move, duplicates, merge and undo, over the API."""

from __future__ import annotations

import vobject

from calcard import store

from helpers import api_import, set_language

ALICE_TWO = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:alice-two\r\nN:Martin;Ally;;;\r\nFN:Ally Martin\r\n"
    "item1.EMAIL;type=INTERNET:ALICE@acme.example\r\nitem1.X-ABLabel:_$!<Home>!$_\r\n"
    "EMAIL;type=INTERNET:ally@private.example\r\nTEL;type=CELL:079 123 45 67\r\n"
    "BDAY:1985-04-13\r\nNOTE:Met at the fair\r\nEND:VCARD\r\n"
)


def book(server, login: str, name: str) -> str:
    with server.backend.db.transaction(write=True, owners=[login]) as s:
        store.create_collection(s, f"{login}/{name}", {"tag": "VADDRESSBOOK"})
    return f"/{login}/{name}/"


def test_groups_of_both_styles_are_listed_and_edited(server):
    login = server.user()
    contacts = f"/{login}/contacts/"
    with server.client(login) as http:
        api_import(http, "apple.vcf")
        api_import(http, "contacts4.vcf")
        listed = http.get("/api/contacts/groups", params={"addressbook": contacts}).json()
        groups = {g["name"]: g for g in listed["groups"]}
        assert groups["Friends"]["style"] == "apple"
        assert groups["Friends"]["members"] == [
            {"value": "urn:uuid:1C0B3E0A-ALICE", "uid": "1C0B3E0A-ALICE", "name": "Alice Martin"}
        ]
        assert groups["Team"]["style"] == "vcard4"
        assert [m["name"] for m in groups["Team"]["members"]] == ["Dora Frei"]

        changed = http.post(
            "/api/contacts/groups/3E2D5A2C-FRIENDS/members",
            json={"addressbook": contacts, "add": ["2D1C4F1B-BOB"], "remove": ["1C0B3E0A-ALICE"]},
        )
        assert changed.status_code == 200, changed.text
        assert [m["uid"] for m in changed.json()["members"]] == ["2D1C4F1B-BOB"]
        card = http.get(contacts + "3E2D5A2C-FRIENDS.vcf").text
        assert "X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:2D1C4F1B-BOB" in card
        assert "1C0B3E0A-ALICE" not in card

        created = http.post("/api/contacts/groups", json={"addressbook": contacts, "name": "Board"})
        assert created.status_code == 201, created.text
        uid = created.json()["uid"]
        added = http.post(
            f"/api/contacts/groups/{uid}/members",
            json={"addressbook": contacts, "add": ["urn-dora"]},
        )
        assert added.json()["members"][0]["name"] == "Dora Frei"
        board = http.get(contacts + f"{uid}.vcf").text
        assert "KIND:group" in board and "MEMBER:urn:uuid:urn-dora" in board
        missing = http.post(
            f"/api/contacts/groups/{uid}/members", json={"addressbook": contacts, "add": ["nobody"]}
        )
        assert missing.status_code == 404


def test_copy_and_move_between_address_books(server):
    login = server.user()
    contacts, work = f"/{login}/contacts/", book(server, login, "work")
    with server.client(login) as http:
        api_import(http, "apple.vcf")
        copied = http.post(
            "/api/contacts/transfer",
            json={"from": contacts, "to": work, "uids": ["1C0B3E0A-ALICE", "nope"]},
        )
        assert copied.json()["done"] == ["1C0B3E0A-ALICE"]
        assert "nope" in copied.json()["skipped"][0]
        assert http.get(contacts + "1C0B3E0A-ALICE.vcf").status_code == 200
        assert "FN:Alice Martin" in http.get(work + "1C0B3E0A-ALICE.vcf").text

        moved = http.post(
            "/api/contacts/transfer",
            json={
                "from": contacts,
                "to": work,
                "uids": ["2D1C4F1B-BOB", "1C0B3E0A-ALICE"],
                "move": True,
            },
        )
        assert moved.json()["done"] == ["2D1C4F1B-BOB"]
        assert "already in" in moved.json()["skipped"][0]
        assert http.get(contacts + "2D1C4F1B-BOB.vcf").status_code == 404
        assert http.get(work + "2D1C4F1B-BOB.vcf").status_code == 200


def test_a_copy_or_moves_skipped_uids_are_said_in_the_callers_language(server):
    german, french = server.user(), server.user()
    set_language(server, german, "de")
    for login, header, missing, there in (  # the German user's setting beats the browser's
        (german, "en", "kein Kontakt 'nope' in /{src}/", "der Kontakt {uid!r} ist bereits in"),
        (french, "fr-CH", "aucun contact 'nope' dans /{src}/", "le contact {uid!r} est déjà dans"),
        (french, "ja", "no contact 'nope' in /{src}/", "the contact {uid!r} is already in"),
    ):
        contacts, work = f"{login}/contacts", book(server, login, f"work-{header}").strip("/")
        with server.client(login) as http:
            api_import(http, "apple.vcf")
            body = {"from": f"/{contacts}/", "to": f"/{work}/", "uids": ["2D1C4F1B-BOB"]}
            assert http.post("/api/contacts/transfer", json=body).json()["done"] == ["2D1C4F1B-BOB"]
            again = {**body, "uids": ["nope", "2D1C4F1B-BOB"], "move": True}
            answer = http.post(
                "/api/contacts/transfer", json=again, headers={"Accept-Language": header}
            )
            assert answer.status_code == 200, answer.text
            assert answer.json() == {
                "done": [],
                "skipped": [
                    missing.format(src=contacts),
                    f"{there.format(uid='2D1C4F1B-BOB')} /{work}/",
                ],
            }
            assert http.get(f"/{contacts}/2D1C4F1B-BOB.vcf").status_code == 200  # not moved


def stored(server, path: str) -> dict[str, tuple[str, str]]:
    """href -> (UID, text) of what an address book holds."""
    with server.backend.db.transaction() as s:
        collection = store.get_collection(s, path.strip("/"))
        assert collection is not None
        return {i.href: (i.uid, i.text) for i in store.all_items(s, collection.id)}


def test_nobody_of_another_organization_copies_or_moves_from_or_into_anothers_book(server):
    victim, attacker = server.user(), server.user()
    set_language(server, attacker, "de")
    victims = f"/{victim}/contacts/"
    with server.client(victim) as http:
        api_import(http, "apple.vcf")
    before = stored(server, victims)
    assert before
    with server.client(attacker) as http:
        api_import(http, "contacts4.vcf")
        own = f"/{attacker}/contacts/"
        for body in (
            {"from": victims, "to": own, "uids": ["1C0B3E0A-ALICE"], "move": True},
            {"from": victims, "to": own, "uids": ["1C0B3E0A-ALICE"]},
            {"from": own, "to": victims, "uids": ["urn-dora"]},
            {"from": own, "to": victims, "uids": ["urn-dora"], "move": True},
        ):
            refused = http.post("/api/contacts/transfer", json=body)
            assert refused.status_code == 404, refused.text
            assert refused.json() == {"error": f"kein Adressbuch unter {victims!r}"}
        assert http.get(own + "urn-dora.vcf").status_code == 200  # nothing moved out either
        assert http.get(own + "1C0B3E0A-ALICE.vcf").status_code == 404
    assert stored(server, victims) == before


def test_duplicates_merge_keeps_every_value_and_undo_restores_the_originals(server):
    login = server.user()
    contacts = f"/{login}/contacts/"
    with server.client(login) as http:
        api_import(http, "apple.vcf")
        put = http.put(
            contacts + "alice-two.vcf",
            content=ALICE_TWO.encode(),
            headers={"Content-Type": "text/vcard"},
        )
        assert put.status_code == 201
        http.post(
            "/api/contacts/groups/3E2D5A2C-FRIENDS/members",
            json={"addressbook": contacts, "add": ["alice-two"]},
        )
        before = {
            href: http.get(contacts + href).text
            for href in ("1C0B3E0A-ALICE.vcf", "alice-two.vcf", "3E2D5A2C-FRIENDS.vcf")
        }

        found = http.get("/api/contacts/duplicates", params={"addressbook": contacts}).json()
        (pair,) = found["duplicates"]
        assert sorted(pair["uids"]) == ["1C0B3E0A-ALICE", "alice-two"]
        assert pair["score"] > 0.9
        assert "email alice@acme.example" in pair["reasons"]
        assert any(r.startswith("phone") for r in pair["reasons"])

        merged = http.post(
            "/api/contacts/merge",
            json={"addressbook": contacts, "keep": "1C0B3E0A-ALICE", "merge": ["alice-two"]},
        )
        assert merged.status_code == 200, merged.text
        text = http.get(contacts + "1C0B3E0A-ALICE.vcf").text
        card = vobject.readOne(text)
        emails = sorted(e.value.lower() for e in card.contents["email"])
        assert emails == ["alice@acme.example", "ally@private.example"]
        assert len(card.contents["tel"]) == 1  # the same number, written differently
        assert card.fn.value == "Alice Martin" and card.nickname.value == "Ally Martin"
        notes = sorted(n.value for n in card.contents["note"])
        assert notes == ["BDAY of a merged card: 1985-04-13", "Met at the fair"]
        assert "PHOTO" in text and "ITEM1.X-ABLABEL:_$!<WORK>!$_" in text.upper()
        assert http.get(contacts + "alice-two.vcf").status_code == 404
        group = http.get(contacts + "3E2D5A2C-FRIENDS.vcf").text
        assert "alice-two" not in group and group.count("urn:uuid:1C0B3E0A-ALICE") == 1
        again = http.get("/api/contacts/duplicates", params={"addressbook": contacts}).json()
        assert again["duplicates"] == []

        (record,) = http.get("/api/contacts/merges").json()["merges"]
        assert record["merged"] == ["alice-two"]
        assert record["groups_changed"] == ["3E2D5A2C-FRIENDS"]
        undone = http.post(f"/api/contacts/merges/{record['id']}/undo")
        assert undone.status_code == 200, undone.text
        assert undone.json()["undone_at"] is not None
        for href, original in before.items():
            assert http.get(contacts + href).text == original
        assert http.post(f"/api/contacts/merges/{record['id']}/undo").status_code == 409
        trash = http.get("/api/trash").json()["trash"]
        assert not any(e["uid"] == "alice-two" for e in trash)


def test_undo_is_refused_when_the_merged_card_changed_since(server):
    login = server.user()
    contacts = f"/{login}/contacts/"
    with server.client(login) as http:
        api_import(http, "apple.vcf")
        http.put(
            contacts + "alice-two.vcf",
            content=ALICE_TWO.encode(),
            headers={"Content-Type": "text/vcard"},
        )
        merge_id = http.post(
            "/api/contacts/merge",
            json={"addressbook": contacts, "keep": "1C0B3E0A-ALICE", "merge": ["alice-two"]},
        ).json()["merge"]
        edited = http.get(contacts + "1C0B3E0A-ALICE.vcf").text.replace(
            "FN:Alice Martin", "FN:Alice M."
        )
        http.put(
            contacts + "1C0B3E0A-ALICE.vcf",
            content=edited.encode(),
            headers={"Content-Type": "text/vcard"},
        )
        refused = http.post(f"/api/contacts/merges/{merge_id}/undo")
        assert refused.status_code == 409 and "changed since" in refused.json()["error"]
        other = server.user()
        with server.client(other) as stranger:
            assert stranger.post(f"/api/contacts/merges/{merge_id}/undo").status_code == 404
            assert (
                stranger.get("/api/contacts/groups", params={"addressbook": contacts}).status_code
                == 404
            )
