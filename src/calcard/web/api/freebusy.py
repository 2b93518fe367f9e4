"""The slot finder and free/busy over JSON, and rooms."""

from __future__ import annotations

from datetime import datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from calcard import freebusy, store
from calcard.accounts import rooms
from calcard.core import timebounds, times
from calcard.core.errors import Kind, Refusal
from calcard.sharing import access
from calcard.web.api.common import ApiContext, authenticated_login, json_body, query_param


def _instant(value: object, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise Refusal(f"{name} must be an ISO 8601 date-time with offset") from exc
    if moment.tzinfo is None:
        raise Refusal(f"{name} needs a UTC offset, e.g. 2026-03-02T10:00:00+01:00")
    timebounds.check_instant(moment, name)
    return moment


def _int(body: dict, name: str, default: int, low: int, high: int) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise Refusal(f"{name} must be a whole number from {low} to {high}")
    return value


def _find(ctx: ApiContext, request: Request, body: dict) -> JSONResponse:
    login = authenticated_login(ctx, request)
    attendees = body.get("attendees", [])
    if not isinstance(attendees, list) or not all(isinstance(a, str) for a in attendees):
        raise Refusal("attendees must be a list of logins or email addresses")
    start = _instant(body.get("start"), "start")
    minutes = _int(body, "duration_minutes", 0, 1, 24 * 60 * 14)
    horizon = _int(
        body, "horizon_days", freebusy.DEFAULT_HORIZON_DAYS, 1, freebusy.MAX_HORIZON_DAYS
    )
    alternatives = _int(body, "alternatives", 0, 0, 20)
    with ctx.db.transaction() as s:
        result = freebusy.find(
            s, login, attendees, start, timedelta(minutes=minutes), horizon, alternatives
        )
    zone = start.tzinfo

    def iso(value: int) -> str:
        return times.from_posix(value).astimezone(zone).isoformat()

    first = result.slots[0] if result.slots else None
    return JSONResponse(
        {
            "start": iso(first[0]) if first else None,
            "end": iso(first[1]) if first else None,
            "unknown": list(result.unknown),
            "unknown_reasons": result.unknown,
            "alternatives": [{"start": iso(a), "end": iso(b)} for a, b in result.slots[1:]],
            "blocking": result.blocking,
        }
    )


def routes(ctx: ApiContext) -> list[Route]:
    async def find(request: Request) -> JSONResponse:
        """The earliest free slot for the caller and every known attendee."""
        body = await json_body(request)
        return await run_in_threadpool(_find, ctx, request, body)

    def busy_of(request: Request) -> JSONResponse:
        """One participant's busy periods, if the caller may see them."""
        login = authenticated_login(ctx, request)
        start = _instant(query_param(request, "start"), "start")
        end = _instant(query_param(request, "end"), "end")
        if not start < end <= start + timedelta(days=freebusy.MAX_HORIZON_DAYS):
            raise Refusal("end must be after start, within a year")
        with ctx.db.transaction() as s:
            user = freebusy.resolve(s, query_param(request, "user"))
            reason = freebusy.unknown_reason(s, login, user)
            if reason is not None or user is None:
                return JSONResponse({"known": False, "reason": reason, "busy": []})
            periods = freebusy.busy_periods(s, user.login, start, end)
        return JSONResponse(
            {
                "known": True,
                "busy": [
                    {
                        "start": times.from_posix(a).isoformat(),
                        "end": times.from_posix(b).isoformat(),
                        "type": k,
                    }
                    for a, b, k in sorted(periods)
                ],
            }
        )

    async def room_list_or_add(request: Request) -> JSONResponse:
        """An organization's rooms; POST adds one (administrators)."""
        body = await json_body(request) if request.method == "POST" else None
        return await run_in_threadpool(_rooms, ctx, request, body)

    async def calendars(request: Request) -> JSONResponse:
        """Which of the caller's calendars count for their free/busy."""
        body = await json_body(request) if request.method == "PUT" else None
        return await run_in_threadpool(_calendars, ctx, request, body)

    return [
        Route("/api/freebusy/find", find, methods=["POST"]),
        Route("/api/freebusy/calendars", calendars, methods=["GET", "PUT"]),
        Route("/api/freebusy", busy_of),
        Route("/api/rooms", room_list_or_add, methods=["GET", "POST"]),
    ]


def _rooms(ctx: ApiContext, request: Request, body: dict | None) -> JSONResponse:
    """List an organization's rooms, or add one (POST: managing the organization, so
    never with an app password)."""
    login = authenticated_login(ctx, request, devices=body is None)
    org = (body or {}).get("org") or request.query_params.get("org")
    if not isinstance(org, str) or not org:
        raise Refusal("name the organization ('org')")
    with ctx.db.transaction(write=body is not None, owners=[login]) as s:
        try:
            if body is not None:
                capacity = body.get("capacity")
                if capacity is not None and (not isinstance(capacity, int) or capacity < 1):
                    raise Refusal("capacity must be a positive whole number")
                rooms.create_room(s, org, str(body.get("name", "")), capacity, actor=login)
            found = rooms.list_rooms(s, org, actor=login)
            return JSONResponse({"rooms": found}, status_code=201 if body is not None else 200)
        except Refusal as refused:
            if refused.kind is not Kind.NOT_FOUND:
                raise
            # An unknown organization: this route has always answered 400, not 404.
            raise Refusal(refused.message) from refused


def _calendars(ctx: ApiContext, request: Request, body: dict | None) -> JSONResponse:
    """Which of the caller's calendars count for their free/busy; PUT {"path", "counts"}."""
    login = authenticated_login(ctx, request)
    with ctx.db.transaction(write=body is not None, owners=[login]) as s:
        if body is not None:
            path = str(body.get("path", "")).strip("/")
            decision = access.stored(s, login, access.CHANGE_PROPERTIES, path)
            collection = decision.collection
            if (
                collection is None
                or decision.relation != access.OWNER
                or collection.tag != "VCALENDAR"
            ):
                raise Refusal(f"{body.get('path')!r} is not one of your calendars")
            if not isinstance(body.get("counts"), bool):
                raise Refusal("counts must be true or false")
            props = {k: v for k, v in collection.props.items() if k != freebusy.EXCLUDE_PROP}
            if not body["counts"]:
                props[freebusy.EXCLUDE_PROP] = "exclude"
            store.set_props(s, collection, props)
        counted = {c.path for c in freebusy.counted_collections(s, login)}
        own = [c for c in store.child_collections(s, login) if c.tag == "VCALENDAR"]
        return JSONResponse(
            {
                "calendars": [
                    {
                        "path": f"/{c.path}/",
                        "name": c.props.get("D:displayname", c.path),
                        "counts": c.path in counted,
                    }
                    for c in own
                ]
            }
        )
