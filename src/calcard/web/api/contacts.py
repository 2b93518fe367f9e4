"""Contact groups, copy/move, duplicates, merge and undo over JSON."""

from __future__ import annotations

from collections.abc import Callable

from starlette.routing import Route

from calcard import contacts, store
from calcard.core.catalogs import N_
from calcard.core.errors import Kind, Refusal
from calcard.core.models import as_id
from calcard.web.api.common import ApiContext, Call, endpoint

OBJECT = {"type": "object"}


def _strings(body: dict, key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Refusal(N_("{key} must be a list of UIDs"), values={"key": key})
    return value


def _text(body: dict, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise Refusal(N_("{key} is required"), values={"key": key})
    return value


def _write(call: Call, *keys: str):
    """A write transaction locking the caller and the owners of the address books the
    body names under ``keys``, as DAV does."""
    paths = [call.body.get(k) for k in keys]
    return call.write(*(store.owner_of(p.strip("/")) for p in paths if isinstance(p, str)))


def _listing(call: Call, key: str, listing: Callable) -> dict:
    """``{key: [each.as_json() for each in listing(session, book)]}`` for ?addressbook=."""
    path = call.query("addressbook")
    with call.read() as s:
        found = listing(s, contacts.addressbook(s, call.login, path))
        return {key: [each.as_json() for each in found]}


def groups(call: Call) -> dict:
    """The groups of an address book (?addressbook=), with their members."""
    return _listing(call, "groups", contacts.list_groups)


def create_group(call: Call) -> dict:
    """Create a contact group (style vcard4: a KIND:group card; apple: an X-ADDRESSBOOKSERVER
    group)."""
    with _write(call, "addressbook") as s:
        book = contacts.addressbook(s, call.login, _text(call.body, "addressbook"), write=True)
        style = call.body.get("style", "vcard4")
        return contacts.create_group(s, book, _text(call.body, "name"), style).as_json()


def members(call: Call) -> dict:
    """Add and remove members of a group (by contact UID)."""
    with _write(call, "addressbook") as s:
        book = contacts.addressbook(s, call.login, _text(call.body, "addressbook"), write=True)
        add, remove = _strings(call.body, "add"), _strings(call.body, "remove")
        return contacts.change_members(s, book, call.params["uid"], add, remove).as_json()


def transfer(call: Call) -> dict:
    """Copy (or move) contacts by UID into another address book; why each UID left
    was skipped is said in the caller's language."""
    with _write(call, "from", "to") as s:
        move = call.body.get("move", False)
        if not isinstance(move, bool):
            raise Refusal(N_("move must be true or false"))
        source = contacts.addressbook(s, call.login, _text(call.body, "from"), write=move)
        target = contacts.addressbook(s, call.login, _text(call.body, "to"), write=True)
        report = contacts.transfer(s, source, target, _strings(call.body, "uids"), move)
        return report.as_json(call.language(s))


def duplicates(call: Call) -> dict:
    """Groups of contacts of an address book that look like the same person."""
    return _listing(call, "duplicates", contacts.duplicates)


def merge(call: Call) -> dict:
    """Merge contacts into the one to keep (undoable)."""
    with _write(call, "addressbook") as s:
        book = contacts.addressbook(s, call.login, _text(call.body, "addressbook"), write=True)
        keep, merged = _text(call.body, "keep"), _strings(call.body, "merge")
        done = contacts.merge(s, book, keep, merged, call.login)
        return {"merge": done.id, "uid": done.uid, "path": f"/{book.path}/{done.href}"}


def merges(call: Call) -> dict:
    """The caller's merges that can still be undone."""
    with call.read() as s:
        return {"merges": contacts.list_merges(s, call.login)}


def undo(call: Call) -> dict:
    """Undo a merge: the merged contacts come back, the kept one as it was."""
    merge_id = as_id(call.params["id"])
    if merge_id is None:
        raise Refusal(N_("no merge {id}"), Kind.NOT_FOUND, values={"id": call.params["id"]})
    with call.write() as s:
        return contacts.undo_merge(s, call.login, merge_id)


def routes(ctx: ApiContext) -> list[Route]:
    return [
        endpoint(ctx, "GET", "/api/contacts/groups", groups),
        endpoint(ctx, "POST", "/api/contacts/groups", create_group, body=OBJECT, status=201),
        endpoint(ctx, "POST", "/api/contacts/groups/{uid}/members", members, body=OBJECT),
        endpoint(ctx, "POST", "/api/contacts/transfer", transfer, body=OBJECT),
        endpoint(ctx, "GET", "/api/contacts/duplicates", duplicates),
        endpoint(ctx, "POST", "/api/contacts/merge", merge, body=OBJECT),
        endpoint(ctx, "GET", "/api/contacts/merges", merges),
        endpoint(ctx, "POST", "/api/contacts/merges/{id:int}/undo", undo),
    ]
