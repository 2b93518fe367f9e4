"""The birthday calendar end to end: contacts over CardDAV, /api/birthdays, never over DAV."""

from __future__ import annotations

import caldav
import pytest

from conftest import PASSWORD, report, sync_report


def card(uid: str, name: str, bday: str = "", extra: str = "") -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"UID:{uid}", f"FN:{name}", f"N:{name};;;;"]
    if bday:
        lines.append(bday)
    if extra:
        lines.append(extra)
    return "\r\n".join([*lines, "END:VCARD", ""])


@pytest.fixture
def contacts(server):
    login = server.user()
    client = caldav.DAVClient(url=server.url, username=login, password=PASSWORD)

    def put(uid: str, *args: str, book: str = "contacts") -> None:
        response = client.put(
            f"{server.url}/{login}/{book}/{uid}.vcf",
            card(uid, *args),
            {"Content-Type": "text/vcard"},
        )
        assert response.status in (201, 204)

    def delete(uid: str) -> None:
        assert client.delete(f"{server.url}/{login}/contacts/{uid}.vcf").status in (200, 204)

    return login, put, delete


def fetch(server, login: str, start: str, end: str, **params) -> list[dict]:
    with server.client(login) as http:
        response = http.get("/api/birthdays", params={"start": start, "end": end, **params})
        assert response.status_code == 200, response.text
        return response.json()["birthdays"]


def test_birthdays_follow_contact_changes(server, contacts):
    login, put, delete = contacts
    put("ann", "Ann", "BDAY:1985-04-12")
    put("bob", "Bob", "BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-20")
    put("leap", "Lea", "BDAY:19920229")
    put("text", "Tex", "BDAY;VALUE=text:sometime in spring")
    put("nobday", "Nob")
    got = fetch(server, login, "2026-04-01", "2026-04-30")
    assert [(b["date"], b["name"], b["age"]) for b in got] == [
        ("2026-04-12", "Ann", 41),
        ("2026-04-20", "Bob", None),
    ]
    assert got[0]["contact_uid"] == "ann"
    assert got[0]["addressbook"] == f"/{login}/contacts/"
    assert fetch(server, login, "2027-02-28", "2027-02-28")[0]["name"] == "Lea"
    assert fetch(server, login, "2028-02-29", "2028-02-29")[0]["age"] == 36

    put("ann", "Ann Changed", "BDAY:1985-04-13")  # edit: moves, no duplicate
    put("ann", "Ann Changed", "BDAY:1985-04-13")  # re-import of the same card
    names = [(b["date"], b["name"]) for b in fetch(server, login, "2026-04-01", "2026-04-30")]
    assert names == [("2026-04-13", "Ann Changed"), ("2026-04-20", "Bob")]
    delete("ann")
    assert [b["name"] for b in fetch(server, login, "2026-04-01", "2026-04-30")] == ["Bob"]


def test_same_uid_in_two_address_books_appears_once_and_books_can_be_turned_off(server, contacts):
    login, put, _ = contacts
    with server.client(login) as http:
        body = """<?xml version="1.0"?><D:mkcol xmlns:D="DAV:"
        xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype>
        <D:collection/><C:addressbook/></D:resourcetype><D:displayname>Work</D:displayname>
        </D:prop></D:set></D:mkcol>"""
        assert http.request("MKCOL", f"/{login}/work/", content=body.encode()).status_code == 201
    put("same", "Sam", "BDAY:--0705")
    put("same", "Sam", "BDAY:--0705", book="work")
    put("colleague", "Col", "BDAY:--0706", book="work")
    assert [b["name"] for b in fetch(server, login, "2026-07-01", "2026-07-31")] == ["Sam", "Col"]

    with server.client(login) as http:
        settings = http.get("/api/birthdays/settings").json()
        assert {a["path"] for a in settings["addressbooks"]} == {
            f"/{login}/contacts/",
            f"/{login}/work/",
        }
        assert settings["reminders"] is True
        changed = http.put(
            "/api/birthdays/settings",
            json={
                "addressbooks": [{"path": f"/{login}/work/", "enabled": False}],
                "reminders": False,
            },
        )
        assert changed.status_code == 200 and changed.json()["reminders"] is False
        bad = http.put("/api/birthdays/settings", json={"addressbooks": [{"path": "/x/y/"}]})
        assert bad.status_code == 400 and "error" in bad.json()
    assert [b["name"] for b in fetch(server, login, "2026-07-01", "2026-07-31")] == ["Sam"]


def test_icalendar_view_and_request_errors(server, contacts):
    login, put, _ = contacts
    put("ann", "Ann", "BDAY:1985-04-12", "ANNIVERSARY:2010-06-12")
    with server.client(login) as http:
        ics = http.get("/api/birthdays.ics", params={"start": "2026-01-01", "end": "2026-12-31"})
        assert ics.headers["content-type"].startswith("text/calendar")
        assert "SUMMARY:Ann (41)" in ics.text and "TRANSP:TRANSPARENT" in ics.text
        assert "DTSTART;VALUE=DATE:20260612" in ics.text  # the anniversary
        for params in (
            {"start": "2026-01-01"},
            {"start": "x", "end": "y"},
            {"start": "2026-02-01", "end": "2026-01-01"},
            {"start": "2000-01-01", "end": "2026-01-01"},
        ):
            response = http.get("/api/birthdays", params=params)
            assert response.status_code == 400 and response.json()["error"]
    with server.client(login, "wrong") as http:
        response = http.get("/api/birthdays", params={"start": "2026-01-01", "end": "2026-01-02"})
        assert response.status_code == 401


def test_birthday_calendar_is_never_served_over_dav(server, contacts):
    login, put, _ = contacts
    put("ann", "Ann Secretbirthday", "BDAY:1985-04-12")
    with server.client(login) as http:
        texts = []
        for depth in ("1", "infinity"):
            response = http.request("PROPFIND", f"/{login}/", headers={"Depth": depth})
            assert response.status_code in (207, 403)
            texts.append(response.text)
        token_response = report(
            http,
            f"/{login}/",
            '<?xml version="1.0"?><D:sync-collection '
            'xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level>'
            "<D:prop><D:getetag/></D:prop></D:sync-collection>",
        )
        texts.append(token_response.text)
        _, contacts_sync = sync_report(http, f"/{login}/contacts/")
        texts.append(contacts_sync)
        for guess in (
            "birthdays/",
            "bday/",
            "birthday/",
            "contact_birthdays/",
            "birthdays.ics",
            "contacts.ics",
            "contacts/?export=ics",
        ):
            response = http.get(f"/{login}/{guess}")
            assert response.status_code in (403, 404, 405) or "VEVENT" not in response.text
            texts.append(response.text)
        query = """<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:"
            xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop>
            <C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>"""
        texts.append(report(http, f"/{login}/calendar/", query).text)
        share = http.post(
            "/.sharing/v1/map/create",
            json={
                "PathMapped": f"/{login}/contacts/",
                "PathOrToken": f"/{login}/bday/",
                "User": login,
                "Conversion": "bday",
            },
        )
        assert share.status_code >= 400
        assert http.request("PROPFIND", f"/{login}/bday/", headers={"Depth": "0"}).status_code in (
            403,
            404,
        )
        export = http.get(f"/{login}/calendar/")
        texts.append(export.text)
    for text in texts:
        assert "Secretbirthday" not in text or "BEGIN:VCARD" in text and "VEVENT" not in text
    assert not any("bday" in t.lower() and "VEVENT" in t for t in texts)


def test_shared_address_books_feed_it_and_the_morning_reminder_hook(server, contacts):
    from datetime import date

    from calcard import sharing
    from calcard.contacts import birthdays

    login, put, _ = contacts
    friend = server.user()
    friend_client = caldav.DAVClient(url=server.url, username=friend, password=PASSWORD)
    friend_client.put(
        f"{server.url}/{friend}/contacts/pal.vcf",
        card("pal", "Pal", "BDAY:--0909"),
        {"Content-Type": "text/vcard"},
    )
    assert fetch(server, login, "2026-09-09", "2026-09-09") == []
    with server.backend.db.transaction(write=True) as s:
        sharing.add_share(s, f"/{friend}/contacts/", "user", login, "read")
    assert [b["name"] for b in fetch(server, login, "2026-09-09", "2026-09-09")] == ["Pal"]

    with server.backend.db.transaction() as s:
        assert [b.name for b in birthdays.morning_reminders(s, login, date(2026, 9, 9))] == ["Pal"]
    with server.client(login) as http:
        assert http.put("/api/birthdays/settings", json={"reminders": False}).status_code == 200
    with server.backend.db.transaction() as s:
        assert birthdays.morning_reminders(s, login, date(2026, 9, 9)) == []
