"""Reminder status, stopping repeats, and browser notifications (list and SSE stream)."""

from __future__ import annotations

import asyncio
import json
from html import escape

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from calcard import worker
from calcard.core import links
from calcard.core.db import lock_owners
from calcard.core.errors import Kind, Refusal
from calcard.core.models import Notification, Reminder, as_id
from calcard.core.times import as_utc, utcnow
from calcard.store import reminders
from calcard.web.api.common import (
    FORM,
    JSON,
    ApiContext,
    accepts,
    authenticated_login,
    query_number,
)
from calcard.web.api.rsvp import page

STREAM_POLL_SECONDS = 1.0
STREAM_KEEPALIVE_SECONDS = 15.0


def reminder_json(row: Reminder) -> dict:
    return {
        "id": row.id,
        "title": row.title,
        "channel": row.channel,
        "fire_at": as_utc(row.fire_at).isoformat(),
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
        "created_at": as_utc(row.created_at).isoformat(),
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


def public(route: Route) -> Route:
    route.public = True  # type: ignore[attr-defined]  (a signed link, no login)
    return route


def routes(ctx: ApiContext) -> list[Route]:
    def list_reminders(request: Request) -> JSONResponse:
        """The caller's reminders with delivery status (optional ?status=)."""
        login = authenticated_login(ctx, request)
        status = request.query_params.get("status")
        with ctx.db.transaction() as s:
            rows = reminders.list_for(s, login, status)
            return JSONResponse({"reminders": [reminder_json(r) for r in rows]})

    def confirm_stop(request: Request) -> HTMLResponse:
        """The page behind a repeating reminder's stop link: a button that stops it.

        GET changes nothing (mail scanners and link previews follow links); the
        button POSTs the signature back.
        """
        reminder_id = as_id(request.path_params["id"])
        signature = request.query_params.get("sig", "")
        with ctx.db.transaction() as s:
            row = s.get(Reminder, reminder_id) if reminder_id is not None else None
            if row is None or not links.verify(s, worker.stop_purpose(row), signature):
                return page("en", "Reminder", f"<p>No reminder {reminder_id} to stop.</p>", 404)
            title = row.title
        return page(
            "en",
            "Stop this reminder?",
            f"<p>{escape(title)}</p>"
            f"<form method='post' action='/api/reminders/{reminder_id}/stop'>"
            f"<input type='hidden' name='sig' value='{escape(signature)}'>"
            "<button>Stop repeating</button></form>",
        )

    async def stop(request: Request) -> Response:
        """Stop a repeating reminder (login, or the signature from its mail's link, POSTed)."""
        signature = ""
        if request.headers.get("content-type", "").startswith(FORM):
            signature = str((await request.form()).get("sig", ""))
        return await run_in_threadpool(_stop, request, signature)

    def _stop(request: Request, signature: str) -> Response:
        reminder_id = as_id(request.path_params["id"])
        login = None if signature else authenticated_login(ctx, request)
        with ctx.db.transaction(write=True) as s:
            row = s.get(Reminder, reminder_id) if reminder_id is not None else None
            allowed = row is not None and (
                row.owner == login
                if login
                else links.verify(s, worker.stop_purpose(row), signature)
            )
            if not allowed and signature:
                return page("en", "Reminder", f"<p>No reminder {reminder_id} to stop.</p>", 404)
            if not allowed:
                raise Refusal(f"no reminder {reminder_id} to stop", Kind.NOT_FOUND)
            lock_owners(s, [row.owner])  # the stop writes ACKNOWLEDGED into the owner's event
            worker.stop(s, reminder_id, utcnow())
        if signature:
            return page("en", "Reminder stopped", "<p>It will not repeat again.</p>")
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
            raise Refusal("Last-Event-ID must be a notification id")

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
        public(Route("/api/reminders/{id:int}/stop", confirm_stop, methods=["GET"])),
        accepts(Route("/api/reminders/{id:int}/stop", stop, methods=["POST"]), JSON, FORM, ""),
        Route("/api/notifications", notifications),
        Route("/api/notifications/stream", stream),
    ]
