"""The web calendar's events: occurrences in a range, create, edit, move, delete.

Thin JSON over ``calcard.events``; every change goes through ``calcard.store``
like a DAV PUT, so DAV clients see it at their next sync.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.routing import Route

from calcard import scheduling, store
from calcard.calendar import events
from calcard.core import timebounds
from calcard.core.catalogs import N_
from calcard.core.errors import Refusal
from calcard.web.api.common import ApiContext, Call, endpoint, query_param

MAX_RANGE = timedelta(days=400)
OBJECT = {"type": "object"}


def time_range(request: Request) -> tuple[datetime, datetime]:
    try:
        start = datetime.fromisoformat(query_param(request, "start"))
        end = datetime.fromisoformat(query_param(request, "end"))
        timebounds.check_instant(start, "start")
        timebounds.check_instant(end, "end")
    except timebounds.OutOfRange:
        raise  # its own message, not the generic one below
    except ValueError as exc:
        raise Refusal(N_("start and end must be ISO 8601 date-times with offset")) from exc
    if start.tzinfo is None or end.tzinfo is None or not start < end <= start + MAX_RANGE:
        raise Refusal(N_("start and end need offsets, end after start, at most 400 days"))
    return start, end


def _item_json(item) -> dict:
    return {"href": item.href, "uid": item.uid, "etag": item.etag}


def _write(call: Call):
    """A write transaction locking the calendar's owner and everyone the change may
    schedule into (found before the lock, so all are taken up front, in order)."""
    calendar = call.body.get("calendar") or call.request.query_params.get("calendar")
    href = call.body.get("href") or call.request.query_params.get("href")
    attendees = call.body.get("attendees")
    named = [str(a) for a in attendees] if isinstance(attendees, list) else []
    path = str(calendar or "").strip("/")
    with call.read() as s:
        collection = store.get_collection(s, path)
        old = store.get_item(s, collection.id, str(href)) if collection and href else None
        involved = scheduling.owners_involved(s, [old.text if old else None], named)
    return call.write(store.owner_of(path), *involved)


def _target(s, call: Call) -> events.Target:
    body = call.body
    path, href = str(body.get("calendar", "")), str(body.get("href", ""))
    rid, etag = body.get("recurrence_id") or None, body.get("etag") or None
    return events.open_event(s, call.login, path, href, rid, etag)


def occurrences(call: Call) -> dict:
    """The occurrences of a calendar's events from start to end (ISO with offsets)."""
    start, end = time_range(call.request)
    path = call.query("calendar")
    with call.read() as s:
        return {"events": events.occurrences(s, call.login, path, start, end)}


def one(call: Call) -> dict:
    """One event (or one occurrence: ?recurrence_id=) as the form edits it."""
    path, href = call.query("calendar"), call.query("href")
    rid = call.request.query_params.get("recurrence_id") or None
    with call.read() as s:
        return events.detail(s, call.login, path, href, rid)


def create(call: Call) -> dict:
    """Create an event in a calendar (stored as a DAV PUT would be)."""
    with _write(call) as s:
        data = events.parse_input(call.body)
        return _item_json(events.create(s, call.login, str(call.body.get("calendar", "")), data))


def update(call: Call) -> dict:
    """Edit an event or one occurrence (etag: 409 when it changed meanwhile)."""
    with _write(call) as s:
        data = events.parse_input(call.body)
        return _item_json(events.update(s, call.login, _target(s, call), data))


def remove(call: Call) -> dict:
    """Move an event to the trash, or cancel one occurrence (If-Match: its ETag)."""
    path, href = call.query("calendar"), call.query("href")
    rid = call.request.query_params.get("recurrence_id") or None
    etag = call.request.headers.get("if-match")
    with _write(call) as s:
        events.delete(s, call.login, path, href, rid, etag)
    return {"deleted": href, "recurrence_id": rid}


def move(call: Call) -> dict:
    """Move an event or one occurrence to a new start and end (drag and drop)."""
    with _write(call) as s:
        start, end, old = (
            events.parse_instant(call.body.get(n), n) for n in ("start", "end", "old_start")
        )
        return _item_json(events.move(s, call.login, _target(s, call), (start, end), old))


def routes(ctx: ApiContext) -> list[Route]:
    return [
        endpoint(ctx, "GET", "/api/events", occurrences),
        endpoint(ctx, "GET", "/api/event", one),
        endpoint(ctx, "POST", "/api/event", create, body=OBJECT, status=201),
        endpoint(ctx, "PUT", "/api/event", update, body=OBJECT),
        endpoint(ctx, "DELETE", "/api/event", remove),
        endpoint(ctx, "POST", "/api/event/move", move, body=OBJECT),
    ]
