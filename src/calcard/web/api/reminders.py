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

from calcard import accounts
from calcard.core import catalogs, links
from calcard.core.catalogs import N_, say
from calcard.core.db import lock_owners
from calcard.core.errors import Kind, Refusal
from calcard.core.models import Notification, Reminder, as_id
from calcard.core.times import as_utc, utcnow
from calcard.reminders import dispatch
from calcard.store import reminders
from calcard.web.api.common import (
    FORM,
    JSON,
    ApiContext,
    Call,
    authenticated_login,
    endpoint,
    form_fields,
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


def _no_reminder(call: Call, reminder_id: int | None) -> HTMLResponse:
    language = _language(call)
    body = say(language, "No reminder {id} to stop.", id=reminder_id)
    return page(language, say(language, "Reminder"), f"<p>{escape(body)}</p>", 404)


def _language(call: Call, owner_language: str | None = None) -> str:
    """The stop pages are opened from a mail, maybe not logged in: the browser's
    language, else the reminder owner's."""
    return catalogs.choose(None, call.request.headers.get("accept-language"), owner_language)


def list_reminders(call: Call) -> dict:
    """The caller's reminders with delivery status (optional ?status=)."""
    status = call.request.query_params.get("status")
    with call.read() as s:
        return {"reminders": [reminder_json(r) for r in reminders.list_for(s, call.login, status)]}


def confirm_stop(call: Call) -> HTMLResponse:
    """The page behind a repeating reminder's stop link: a button that stops it.

    GET changes nothing (mail scanners and link previews follow links); the
    button POSTs the signature back.
    """
    reminder_id = as_id(call.params["id"])
    signature = call.request.query_params.get("sig", "")
    with call.read() as s:
        row = s.get(Reminder, reminder_id) if reminder_id is not None else None
        if row is None or not links.verify(s, dispatch.stop_purpose(row), signature):
            return _no_reminder(call, reminder_id)
        title = row.title
        language = _language(call, accounts.language(s, row.owner))
    stop_label = say(language, "Stop")
    return page(
        language,
        say(language, "Stop this reminder?"),
        f"<p>{escape(title)}</p>"
        f"<form method='post' action='/api/reminders/{reminder_id}/stop'>"
        f"<input type='hidden' name='sig' value='{escape(signature)}'>"
        f"<button>{escape(stop_label)}</button></form>",
    )


async def _signature(request: Request) -> str:
    """The signature the stop page's form posts back ("" for a JSON or empty body)."""
    if request.headers.get("content-type", "").startswith(FORM):
        return (await form_fields(request)).get("sig", "")
    return ""


def stop(call: Call) -> Response:
    """Stop a repeating reminder (login, or the signature from its mail's link, POSTed)."""
    reminder_id, signature = as_id(call.params["id"]), call.upload
    login = None if signature else authenticated_login(call.ctx, call.request)
    with call.write() as s:
        row = s.get(Reminder, reminder_id) if reminder_id is not None else None
        allowed = row is not None and (
            row.owner == login if login else links.verify(s, dispatch.stop_purpose(row), signature)
        )
        if not allowed and signature:
            return _no_reminder(call, reminder_id)
        if not allowed or row is None:
            raise Refusal(
                N_("no reminder {reminder_id} to stop"),
                Kind.NOT_FOUND,
                values={"reminder_id": reminder_id},
            )
        lock_owners(s, [row.owner])  # the stop writes ACKNOWLEDGED into the owner's event
        dispatch.stop(s, row.id, utcnow())
        language = _language(call, accounts.language(s, row.owner))
    if signature:
        done = escape(say(language, "It will not repeat again."))
        return page(language, say(language, "Reminder stopped"), f"<p>{done}</p>")
    return JSONResponse({"stopped": reminder_id})


def notifications(call: Call) -> dict:
    """Recent browser notifications (?after=ID for newer ones only)."""
    after = query_number(call.request, "after")
    return {"notifications": _notifications_after(call.ctx, call.login, after)}


def stream(call: Call) -> StreamingResponse:
    """Browser notifications as server-sent events (Last-Event-ID resumes)."""
    request, ctx, login = call.request, call.ctx, call.login
    start = request.headers.get("last-event-id") or request.query_params.get("after") or "0"
    first = as_id(start)
    if first is None:
        raise Refusal(N_("Last-Event-ID must be a notification id"))

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


def routes(ctx: ApiContext) -> list[Route]:
    stop_path = "/api/reminders/{id:int}/stop"
    return [
        endpoint(ctx, "GET", "/api/reminders", list_reminders),
        endpoint(ctx, "GET", stop_path, confirm_stop, auth=False),  # a signed link, no login
        endpoint(
            ctx, "POST", stop_path, stop, auth=False, upload=_signature, types=(JSON, FORM, "")
        ),
        endpoint(ctx, "GET", "/api/notifications", notifications),
        endpoint(ctx, "GET", "/api/notifications/stream", stream),
    ]
