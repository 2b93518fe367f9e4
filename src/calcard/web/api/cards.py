"""The web UI's contacts: address books, the list with search and group filter, and
create, read, edit, delete of one contact. Thin JSON over ``calcard.cards``.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from calcard.contacts import cards
from calcard.store import owner_of
from calcard.web.api.common import ApiContext, Call, endpoint

FIELDS: dict[str, Any] = {
    "name": {"type": "string", "description": "display name (FN); made from the rest if empty"},
    "given": {"type": "string"},
    "family": {"type": "string"},
    "emails": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"type": {"enum": list(cards.EMAIL_TYPES)}, "value": {"type": "string"}},
        },
    },
    "phones": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"type": {"enum": list(cards.PHONE_TYPES)}, "value": {"type": "string"}},
        },
    },
    "org": {"type": "string"},
    "title": {"type": "string"},
    "address": {
        "type": ["object", "null"],
        "properties": {name: {"type": "string"} for name in cards.ADDRESS_FIELDS},
    },
    "birthday": {"type": "string", "description": "YYYY-MM-DD, or --MM-DD without the year"},
    "note": {"type": "string"},
}
BOOK = {"addressbook": {"type": "string", "description": "address book path, /alice/contacts/"}}
CREATE = {"type": "object", "required": ["addressbook"], "properties": {**BOOK, **FIELDS}}
UPDATE = {
    "type": "object",
    "required": ["addressbook", "uid"],
    "properties": {**BOOK, "uid": {"type": "string"}, "etag": {"type": "string"}, **FIELDS},
}


def _book_owner(path: str) -> str:
    """Whose lock a change of the address book at ``path`` takes (as DAV does)."""
    return owner_of(path.strip("/"))


def routes(ctx: ApiContext) -> list[Route]:
    def addressbooks(call: Call) -> dict:
        """The caller's address books and those shared with them."""
        with call.read() as s:
            return {"addressbooks": cards.addressbooks(s, call.login)}

    def listing(call: Call) -> dict:
        """Contacts of an address book by name; ?q= searches name, e-mail, phone and
        organization, ?group= keeps the members of one group."""
        path = call.query("addressbook")
        q, group = (call.request.query_params.get(k, "") for k in ("q", "group"))
        with call.read() as s:
            return {"contacts": cards.list_contacts(s, call.login, path, q, group)}

    def one(call: Call) -> dict:
        """One contact's fields as the form edits them, with its groups and ETag."""
        path, uid = call.query("addressbook"), call.query("uid")
        with call.read() as s:
            return cards.detail(s, call.login, path, uid)

    def create(call: Call) -> dict:
        """Create a contact (a vCard 3.0 card, visible over CardDAV)."""
        path = call.field("addressbook")
        data = cards.parse_input(call.body)  # a refusal is a 400 with its reason
        with call.write(_book_owner(path)) as s:
            return cards.create(s, call.login, path, data)

    def update(call: Call) -> dict:
        """Change the fields sent; other lines of the card stay. 409 if the ETag is stale."""
        path, uid = call.field("addressbook"), call.field("uid")
        etag = call.optional("etag", str, "")
        data = cards.parse_input(call.body)  # a refusal is a 400 with its reason
        with call.write(_book_owner(path)) as s:
            return cards.update(s, call.login, path, uid, etag, data)

    def remove(call: Call) -> dict:
        """Move a contact to the trash (If-Match: its ETag, optional)."""
        path, uid = call.query("addressbook"), call.query("uid")
        etag = call.request.headers.get("if-match", "")
        with call.write(_book_owner(path)) as s:
            cards.delete(s, call.login, path, uid, etag, call.login)
        return {"deleted": uid}

    return [
        endpoint(ctx, "GET", "/api/addressbooks", addressbooks),
        endpoint(ctx, "GET", "/api/contacts", listing),
        endpoint(ctx, "GET", "/api/contact", one),
        endpoint(ctx, "POST", "/api/contact", create, body=CREATE, status=201),
        endpoint(ctx, "PUT", "/api/contact", update, body=UPDATE),
        endpoint(ctx, "DELETE", "/api/contact", remove),
    ]
