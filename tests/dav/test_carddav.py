"""CardDAV over HTTP: address book, vCards, addressbook-query, sync (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

from conftest import report, sync_report

VCARD = """BEGIN:VCARD
VERSION:3.0
UID:{uid}
FN:{name}
N:{name};;;;
EMAIL:{uid}@example.com
END:VCARD
"""

QUERY = """<?xml version="1.0"?>
<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:prop><D:getetag/><C:address-data/></D:prop>
  <C:filter><C:prop-filter name="FN">
    <C:text-match collation="i;unicode-casemap" match-type="contains">{text}</C:text-match>
  </C:prop-filter></C:filter>
</C:addressbook-query>"""


def put_card(http, login: str, uid: str, name: str):
    return http.put(
        f"/{login}/contacts/{uid}.vcf",
        content=VCARD.format(uid=uid, name=name).encode(),
        headers={"Content-Type": "text/vcard"},
    )


def test_address_book_crud_query_and_sync(server):
    login = server.user()
    with server.client(login) as http:
        props = http.request("PROPFIND", f"/{login}/contacts/", headers={"Depth": "0"})
        assert "addressbook" in props.text
        assert put_card(http, login, "ann", "Ann Example").status_code == 201
        assert put_card(http, login, "ben", "Ben Sample").status_code == 201
        assert "FN:Ann Example" in http.get(f"/{login}/contacts/ann.vcf").text

        found = report(http, f"/{login}/contacts/", QUERY.format(text="sample"))
        assert found.status_code == 207
        assert "ben.vcf" in found.text and "ann.vcf" not in found.text

        token, initial = sync_report(http, f"/{login}/contacts/")
        assert "ann.vcf" in initial and "ben.vcf" in initial
        assert put_card(http, login, "ann", "Ann Changed").status_code == 204
        assert http.delete(f"/{login}/contacts/ben.vcf").status_code == 200
        new_token, delta = sync_report(http, f"/{login}/contacts/", token)
        assert new_token != token
        assert "ann.vcf" in delta
        assert re.search(r"ben\.vcf</href>\s*<status>HTTP/1.1 404", delta)


def test_address_book_can_be_created_with_extended_mkcol(server):
    login = server.user()
    body = """<?xml version="1.0"?>
<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>
<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>
<D:displayname>Suppliers</D:displayname></D:prop></D:set></D:mkcol>"""
    with server.client(login) as http:
        response = http.request("MKCOL", f"/{login}/suppliers/", content=body.encode())
        assert response.status_code == 201
        assert put_card(http, login, "x", "X").status_code == 201
        listing = http.request("PROPFIND", f"/{login}/", headers={"Depth": "1"})
        assert "Suppliers" in listing.text
