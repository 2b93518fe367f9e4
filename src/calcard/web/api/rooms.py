"""An organization's rooms: the list (for its members) and adding one (its managers)."""

from __future__ import annotations

from starlette.routing import Route

from calcard.accounts import rooms
from calcard.core.catalogs import N_
from calcard.core.db import org_key
from calcard.core.errors import Kind, Refusal
from calcard.web.api.common import ApiContext, Call, endpoint


def _org(call: Call) -> str:
    org = call.body.get("org") or call.request.query_params.get("org")
    if not isinstance(org, str) or not org:
        raise Refusal(N_("name the organization ('org')"))
    return org


def _known_org(found: Refusal) -> Refusal:
    """An unknown organization: this route has always answered 400 (not found elsewhere)."""
    return Refusal(found.template, values=found.values) if found.kind is Kind.NOT_FOUND else found


def list_rooms(call: Call) -> dict:
    """An organization's rooms (?org=), for its members."""
    org = _org(call)
    try:
        with call.read() as s:
            return {"rooms": rooms.list_rooms(s, org, actor=call.login)}
    except Refusal as refused:
        raise _known_org(refused) from refused


def add_room(call: Call) -> dict:
    """Add a room (legal representatives and administrators): it gets a calendar, and the
    organization's members book it by inviting it."""
    org = _org(call)
    try:
        with call.write(org_key(org)) as s:
            capacity = call.body.get("capacity")
            if capacity is not None and (not isinstance(capacity, int) or capacity < 1):
                raise Refusal(N_("capacity must be a positive whole number"))
            rooms.create_room(s, org, str(call.body.get("name", "")), capacity, actor=call.login)
            return {"rooms": rooms.list_rooms(s, org, actor=call.login)}
    except Refusal as refused:
        raise _known_org(refused) from refused


def routes(ctx: ApiContext) -> list[Route]:
    body = {
        "type": "object",
        "required": ["org", "name"],
        "properties": {
            "org": {"type": "string"},
            "name": {"type": "string"},
            "capacity": {"type": "integer", "minimum": 1},
        },
    }
    return [
        endpoint(ctx, "GET", "/api/rooms", list_rooms),
        endpoint(ctx, "POST", "/api/rooms", add_room, body=body, status=201, devices=False),
    ]
