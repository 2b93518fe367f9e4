"""Public holidays: the web calendar's overlay, and subscriptions that add a
read-only holiday calendar to the caller's DAV home (remove one with
DELETE /api/calendars/{path})."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from starlette.routing import Route

from calcard.calendar import public_holidays
from calcard.web.api.birthdays import date_range
from calcard.web.api.common import ApiContext, Call, endpoint


def countries(call: Call) -> dict:
    """Countries with known holidays: code, English name and subdivision codes."""
    return {"countries": [asdict(c) for c in public_holidays.countries()]}


def overlay(call: Call) -> dict:
    """The holidays of a country (query: country, subdivision?, start and end as
    YYYY-MM-DD, both included), named in the caller's language when known."""
    start, end = date_range(call.request)
    code = call.query("country")
    subdivision = call.request.query_params.get("subdivision", "")
    browser = call.request.headers.get("accept-language")
    with call.read() as s:
        found = public_holidays.overlay(s, call.login, code, subdivision, start, end, browser)
    return {"holidays": [{"date": h.date.isoformat(), "name": h.name} for h in found]}


def list_subscriptions(call: Call) -> dict:
    """The caller's holiday calendars (paths in their DAV home)."""
    with call.read() as s:
        return {"subscriptions": [asdict(x) for x in public_holidays.subscriptions(s, call.login)]}


def subscribe(call: Call) -> dict:
    """Add a country's holidays to the caller's DAV home as a read-only calendar."""
    code = call.field("country")
    subdivision, name = call.optional("subdivision", str, ""), call.optional("name", str)
    with call.write() as s:
        found = public_holidays.subscribe(s, call.login, code, subdivision, name, date.today())
    return asdict(found)


def routes(ctx: ApiContext) -> list[Route]:
    body = {
        "type": "object",
        "required": ["country"],
        "properties": {
            "country": {"type": "string", "description": "ISO 3166-1 alpha-2 code"},
            "subdivision": {"type": "string"},
            "name": {"type": "string", "description": "the calendar's name (default: English)"},
        },
    }
    return [
        endpoint(ctx, "GET", "/api/holidays", overlay),
        endpoint(ctx, "GET", "/api/holidays/countries", countries),
        endpoint(ctx, "GET", "/api/holidays/subscriptions", list_subscriptions),
        endpoint(ctx, "POST", "/api/holidays/subscriptions", subscribe, body=body, status=201),
    ]
