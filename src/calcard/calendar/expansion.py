"""A calendar object's recurrence set expanded into its instances (RFC 4791 §9.6.5).

CalDAV's ``expand`` asks for every instance overlapping a window as a component
of its own: in UTC, with a RECURRENCE-ID, without RRULE, RDATE, EXRULE or EXDATE,
overridden instances as overridden. Radicale does this for VEVENTs only; this is
the expansion for VTODOs, whose overlap with the window follows §9.9's table
(a task may have DTSTART, DUE, both, or DTSTART and DURATION).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
import recurring_ical_events

from calcard.core import recurrence, timebounds

# Instances are asked of the rule engine with this margin, then decided by §9.9.
MARGIN = timedelta(days=1)
TIMES = ("DTSTART", "DUE", "DTEND", "RECURRENCE-ID", "COMPLETED", "CREATED", "LAST-MODIFIED")


def expanded_todos(text: str, start: datetime, end: datetime) -> str | None:
    """``text``'s VTODO instances overlapping [start, end) as one VCALENDAR, or None
    when no instance does (the item then does not match, RFC 4791 §9.6.5).

    At most ``recurrence.MAX_OCCURRENCES`` instances, like every expansion here: the
    window is cut to ``core.timebounds`` and to the part the item's rules fill with that
    many (``recurrence.window``), so no window makes the work unbounded.
    """
    start, end = timebounds.clamp(start, end)
    first, last = recurrence.window(text, start, end, datetime.now(UTC))
    calendar = icalendar.Calendar.from_ical(text)
    found = recurring_ical_events.of(calendar, components=["VTODO"]).between(
        first - MARGIN, last + MARGIN
    )
    instances = [todo for todo in found if _overlaps(todo, start, end)]
    if not instances:
        return None
    result = icalendar.Calendar()
    for name, value in calendar.property_items(recursive=False):
        if name not in ("BEGIN", "END"):
            result.add(name, value)
    for todo in instances[: recurrence.MAX_OCCURRENCES]:
        result.add_component(_in_utc(todo))
    return result.to_ical().decode()


def _utc(value: date | datetime) -> date | datetime:
    """A date stays a date; a floating time is read as UTC (as Radicale's expand does)."""
    if not isinstance(value, datetime):
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in_utc(todo: icalendar.Todo) -> icalendar.Todo:
    for name in TIMES:
        if name in todo:
            value = _utc(todo.decoded(name))
            del todo[name]
            todo.add(name, value)
    return todo


def _moment(todo: icalendar.Todo, name: str) -> datetime | None:
    if name not in todo:
        return None
    value = _utc(todo.decoded(name))
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, datetime.min.time(), UTC)


def _overlaps(todo: icalendar.Todo, start: datetime, end: datetime) -> bool:
    """RFC 4791 §9.9: whether a VTODO instance overlaps the time range [start, end)."""
    dtstart, due = _moment(todo, "DTSTART"), _moment(todo, "DUE")
    if dtstart is not None and due is None and "DURATION" in todo:
        due = dtstart + todo.decoded("DURATION")
        return start <= due and (end > dtstart or end >= due)
    if dtstart is not None and due is not None:
        return (start < due or start <= dtstart) and (end > dtstart or end >= due)
    if dtstart is not None:
        return start <= dtstart < end
    if due is not None:
        return start < due <= end
    return True  # neither: §9.9 decides by COMPLETED and CREATED, which do not recur
