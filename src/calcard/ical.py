"""Parsing and splitting iCalendar and vCard data outside the DAV path (import, export).

DAV uploads get their metadata from Radicale; imports compute the same fields
here. The time range is a safe superset: a too-wide range only costs an extra
check in Radicale, a too-narrow one would hide an event from a query.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import icalendar
import vobject
from dateutil.rrule import rruleset, rrulestr

from calcard.store import TIMESTAMP_MAX, TIMESTAMP_MIN, etag_of  # noqa: F401 (part of this API)

COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL")
FLOATING_SLACK = timedelta(hours=14)  # the widest UTC offset in use
MAX_COUNT_EXPANSION = 100_000


class ParseError(ValueError):
    pass


@dataclass(frozen=True)
class Entry:
    """One storable object: all components sharing a UID, as its own text."""

    uid: str
    text: str
    component: str
    start: int
    end: int

    @property
    def etag(self) -> str:
        return etag_of(self.text)


def _timestamp(value: date | datetime, widen: timedelta) -> float:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.timestamp()
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return (value.replace(tzinfo=UTC) + widen).timestamp()


def _duration(component) -> timedelta:
    start = component.get("DTSTART").dt
    for key in ("DTEND", "DUE"):
        if component.get(key) is not None:
            end = component.get(key).dt
            try:
                return max(end - start, timedelta(0))
            except TypeError:  # date vs datetime: be generous
                return timedelta(days=1)
    if component.get("DURATION") is not None:
        return component.get("DURATION").dt
    return timedelta(days=1) if not isinstance(start, datetime) else timedelta(0)


def _last_start(component) -> date | datetime | None:
    """Start of the last occurrence, or None when the series never ends."""
    start = component.get("DTSTART").dt
    last = start
    rules = component.get("RRULE")
    for rule in rules if isinstance(rules, list) else [rules] if rules else []:
        if "UNTIL" in rule:
            until = rule["UNTIL"][0]
            last = max(_timestamp(last, timedelta(0)), _timestamp(until, FLOATING_SLACK))
            last = datetime.fromtimestamp(last, UTC)
        elif "COUNT" in rule and int(rule["COUNT"][0]) <= MAX_COUNT_EXPANSION:
            dtstart = (
                start
                if isinstance(start, datetime)
                else datetime(start.year, start.month, start.day)
            )
            series = rruleset()
            series.rrule(rrulestr(rule.to_ical().decode(), dtstart=dtstart))
            occurrences = list(series)
            if occurrences:
                last = datetime.fromtimestamp(
                    max(
                        _timestamp(last, timedelta(0)), _timestamp(occurrences[-1], FLOATING_SLACK)
                    ),
                    UTC,
                )
        else:
            return None
    for rdate in (
        component.get("RDATE", [])
        if isinstance(component.get("RDATE"), list)
        else ([component.get("RDATE")] if component.get("RDATE") else [])
    ):
        for period in rdate.dts:
            value = period.dt[0] if isinstance(period.dt, tuple) else period.dt
            last = datetime.fromtimestamp(
                max(_timestamp(last, timedelta(0)), _timestamp(value, FLOATING_SLACK)), UTC
            )
    return last


def time_range(components: list) -> tuple[int, int]:
    """Enclosing POSIX range of all occurrences of the given components."""
    starts: list[float] = []
    ends: list[float] = []
    for component in components:
        if component.get("DTSTART") is None:
            due = component.get("DUE")
            if due is None:
                return TIMESTAMP_MIN, TIMESTAMP_MAX
            starts.append(_timestamp(due.dt, -FLOATING_SLACK))
            ends.append(_timestamp(due.dt, FLOATING_SLACK))
            continue
        start = component.get("DTSTART").dt
        starts.append(_timestamp(start, -FLOATING_SLACK))
        last = _last_start(component)
        if last is None:
            ends.append(TIMESTAMP_MAX)
        else:
            ends.append(_timestamp(last, FLOATING_SLACK) + _duration(component).total_seconds())
    if not starts:
        return TIMESTAMP_MIN, TIMESTAMP_MAX
    return int(min(starts)), min(int(max(ends)) + 1, TIMESTAMP_MAX)


def split_calendar(data: bytes | str) -> Iterator[Entry | ParseError]:
    """One Entry per UID (overrides kept with their master), with the time zones it uses.

    Broken or UID-less objects come out as ParseError so one bad entry never
    stops the rest of an import.
    """
    try:
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except ValueError as exc:
        raise ParseError(f"not an iCalendar file: {exc}") from exc
    for calendar in calendars:
        timezones = {str(tz["TZID"]): tz for tz in calendar.walk("VTIMEZONE")}
        groups: dict[str, list] = {}
        for component in calendar.subcomponents:
            if component.name not in COMPONENTS:
                continue
            uid = str(component.get("UID", "")).strip()
            if not uid:
                yield ParseError(f"{component.name} without UID skipped")
                continue
            groups.setdefault(uid, []).append(component)
        for uid, components in groups.items():
            try:
                yield _entry(uid, components, timezones)
            except (ValueError, TypeError, KeyError) as exc:
                yield ParseError(f"{uid}: {exc}")


def _entry(uid: str, components: list, timezones: dict) -> Entry:
    calendar = icalendar.Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", "-//calcard//import//EN")
    used = {
        str(value.params["TZID"])
        for component in components
        for _name, value in component.property_items(recursive=True, sorted=False)
        if "TZID" in getattr(value, "params", {})
    }
    for tzid in sorted(used):
        if tzid in timezones:
            calendar.add_component(timezones[tzid])
    for component in components:
        calendar.add_component(component)
    start, end = time_range(components)
    return Entry(uid, calendar.to_ical().decode(), components[0].name, start, end)


def split_vcards(data: str) -> Iterator[Entry | ParseError]:
    """One Entry per vCard; a missing UID is added so the card can be stored."""
    try:
        cards = list(vobject.readComponents(data, allowQP=True))
    except Exception as exc:  # noqa: BLE001 - vobject raises many kinds
        raise ParseError(f"not a vCard file: {exc}") from exc
    for card in cards:
        if card.name != "VCARD":
            yield ParseError(f"{card.name} is not a vCard")
            continue
        if "uid" not in card.contents:
            card.add("uid").value = str(uuid.uuid4())
        try:
            text = card.serialize()
        except Exception as exc:  # noqa: BLE001
            yield ParseError(f"broken vCard {card.uid.value!r}: {exc}")
            continue
        yield Entry(card.uid.value, text, "VCARD", TIMESTAMP_MIN, TIMESTAMP_MAX)
