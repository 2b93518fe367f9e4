"""The trash over JSON: list what was deleted, restore it, with clashes answered 409."""

from __future__ import annotations

from starlette.routing import Route

from calcard import accounts, trash
from calcard.core.catalogs import N_
from calcard.core.errors import Refusal
from calcard.web.api.common import ApiContext, Call, endpoint


def listing(call: Call) -> dict:
    """What the caller deleted, and how many days the trash keeps it."""
    with call.read() as s:
        entries = trash.list_trash(s, call.login)
        days = accounts.retention_days(s, call.login)
    return {"trash": [e.as_json() for e in entries], "retention_days": days}


def restore(call: Call) -> dict:
    """Restore a trash entry where it was (or ``into`` another collection, with a
    ``new_uid``); a clash answers 409 with the options that would work."""
    into, new_uid = call.body.get("into"), call.body.get("new_uid", False)
    if (into is not None and not isinstance(into, str)) or not isinstance(new_uid, bool):
        raise Refusal(N_("into must be a path and new_uid true or false"))
    with call.write() as s:
        restored = trash.restore(s, call.login, call.params["id"], into, new_uid)
    return {"restored": restored.path, "uid": restored.uid}


def routes(ctx: ApiContext) -> list[Route]:
    body = {
        "type": "object",
        "properties": {"into": {"type": "string"}, "new_uid": {"type": "boolean"}},
    }
    return [
        endpoint(ctx, "GET", "/api/trash", listing),
        endpoint(ctx, "POST", "/api/trash/{id}/restore", restore, body=body),
    ]
