"""The JSON API under /api/: one module per resource, each exposing ``routes(ctx)``
declared with ``common.endpoint``.

Errors are JSON ``{"error": "..."}`` with a 4xx status (CONTRACT.md), answered for
every refusal by ``errors.answer``.
"""

from __future__ import annotations

from starlette.routing import Route

from calcard.web.api import (
    birthdays,
    branding,
    calendars,
    cards,
    contacts,
    devices,
    events,
    freebusy,
    health,
    holidays,
    imports,
    invitations,
    me,
    openapi,
    orgs,
    preferences,
    push,
    reminders,
    rooms,
    rsvp,
    session,
    shares,
    tasks,
    transfer,
    trash,
    users,
    verify_email,
)
from calcard.web.api.common import ApiContext, error_handlers, guard

FEATURES = (
    health,
    session,
    me,
    users,
    orgs,
    rooms,
    shares,
    birthdays,
    reminders,
    freebusy,
    events,
    rsvp,
    trash,
    transfer,
    imports,
    contacts,
    calendars,
    tasks,
    holidays,
    cards,
    preferences,
    devices,
    branding,
    invitations,
    verify_email,
    push,
)


def routes(ctx: ApiContext) -> list[Route]:
    """Every feature's routes, then the OpenAPI document describing them all.

    Each passes the guard against cross-site changes and non-JSON bodies
    (``common.request_refusal``).
    """
    found: list[Route] = []
    for feature in FEATURES:
        found.extend(feature.routes(ctx))
    return [guard(route, ctx) for route in (*found, openapi.route(ctx, found))]


__all__ = ["ApiContext", "error_handlers", "routes"]
