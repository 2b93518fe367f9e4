"""The caller's calendars: the list (own and shared), create, rename, recolor, delete
(to the trash).

Deleting a subscribed holiday calendar removes the subscription.
"""

from __future__ import annotations

from dataclasses import asdict

from starlette.routing import Route

from calcard.calendar import calendars, events
from calcard.core.catalogs import N_
from calcard.core.errors import Refusal
from calcard.web.api.common import ApiContext, Call, endpoint

CALENDAR = "/api/calendars/{path:path}"


def _info(s, login: str, path: str) -> dict:
    """The calendar as GET /api/calendars lists it."""
    found = next(c for c in events.calendars(s, login) if c.path == f"/{path}/")
    return asdict(found)


def listing(call: Call) -> dict:
    """The calendars the caller sees: their own and those shared with them."""
    with call.read() as s:
        return {"calendars": [asdict(c) for c in events.calendars(s, call.login)]}


def create(call: Call) -> dict:
    """Create a calendar in the caller's home (within the plan's limit)."""
    with call.write() as s:
        collection = calendars.create(s, call.login, call.body.get("name"), call.body.get("color"))
        return _info(s, call.login, collection.path)


def change(call: Call) -> dict:
    """Rename and/or recolor one of the caller's calendars (D:displayname, ICAL:calendar-color)."""
    name, color = call.body.get("name"), call.body.get("color")
    if name is None and color is None:
        raise Refusal(N_("give a new name, a new color or both"))
    with call.write() as s:
        collection = calendars.update(s, call.login, call.params["path"], name, color)
        return _info(s, call.login, collection.path)


def remove(call: Call) -> dict:
    """Move one of the caller's calendars to the trash (or remove a holiday subscription)."""
    with call.write() as s:
        calendars.delete(s, call.login, call.params["path"])
    return {"deleted": "/" + call.params["path"].strip("/") + "/"}


def routes(ctx: ApiContext) -> list[Route]:
    color = {"type": "string", "pattern": calendars.COLOR_RE.pattern}
    name = {"type": "string", "maxLength": calendars.MAX_NAME}
    return [
        endpoint(ctx, "GET", "/api/calendars", listing),
        endpoint(
            ctx,
            "POST",
            "/api/calendars",
            create,
            body={
                "type": "object",
                "required": ["name", "color"],
                "properties": {"name": name, "color": color},
            },
            status=201,
        ),
        endpoint(
            ctx,
            "PUT",
            CALENDAR,
            change,
            body={"type": "object", "properties": {"name": name, "color": color}},
        ),
        endpoint(ctx, "DELETE", CALENDAR, remove),
    ]
