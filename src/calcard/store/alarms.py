"""Which alarms of an iCalendar object fire when (RFC 5545 §3.6.6, RFC 9074).

Pure computation over the item text: recurring-ical-events expands every
occurrence (RRULE, RDATE, EXDATE, overrides) and every VALARM of events and
tasks into absolute trigger times; this module adds identity, channel and the
calcard repeat-until-stopped extension (``X-CALCARD-REPEAT``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import icalendar
import recurring_ical_events

from calcard.core.times import as_utc
from calcard.store import ical

INDEX_PROP = "X-CALCARD-ALARM-INDEX"
REPEAT_PROP = "X-CALCARD-REPEAT"
REPEATS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(weeks=1)}
CHANNELS = {"EMAIL": ("email",), "DISPLAY": ("display", "chat"), "AUDIO": ("display", "chat")}


@dataclass(frozen=True)
class Alarm:
    key: str  # "<occurrence's recurrence-id>|<alarm index>|<occurrence start>"
    channel: str
    fire_at: datetime
    title: str
    starts_at: datetime | None
    location: str
    repeat: str


def _stamped(text: str, calendar: icalendar.Calendar | None = None) -> icalendar.Calendar:
    """Parse (unless ``calendar`` is ``ical.calendar_of(text)`` already) and number each
    VALARM within its component, so occurrences keep identity."""
    calendar = ical.calendar_of(text) if calendar is None else calendar
    for component in calendar.subcomponents:
        for index, alarm in enumerate(a for a in component.subcomponents if a.name == "VALARM"):
            alarm[INDEX_PROP] = str(index)
    return calendar


def is_guest_copy(calendar: icalendar.Calendar, owner_addresses: set[str]) -> bool:
    """An event organized by someone else: its organizer's alarms are not ours to send."""
    for component in calendar.walk():
        organizer = component.get("ORGANIZER") if component.name in ("VEVENT", "VTODO") else None
        if organizer:
            address = str(organizer).lower().removeprefix("mailto:")
            return address not in owner_addresses
    return False


def alarms_between(
    text: str,
    start: datetime,
    end: datetime,
    owner_addresses: Iterable[str] = (),
    calendar: icalendar.Calendar | None = None,
) -> list[Alarm]:
    """Every alarm firing in [start, end), skipping acknowledged ones and guest copies.

    Callers bound [start, end) with ``recurrence.window`` first (reminders.py)
    and cut the list at ``recurrence.MAX_OCCURRENCES``. ``calendar`` is
    ``ical.calendar_of(text)`` when the caller parsed it already (an import); its
    VALARMs get numbered (``INDEX_PROP``), nothing the occurrence index reads.
    """
    calendar = _stamped(text, calendar)
    if is_guest_copy(calendar, {a.lower() for a in owner_addresses}):
        return []
    query = recurring_ical_events.of(calendar, components=["VALARM"], skip_bad_series=True)
    found: list[Alarm] = []
    for occurrence in query.between(start, end):
        for alarm in occurrence.walk("VALARM"):
            found.extend(_alarm_rows(occurrence, alarm, start, end))
    return found


def _alarm_rows(occurrence, alarm, start: datetime, end: datetime) -> Iterable[Alarm]:
    fire_at = as_utc(alarm["TRIGGER"].dt)
    acknowledged = alarm.get("ACKNOWLEDGED")
    if acknowledged is not None and fire_at <= as_utc(acknowledged.dt):
        return
    if not start <= fire_at < end:
        return
    begin = occurrence.get("DTSTART") or occurrence.get("DUE")
    starts_at = as_utc(begin.dt) if begin is not None else None
    start_text = starts_at.isoformat() if starts_at else ""
    key = f"{_anchor(occurrence)}|{alarm.get(INDEX_PROP, '0')}|{start_text}"
    repeat = str(alarm.get(REPEAT_PROP, "")).lower()
    for channel in CHANNELS.get(str(alarm.get("ACTION", "DISPLAY")).upper(), ("display", "chat")):
        yield Alarm(
            key=key,
            channel=channel,
            fire_at=fire_at,
            title=str(occurrence.get("SUMMARY", "")) or "(no title)",
            starts_at=starts_at,
            location=str(occurrence.get("LOCATION", "")),
            repeat=repeat if repeat in REPEATS else "",
        )


def acknowledge(text: str, key: str, when: datetime) -> str:
    """The item text with ACKNOWLEDGED set on the alarm named by ``key`` (RFC 9074 §6)."""
    anchor, index, _ = key.split("|", 2)
    calendar = icalendar.Calendar.from_ical(text)
    components = [c for c in calendar.subcomponents if c.name in ("VEVENT", "VTODO")]
    target = next((c for c in components if _anchor(c) == anchor), None)
    target = target or next((c for c in components if c.get("RECURRENCE-ID") is None), None)
    alarms = [a for a in target.subcomponents if a.name == "VALARM"] if target else []
    if int(index) < len(alarms):
        alarms[int(index)].pop("ACKNOWLEDGED", None)
        alarms[int(index)].add("ACKNOWLEDGED", when.astimezone(UTC))
    return calendar.to_ical().decode()


def _anchor(component) -> str:
    recurrence = component.get("RECURRENCE-ID")
    return as_utc(recurrence.dt).isoformat() if recurrence is not None else "master"
