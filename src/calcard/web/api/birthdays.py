"""The birthday calendar API: JSON and iCalendar views, and which address books feed it."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from calcard import accounts
from calcard.contacts import birthdays
from calcard.core.catalogs import N_
from calcard.core.errors import Refusal
from calcard.web.api.common import ApiContext, Call, endpoint, query_param


def date_range(request: Request) -> tuple[date, date]:
    try:
        start = date.fromisoformat(query_param(request, "start"))
        end = date.fromisoformat(query_param(request, "end"))
    except ValueError as exc:
        raise Refusal(
            N_("start and end must be YYYY-MM-DD dates: {error}"), values={"error": str(exc)}
        ) from exc
    return start, end


def _entries(call: Call) -> list[birthdays.Birthday]:
    start, end = date_range(call.request)
    with call.read() as s:
        return birthdays.birthdays(s, call.login, start, end)


def as_json(call: Call) -> dict:
    """The caller's birthday calendar from start to end (dates, both included)."""
    return {"birthdays": [b.as_json() for b in _entries(call)]}


def as_ics(call: Call) -> Response:
    """The same birthdays as iCalendar all-day events (for the web UI, not DAV)."""
    return Response(birthdays.to_icalendar(_entries(call)), media_type="text/calendar")


def settings(call: Call) -> dict:
    """Which address books feed the birthday calendar, and morning reminders on/off."""
    with call.read() as s:
        return _settings(s, call.login)


def change_settings(call: Call) -> dict:
    """Choose the address books that feed the birthday calendar, and the reminders."""
    with call.write() as s:
        _update_settings(s, call.login, call.body)
        return _settings(s, call.login)


def routes(ctx: ApiContext) -> list[Route]:
    return [
        endpoint(ctx, "GET", "/api/birthdays", as_json),
        endpoint(ctx, "GET", "/api/birthdays.ics", as_ics),
        endpoint(ctx, "GET", "/api/birthdays/settings", settings),
        endpoint(ctx, "PUT", "/api/birthdays/settings", change_settings, body={"type": "object"}),
    ]


def _settings(s, login: str) -> dict:
    enabled = {c.path for c in birthdays.enabled_addressbooks(s, login)}
    return {
        "addressbooks": [
            {
                "path": f"/{c.path}/",
                "name": c.props.get("D:displayname", c.path),
                "enabled": c.path in enabled,
            }
            for c in birthdays.source_addressbooks(s, login)
        ],
        "reminders": accounts.get_settings(s, login).get("birthday_reminders", True),
    }


def _update_settings(s, login: str, body: dict) -> None:
    changes: dict = {}
    if "reminders" in body:
        if not isinstance(body["reminders"], bool):
            raise Refusal(N_("reminders must be true or false"))
        changes["birthday_reminders"] = body["reminders"]
    if "addressbooks" in body:
        known = {c.path for c in birthdays.source_addressbooks(s, login)}
        chosen = body["addressbooks"]
        if not isinstance(chosen, list) or not all(
            isinstance(a, dict) and isinstance(a.get("path"), str) for a in chosen
        ):
            raise Refusal(N_("addressbooks must be a list of {path, enabled}"))
        excluded = set(accounts.get_settings(s, login).get("birthdays_excluded", []))
        for entry in chosen:
            path = entry["path"].strip("/")
            if path not in known:
                raise Refusal(
                    N_("{path!r} is not one of your address books"), values={"path": entry["path"]}
                )
            (excluded.add if not entry.get("enabled", True) else excluded.discard)(path)
        changes["birthdays_excluded"] = sorted(excluded)
    accounts.update_settings(s, login, changes)
