"""The birthday calendar API: JSON and iCalendar views, and which address books feed it."""

from __future__ import annotations

from datetime import date

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from calcard import accounts
from calcard.contacts import birthdays
from calcard.core.errors import Refusal
from calcard.web.api.common import (
    ApiContext,
    authenticated_login,
    json_body,
    query_param,
)


def date_range(request: Request) -> tuple[date, date]:
    try:
        start = date.fromisoformat(query_param(request, "start"))
        end = date.fromisoformat(query_param(request, "end"))
    except ValueError as exc:
        raise Refusal(f"start and end must be YYYY-MM-DD dates: {exc}") from exc
    return start, end


def routes(ctx: ApiContext) -> list[Route]:
    def entries(request: Request) -> list[birthdays.Birthday]:
        login = authenticated_login(ctx, request)
        start, end = date_range(request)
        with ctx.db.transaction() as s:
            return birthdays.birthdays(s, login, start, end)

    def as_json(request: Request) -> JSONResponse:
        """The caller's birthday calendar from start to end (dates, both included)."""
        return JSONResponse({"birthdays": [b.as_json() for b in entries(request)]})

    def as_ics(request: Request) -> Response:
        """The same birthdays as iCalendar all-day events (for the web UI, not DAV)."""
        return Response(birthdays.to_icalendar(entries(request)), media_type="text/calendar")

    def settings_sync(request: Request, body: dict | None) -> JSONResponse:
        login = authenticated_login(ctx, request)
        with ctx.db.transaction(write=body is not None, owners=[login]) as s:
            if body is not None:
                _update_settings(s, login, body)
            return JSONResponse(_settings(s, login))

    async def settings(request: Request) -> JSONResponse:
        """Which address books feed the birthday calendar, and morning reminders on/off."""
        body = await json_body(request) if request.method == "PUT" else None
        return await run_in_threadpool(settings_sync, request, body)

    return [
        Route("/api/birthdays", as_json),
        Route("/api/birthdays.ics", as_ics),
        Route("/api/birthdays/settings", settings, methods=["GET", "PUT"]),
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
            raise Refusal("reminders must be true or false")
        changes["birthday_reminders"] = body["reminders"]
    if "addressbooks" in body:
        known = {c.path for c in birthdays.source_addressbooks(s, login)}
        chosen = body["addressbooks"]
        if not isinstance(chosen, list) or not all(
            isinstance(a, dict) and isinstance(a.get("path"), str) for a in chosen
        ):
            raise Refusal("addressbooks must be a list of {path, enabled}")
        excluded = set(accounts.get_settings(s, login).get("birthdays_excluded", []))
        for entry in chosen:
            path = entry["path"].strip("/")
            if path not in known:
                raise Refusal(f"{entry['path']!r} is not one of your address books")
            (excluded.add if not entry.get("enabled", True) else excluded.discard)(path)
        changes["birthdays_excluded"] = sorted(excluded)
    accounts.update_settings(s, login, changes)
