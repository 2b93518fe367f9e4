"""Tasks (VTODO) for the web calendar: the task list, create, edit, complete, delete.

Thin JSON over ``calcard.tasks``; like events, every change is stored as a DAV
PUT would be, so DAV clients see it at their next sync.
"""

from __future__ import annotations

from starlette.routing import Route

from calcard.calendar import tasks
from calcard.store import owner_of
from calcard.web.api.common import ApiContext, Call, endpoint
from calcard.web.api.events import time_range

TASK_FIELDS = {
    "calendar": {"type": "string"},
    "summary": {"type": "string", "maxLength": 1000},
    "due": {
        "type": ["string", "null"],
        "description": "YYYY-MM-DD, or YYYY-MM-DDTHH:MM in timezone; null for none",
    },
    "timezone": {"type": "string"},
    "priority": {"type": "integer", "minimum": 0, "maximum": 9},
    "description": {"type": "string"},
    "completed": {"type": "boolean"},
}
TARGET = {"href": {"type": "string"}, "etag": {"type": "string"}}


def _write(call: Call, path: str):
    """A write transaction serialized with the calendar owner's writes (as DAV's)."""
    return call.write(owner_of(path.strip("/")))


def _item_json(item) -> dict:
    return {"href": item.href, "uid": item.uid, "etag": item.etag}


def list_tasks(call: Call) -> dict:
    """The calendar's tasks (query: calendar; completed=false hides done ones;
    start and end, ISO with offsets, keep only those due in that range)."""
    path = call.query("calendar")
    completed = call.request.query_params.get("completed", "true") not in ("false", "0")
    between = time_range(call.request) if "start" in call.request.query_params else None
    with call.read() as s:
        return {"tasks": tasks.tasks(s, call.login, path, completed, between)}


def create(call: Call) -> dict:
    """Create a task in a calendar."""
    path = call.field("calendar")
    with _write(call, path) as s:
        return _item_json(tasks.create(s, call.login, path, tasks.parse_input(call.body)))


def update(call: Call) -> dict:
    """Edit a task (etag: refused with 409 when it changed meanwhile)."""
    path, href = call.field("calendar"), call.field("href")
    etag = call.optional("etag", str)
    with _write(call, path) as s:
        data = tasks.parse_input(call.body)
        return _item_json(tasks.update(s, call.login, path, href, etag, data))


def complete(call: Call) -> dict:
    """Mark a task completed (STATUS, COMPLETED, PERCENT-COMPLETE:100) or reopen it."""
    path, href = call.field("calendar"), call.field("href")
    done = call.field("completed", bool)
    etag = call.optional("etag", str)
    with _write(call, path) as s:
        return _item_json(tasks.complete(s, call.login, path, href, etag, done))


def remove(call: Call) -> dict:
    """Move a task to the trash (query: calendar, href)."""
    path, href = call.query("calendar"), call.query("href")
    etag = call.request.headers.get("if-match")
    with _write(call, path) as s:
        tasks.delete(s, call.login, path, href, etag)
    return {"deleted": href}


def routes(ctx: ApiContext) -> list[Route]:
    new = {"type": "object", "required": ["calendar", "summary"], "properties": TASK_FIELDS}
    edit = {
        "type": "object",
        "required": ["calendar", "href", "summary"],
        "properties": {**TASK_FIELDS, **TARGET},
    }
    done = {
        "type": "object",
        "required": ["calendar", "href", "completed"],
        "properties": {
            "calendar": TASK_FIELDS["calendar"],
            "completed": {"type": "boolean"},
            **TARGET,
        },
    }
    return [
        endpoint(ctx, "GET", "/api/tasks", list_tasks),
        endpoint(ctx, "POST", "/api/task", create, body=new, status=201),
        endpoint(ctx, "PUT", "/api/task", update, body=edit),
        endpoint(ctx, "POST", "/api/task/complete", complete, body=done),
        endpoint(ctx, "DELETE", "/api/task", remove),
    ]
