"""Tasks (VTODO) for the web calendar: list, create, edit, complete, reopen, delete.

Like events, tasks are written through ``events.save`` and ``calendar.saving``,
so DAV clients (phones' reminder apps, Thunderbird) see the same VTODO at
their next sync. Completion follows RFC 5545 as those clients expect:
``STATUS:COMPLETED`` with a ``COMPLETED`` time and ``PERCENT-COMPLETE:100``;
reopening sets ``STATUS:NEEDS-ACTION`` and drops both. Properties the form
does not edit (DTSTART, categories, alarms, RRULE...) are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy.orm import Session

from calcard import store
from calcard.calendar import events, saving
from calcard.core import times
from calcard.core.catalogs import N_
from calcard.core.errors import Kind, Refusal
from calcard.sharing import access
from calcard.store import ItemData, busy

MANAGED = ("SUMMARY", "DESCRIPTION", "PRIORITY", "DUE", "DURATION")
COMPLETION = ("STATUS", "COMPLETED", "PERCENT-COMPLETE")


@dataclass(frozen=True)
class TaskInput:
    """What the task form edits; ``due`` is a date, or a wall-clock time in ``timezone``."""

    summary: str
    due: date | datetime | None = None
    timezone: str = "UTC"
    priority: int = 0  # RFC 5545: 0 undefined, 1 highest ... 9 lowest
    description: str = ""
    completed: bool | None = None  # None: leave as it is


# --- reading -------------------------------------------------------------------------------


def tasks(
    s: Session,
    login: str,
    path: str,
    completed: bool = True,
    between: tuple[datetime, datetime] | None = None,
) -> list[dict]:
    """The calendar's tasks, open ones first by due date; with ``between``, only those due
    in that range (for the calendar views)."""
    collection = events.find_calendar(s, login, path)
    writable = access.may(s, login, access.WRITE, collection.path)
    zone = busy.user_zone(s, login)
    low, high = store.TIMESTAMP_MIN, store.TIMESTAMP_MAX
    if between:
        low, high = int(between[0].timestamp()) - 1, int(between[1].timestamp()) + 1
    found = []
    for item in store.filter_items(s, collection.id, "VTODO", low, high):
        todo = _todo(item)
        if todo is None or (not completed and _is_completed(todo)):
            continue
        if between and not _due_between(todo, between, zone):
            continue
        found.append(_task_json(todo, item, collection.path, zone, writable))
    return sorted(found, key=_order)


def _todo(item: ItemData):
    try:
        calendar = icalendar.Calendar.from_ical(item.text)
    except ValueError:
        return None  # something DAV accepted but we cannot read is left out, not fatal
    return next((c for c in calendar.walk("VTODO") if c.get("RECURRENCE-ID") is None), None)


def _is_completed(todo) -> bool:
    return str(todo.get("STATUS", "")).upper() == "COMPLETED" or todo.get("COMPLETED") is not None


def _due_between(todo, between: tuple[datetime, datetime], zone: ZoneInfo) -> bool:
    due = todo.get("DUE")
    return due is not None and between[0] <= times.localize(due.dt, zone) < between[1]


def _task_json(todo, item: ItemData, path: str, zone: ZoneInfo, writable: bool) -> dict:
    due = todo.get("DUE")
    own_zone = events.zone_of(due.dt, zone) if due is not None else zone
    completed_at = todo.get("COMPLETED")
    return {
        "calendar": f"/{path}/",
        "href": item.href,
        "uid": item.uid,
        "etag": item.etag,
        "summary": str(todo.get("SUMMARY", "")),
        "description": str(todo.get("DESCRIPTION", "")),
        "due": events.iso(due.dt, own_zone) if due is not None else None,
        "all_day": due is not None and not isinstance(due.dt, datetime),
        "timezone": own_zone.key,
        "priority": int(todo.get("PRIORITY", 0) or 0),
        "completed": _is_completed(todo),
        "completed_at": times.localize(completed_at.dt, UTC).isoformat() if completed_at else None,
        "percent": int(todo.get("PERCENT-COMPLETE", 0) or 0),
        "recurring": todo.get("RRULE") is not None,
        "writable": writable,
    }


def _order(task: dict) -> tuple:
    due = task["due"]
    moment = times.localize(events.parse_instant(due, "due"), UTC) if due else None
    return (
        task["completed"],
        moment is None,
        moment or datetime.min.replace(tzinfo=UTC),
        task["priority"] or 10,
        task["summary"].lower(),
    )


# --- changing ------------------------------------------------------------------------------


def create(s: Session, login: str, path: str, data: TaskInput) -> ItemData:
    collection = events.find_calendar(s, login, path, write=True)
    store.check_component(collection, "VTODO", None)  # not into an events-only calendar
    todo = icalendar.Todo()
    calendar, uid = events.new_item(todo)
    todo.add("CREATED", datetime.now(UTC))
    _apply(todo, data)
    _set_completed(todo, bool(data.completed))
    return events.save(s, login, collection, f"{uid}.ics", calendar)


def update(s: Session, login: str, path: str, href: str, etag: str | None, data: TaskInput):
    """Replace the form's fields; ``data.completed`` None leaves completion alone."""
    collection, calendar, todo = _open(s, login, path, href, etag)
    _apply(todo, data)
    if data.completed is not None and data.completed != _is_completed(todo):
        _set_completed(todo, data.completed)
    _changed(todo)
    return events.save(s, login, collection, href, calendar)


def complete(s: Session, login: str, path: str, href: str, etag: str | None, done: bool):
    """Mark the task done (now) or open again."""
    collection, calendar, todo = _open(s, login, path, href, etag)
    if done != _is_completed(todo):
        _set_completed(todo, done)
        _changed(todo)
    return events.save(s, login, collection, href, calendar)


def delete(s: Session, login: str, path: str, href: str, etag: str | None) -> None:
    """Move the task to the trash."""
    collection = _open(s, login, path, href, etag)[0]
    saving.delete(s, collection, href, actor=login)


def _open(s: Session, login: str, path: str, href: str, etag: str | None):
    collection = events.find_calendar(s, login, path, write=True)
    item = store.get_item(s, collection.id, href)
    if item is None or item.component != "VTODO":
        raise Refusal(
            N_("no task {href!r} in /{path}/"),
            Kind.NOT_FOUND,
            values={"href": href, "path": collection.path},
        )
    if etag and etag != item.etag:
        raise Refusal(N_("the task was changed meanwhile; reload and try again"), Kind.CONFLICT)
    calendar = icalendar.Calendar.from_ical(item.text)
    todo = next((c for c in calendar.walk("VTODO") if c.get("RECURRENCE-ID") is None), None)
    if todo is None:
        raise Refusal(N_("the task has no main component (only overrides)"))
    return collection, calendar, todo


def _apply(todo, data: TaskInput) -> None:
    for name in MANAGED:
        todo.pop(name, None)
    todo.add("SUMMARY", data.summary)
    if data.description:
        todo.add("DESCRIPTION", data.description)
    if data.priority:
        todo.add("PRIORITY", data.priority)
    if data.due is None:
        return
    due = data.due
    if isinstance(due, datetime):
        due = due.replace(tzinfo=ZoneInfo(data.timezone))
    todo.add("DUE", due)
    start = todo.get("DTSTART")
    if start is not None and not _before(start.dt, due):
        todo.pop("DTSTART")  # RFC 5545: DUE is after DTSTART, both dates or both times


def _before(start: date | datetime, due: date | datetime) -> bool:
    if isinstance(start, datetime) != isinstance(due, datetime):
        return False
    if isinstance(start, datetime) and isinstance(due, datetime):
        if (start.tzinfo is None) != (due.tzinfo is None):
            return False
    return start <= due


def _set_completed(todo, done: bool) -> None:
    for name in COMPLETION:
        todo.pop(name, None)
    if done:
        todo.add("STATUS", "COMPLETED")
        todo.add("COMPLETED", datetime.now(UTC).replace(microsecond=0))
        todo.add("PERCENT-COMPLETE", 100)
    else:
        todo.add("STATUS", "NEEDS-ACTION")


def _changed(todo) -> None:
    events.touch(todo)
    todo.pop("LAST-MODIFIED", None)
    todo.add("LAST-MODIFIED", datetime.now(UTC).replace(microsecond=0))


# --- the form's input ----------------------------------------------------------------------


def parse_input(body: dict) -> TaskInput:
    """Validate the task form's JSON; every problem is a 400 with its reason."""
    summary = body.get("summary")
    if not isinstance(summary, str) or not summary.strip() or len(summary) > 1000:
        raise Refusal(N_("summary must be text of 1 to 1000 characters"))
    description = body.get("description") or ""
    if not isinstance(description, str) or len(description) > 20000:
        raise Refusal(N_("description must be text of at most 20000 characters"))
    timezone = str(body.get("timezone") or "UTC")
    if not times.valid_zone(timezone):
        raise Refusal(N_("unknown time zone {timezone!r}"), values={"timezone": timezone})
    priority = body.get("priority") or 0
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 9:
        raise Refusal(N_("priority must be a whole number from 0 (none) to 9"))
    completed = body.get("completed")
    if completed is not None and not isinstance(completed, bool):
        raise Refusal(N_("completed must be true or false"))
    return TaskInput(
        summary=summary.strip(),
        due=_parse_due(body.get("due")),
        timezone=timezone,
        priority=priority,
        description=description.strip(),
        completed=completed,
    )


def _parse_due(value: object) -> date | datetime | None:
    if value in (None, ""):
        return None
    text = str(value)
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Refusal(N_("due must be YYYY-MM-DD or YYYY-MM-DDTHH:MM")) from exc
    if moment.tzinfo is not None:
        raise Refusal(N_("due is a wall-clock time (YYYY-MM-DDTHH:MM) in the given time zone"))
    return moment.replace(second=0, microsecond=0)
