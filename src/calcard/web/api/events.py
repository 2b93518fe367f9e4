"""The web calendar's events: calendars, occurrences in a range, create, edit, move, delete.

Thin JSON over ``calcard.events``; every change goes through ``calcard.store``
like a DAV PUT, so DAV clients see it at their next sync.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from calcard import scheduling, store
from calcard.calendar import events
from calcard.core import timebounds
from calcard.core.errors import Refusal
from calcard.web.api.common import ApiContext, authenticated_login, json_body, query_param

MAX_RANGE = timedelta(days=400)


def time_range(request: Request) -> tuple[datetime, datetime]:
    try:
        start = datetime.fromisoformat(query_param(request, "start"))
        end = datetime.fromisoformat(query_param(request, "end"))
        timebounds.check_instant(start, "start")
        timebounds.check_instant(end, "end")
    except timebounds.OutOfRange:
        raise  # its own message, not the generic one below
    except ValueError as exc:
        raise Refusal("start and end must be ISO 8601 date-times with offset") from exc
    if start.tzinfo is None or end.tzinfo is None or not start < end <= start + MAX_RANGE:
        raise Refusal("start and end need offsets, end after start, at most 400 days")
    return start, end


def _owner(path: object) -> str:
    return store.owner_of(str(path or "").strip("/"))


def _item_json(item) -> dict:
    return {"href": item.href, "uid": item.uid, "etag": item.etag}


def _write_owners(ctx: ApiContext, request: Request, body: dict | None, calendar) -> list[str]:
    """The calendar's owner and everyone the change may schedule into, locked up front."""
    body = body or {}
    href = body.get("href") or request.query_params.get("href")
    attendees = body.get("attendees")
    named = [str(a) for a in attendees] if isinstance(attendees, list) else []
    with ctx.db.transaction() as s:
        collection = store.get_collection(s, str(calendar or "").strip("/"))
        old = store.get_item(s, collection.id, str(href)) if collection and href else None
        involved = scheduling.owners_involved(s, [old.text if old else None], named)
    return [_owner(calendar), *involved]


def _call(
    ctx: ApiContext, request: Request, body: dict | None, work, status: int = 200
) -> JSONResponse:
    """Authenticate, run ``work(session, login)`` in one transaction, map refusals to 4xx."""
    login = authenticated_login(ctx, request)
    calendar = (body or {}).get("calendar") or request.query_params.get("calendar")
    write = request.method != "GET"
    owners = _write_owners(ctx, request, body, calendar) if write else []
    with ctx.db.transaction(write=write, owners=owners) as s:
        answer = work(s, login)
    return JSONResponse(answer, status_code=status)


def routes(ctx: ApiContext) -> list[Route]:
    def calendars(request: Request) -> JSONResponse:
        return _call(
            ctx,
            request,
            None,
            lambda s, login: {"calendars": [asdict(c) for c in events.calendars(s, login)]},
        )

    def occurrences(request: Request) -> JSONResponse:
        start, end = time_range(request)
        path = query_param(request, "calendar")
        return _call(
            ctx,
            request,
            None,
            lambda s, login: {"events": events.occurrences(s, login, path, start, end)},
        )

    def one(request: Request) -> JSONResponse:
        path, href = query_param(request, "calendar"), query_param(request, "href")
        rid = request.query_params.get("recurrence_id") or None
        return _call(ctx, request, None, lambda s, login: events.detail(s, login, path, href, rid))

    def remove(request: Request) -> JSONResponse:
        path, href = query_param(request, "calendar"), query_param(request, "href")
        rid = request.query_params.get("recurrence_id") or None
        etag = request.headers.get("if-match")

        def work(s, login):
            events.delete(s, login, path, href, rid, etag)
            return {"deleted": href, "recurrence_id": rid}

        return _call(ctx, request, None, work)

    def create(request: Request, body: dict) -> JSONResponse:
        def work(s, login):
            data = events.parse_input(body)
            return _item_json(events.create(s, login, str(body.get("calendar", "")), data))

        return _call(ctx, request, body, work, status=201)

    def target(s, login, body: dict) -> events.Target:
        path, href = str(body.get("calendar", "")), str(body.get("href", ""))
        rid, etag = body.get("recurrence_id") or None, body.get("etag") or None
        return events.open_event(s, login, path, href, rid, etag)

    def update(request: Request, body: dict) -> JSONResponse:
        def work(s, login):
            data = events.parse_input(body)
            return _item_json(events.update(s, login, target(s, login, body), data))

        return _call(ctx, request, body, work)

    def move(request: Request, body: dict) -> JSONResponse:
        def work(s, login):
            start, end, old = (
                events.parse_instant(body.get(n), n) for n in ("start", "end", "old_start")
            )
            return _item_json(events.move(s, login, target(s, login, body), (start, end), old))

        return _call(ctx, request, body, work)

    async def with_body(request: Request) -> JSONResponse:
        body = await json_body(request)
        handler = {"POST": create, "PUT": update}[request.method]
        return await run_in_threadpool(handler, request, body)

    async def move_endpoint(request: Request) -> JSONResponse:
        return await run_in_threadpool(move, request, await json_body(request))

    async def event_endpoint(request: Request) -> JSONResponse:
        if request.method in ("POST", "PUT"):
            return await with_body(request)
        handler = one if request.method == "GET" else remove
        return await run_in_threadpool(handler, request)

    return [
        Route("/api/calendars", calendars),
        Route("/api/events", occurrences),
        Route("/api/event", event_endpoint, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/api/event/move", move_endpoint, methods=["POST"]),
    ]
