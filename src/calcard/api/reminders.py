"""Reminder status, stopping repeats, and browser notifications (list and SSE stream)."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

from calcard import dispatcher, links, reminders
from calcard.api.common import ApiContext, ApiError, authenticated_login, query_number
from calcard.models import Notification, Reminder, as_id, utcnow

STREAM_POLL_SECONDS = 1.0
STREAM_KEEPALIVE_SECONDS = 15.0


def reminder_json(row: Reminder) -> dict:
    return {
        "id": row.id,
        "title": row.title,
        "channel": row.channel,
        "fire_at": reminders.aware(row.fire_at).isoformat(),
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "repeat": row.repeat or None,
        "href": row.href,
    }


def notification_json(row: Notification) -> dict:
    return {
        "id": row.id,
        "title": row.title,
        "body": row.body,
        "reminder_id": row.reminder_id,
        "created_at": reminders.aware(row.created_at).isoformat(),
    }


def _notifications_after(ctx: ApiContext, login: str, after: int, limit: int = 50) -> list[dict]:
    with ctx.db.transaction() as s:
        rows = s.scalars(
            select(Notification)
            .where(Notification.owner == login, Notification.id > after)
            .order_by(Notification.id.desc())
            .limit(limit)
        ).all()
    return [notification_json(r) for r in reversed(rows)]


def routes(ctx: ApiContext) -> list[Route]:
    def list_reminders(request: Request) -> JSONResponse:
        """The caller's reminders with delivery status (optional ?status=)."""
        login = authenticated_login(ctx, request)
        status = request.query_params.get("status")
        with ctx.db.transaction() as s:
            rows = reminders.list_for(s, login, status)
            return JSONResponse({"reminders": [reminder_json(r) for r in rows]})

    def stop(request: Request) -> JSONResponse | PlainTextResponse:
        """Stop a repeating reminder (login, or the signed link from its mail)."""
        reminder_id = as_id(request.path_params["id"])
        if reminder_id is None:
            raise ApiError(404, f"no reminder {request.path_params['id']} to stop")
        signature = request.query_params.get("sig")
        login = None if signature else authenticated_login(ctx, request, change=True)
        with ctx.db.transaction(write=True) as s:
            row = s.get(Reminder, reminder_id)
            allowed = row is not None and (
                row.owner == login
                if login
                else links.verify(s, f"stop-reminder:{reminder_id}", signature or "")
            )
            if not allowed:
                raise ApiError(404, f"no reminder {reminder_id} to stop")
            dispatcher.stop(s, reminder_id, utcnow())
        if signature:
            return PlainTextResponse("The reminder is stopped; it will not repeat again.")
        return JSONResponse({"stopped": reminder_id})

    def notifications(request: Request) -> JSONResponse:
        """Recent browser notifications (?after=ID for newer ones only)."""
        login = authenticated_login(ctx, request)
        after = query_number(request, "after")
        return JSONResponse({"notifications": _notifications_after(ctx, login, after)})

    async def stream(request: Request) -> StreamingResponse:
        """Browser notifications as server-sent events (Last-Event-ID resumes)."""
        login = await run_in_threadpool(authenticated_login, ctx, request)
        start = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
        first = as_id(start)
        if first is None:
            raise ApiError(400, "Last-Event-ID must be a notification id")

        async def events():
            last, idle = first, 0.0
            while not await request.is_disconnected():
                batch = await run_in_threadpool(_notifications_after, ctx, login, last)
                for item in batch:
                    last = item["id"]
                    yield f"id: {last}\nevent: notification\ndata: {json.dumps(item)}\n\n"
                idle = 0.0 if batch else idle + STREAM_POLL_SECONDS
                if idle >= STREAM_KEEPALIVE_SECONDS:
                    idle = 0.0
                    yield ": keep-alive\n\n"
                await asyncio.sleep(STREAM_POLL_SECONDS)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    return [
        Route("/api/reminders", list_reminders),
        Route("/api/reminders/{id:int}/stop", stop, methods=["GET", "POST"]),
        Route("/api/notifications", notifications),
        Route("/api/notifications/stream", stream),
    ]
