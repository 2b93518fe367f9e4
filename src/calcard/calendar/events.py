"""Events for the web calendar: occurrences in a range, and create, edit, move, delete.

The web UI changes calendars only through here and ``calcard.store``, the
storage DAV uses, so DAV clients see every change and the sync log, reminder
schedule and busy time are written with the item (DESIGN.md rule 3). Items are
built and edited with the icalendar library; recurring ones are expanded with
recurring-ical-events. One occurrence of a series is changed with an override
(RECURRENCE-ID) and removed with an EXDATE, as RFC 5545 clients expect.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from sqlalchemy.orm import Session

from calcard import freebusy, sharing, store
from calcard.calendar import attachments, saving
from calcard.calendar.calendars import color_of
from calcard.core import recurrence, timebounds, times
from calcard.core.catalogs import N_
from calcard.core.errors import Kind, Refusal
from calcard.sharing import access
from calcard.store import ItemData, alarms, busy, ical

FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
ACTIONS = ("DISPLAY", "EMAIL")
MANAGED = ("SUMMARY", "DTSTART", "DTEND", "DURATION", "LOCATION", "DESCRIPTION", "ATTENDEE")


@dataclass(frozen=True)
class CalendarInfo:
    path: str
    name: str
    color: str
    owner: str
    writable: bool


@dataclass(frozen=True)
class Alarm:
    minutes: int  # before the start
    action: str  # DISPLAY (browser and chat) or EMAIL
    repeat: str = ""  # "", hourly, daily, weekly: until stopped (alarms.REPEAT_PROP)


@dataclass(frozen=True)
class Rule:
    freq: str
    interval: int = 1
    byday: tuple[str, ...] = ()
    until: date | None = None
    count: int | None = None


@dataclass(frozen=True)
class EventInput:
    """What the event form edits; times are local to ``timezone`` (dates when all-day)."""

    title: str
    start: datetime | date
    end: datetime | date
    all_day: bool
    timezone: str
    location: str = ""
    description: str = ""
    rule: Rule | None = None
    alarms: tuple[Alarm, ...] = ()
    attendees: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()  # http(s) links (ATTACH;VALUE=URI)


# --- reading -------------------------------------------------------------------------------


def calendars(s: Session, login: str) -> list[CalendarInfo]:
    """The caller's own calendars, then those shared with them, with a color each."""
    own = [(c, c.props) for c in store.child_collections(s, login) if c.tag == "VCALENDAR"]
    shared = [
        (c.collection, c.props)  # the display name names the owner
        for c in sharing.shared_with(s, login)
        if c.collection.tag == "VCALENDAR"
    ]
    found: list[CalendarInfo] = []
    for index, (collection, props) in enumerate(own + shared):
        if not access.may(s, login, access.READ, collection.path):
            continue
        found.append(
            CalendarInfo(
                path=f"/{collection.path}/",
                name=props.get("D:displayname") or collection.path.rsplit("/", 1)[-1],
                color=color_of(props, index),
                owner=collection.owner,
                writable=access.may(s, login, access.WRITE, collection.path),
            )
        )
    return found


def occurrences(s: Session, login: str, path: str, start: datetime, end: datetime) -> list[dict]:
    """Every event occurrence of a calendar overlapping [start, end), recurring ones expanded."""
    collection = find_calendar(s, login, path)
    zone = busy.user_zone(s, login)
    first, last = start.astimezone(zone), end.astimezone(zone)
    rows = store.filter_items(
        s, collection.id, "VEVENT", int(start.timestamp()), int(end.timestamp()) + 1
    )
    found: list[dict] = []
    for item in rows:
        found.extend(_expand(item, first, last, zone, collection.path))
    return found


def _expand(item: ItemData, start: datetime, end: datetime, zone: ZoneInfo, path: str) -> list:
    try:
        calendar = icalendar.Calendar.from_ical(item.text)
        found = recurring_ical_events.of(calendar, skip_bad_series=True).between(start, end)
    except (ValueError, TypeError, KeyError):
        return []  # an event DAV accepted but we cannot expand is left out, not fatal
    recurring = _master(calendar).get("RRULE") is not None
    return [_occurrence_json(e, item, zone, path, recurring) for e in found]


def _occurrence_json(event, item: ItemData, zone: ZoneInfo, path: str, recurring: bool) -> dict:
    begin = event["DTSTART"].dt
    rid = event.get("RECURRENCE-ID")
    return {
        "calendar": f"/{path}/",
        "href": item.href,
        "uid": item.uid,
        "etag": item.etag,
        "recurrence_id": iso(rid.dt, zone) if recurring and rid is not None else None,
        "recurring": recurring,
        "title": str(event.get("SUMMARY", "")),
        "start": iso(begin, zone),
        "end": iso(_end_of(event), zone),
        "all_day": not isinstance(begin, datetime),
        "location": str(event.get("LOCATION", "")),
    }


def detail(s: Session, login: str, path: str, href: str, recurrence_id: str | None) -> dict:
    """The event form's fields: the series (master), or one occurrence of it."""
    collection = find_calendar(s, login, path)
    item = _item(s, collection, href)
    calendar = icalendar.Calendar.from_ical(item.text)
    master = _master(calendar)
    component = _occurrence(calendar, master, recurrence_id) if recurrence_id else master
    zone = zone_of(component["DTSTART"].dt, busy.user_zone(s, login))
    return {
        "calendar": f"/{collection.path}/",
        "href": item.href,
        "etag": item.etag,
        "recurrence_id": recurrence_id,
        "writable": access.may(s, login, access.WRITE, collection.path),
        **_form_json(component, zone),
        "rrule": _rule_json(master, zone),
    }


def _form_json(component, zone: ZoneInfo) -> dict:
    begin, finish = component["DTSTART"].dt, _end_of(component)
    all_day = not isinstance(begin, datetime)
    attendees = component.get("ATTENDEE", [])
    return {
        "title": str(component.get("SUMMARY", "")),
        "start": _local(begin, zone),
        "end": _local(finish, zone),
        "all_day": all_day,
        "timezone": zone.key,
        "location": str(component.get("LOCATION", "")),
        "description": str(component.get("DESCRIPTION", "")),
        "alarms": [asdict(a) for a in _alarms_of(component)],
        "attendees": [
            str(a).removeprefix("mailto:").removeprefix("MAILTO:")
            for a in (attendees if isinstance(attendees, list) else [attendees])
        ],
        "attachments": attachments.web_links(component),
    }


def _rule_json(master, zone: ZoneInfo) -> dict | None:
    rule = master.get("RRULE")
    if rule is None:
        return None
    until = rule.get("UNTIL", [None])[0]
    if isinstance(until, datetime):
        until = times.localize(until, zone).astimezone(zone).date()
    return {
        "freq": rule["FREQ"][0],
        "interval": int(rule.get("INTERVAL", [1])[0]),
        "byday": [str(d) for d in rule.get("BYDAY", [])],
        "until": until.isoformat() if until else None,
        "count": int(rule["COUNT"][0]) if "COUNT" in rule else None,
    }


def _alarms_of(component) -> list[Alarm]:
    found = []
    for alarm in component.walk("VALARM"):
        trigger = alarm.get("TRIGGER")
        if trigger is None or not isinstance(trigger.dt, timedelta):
            continue  # absolute triggers are kept by DAV clients, not shown in the form
        action = str(alarm.get("ACTION", "DISPLAY")).upper()
        repeat = str(alarm.get(alarms.REPEAT_PROP, "")).lower()
        found.append(
            Alarm(
                minutes=int(-trigger.dt.total_seconds() // 60),
                action=action if action in ACTIONS else "DISPLAY",
                repeat=repeat if repeat in alarms.REPEATS else "",
            )
        )
    return found


# --- changing ------------------------------------------------------------------------------


def new_item(component: icalendar.cal.Component) -> tuple[icalendar.Calendar, str]:
    """A VCALENDAR around ``component``, which gets a fresh UID and DTSTAMP; and the UID."""
    uid = str(uuid.uuid4())
    calendar = icalendar.Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", "-//calcard//web//EN")
    component.add("UID", uid)
    component.add("DTSTAMP", datetime.now(UTC))
    calendar.add_component(component)
    return calendar, uid


def create(s: Session, login: str, path: str, data: EventInput) -> ItemData:
    collection = find_calendar(s, login, path, write=True)
    store.check_component(collection, "VEVENT", None)  # not into a task list
    event = icalendar.Event()
    calendar, uid = new_item(event)
    event.add("SEQUENCE", 0)
    _apply(s, login, event, data, series=True)
    return save(s, login, collection, f"{uid}.ics", calendar)


@dataclass(frozen=True)
class Target:
    """An event opened for a change: where it lives, its calendar, and the component changed."""

    collection: store.CollectionData
    href: str
    calendar: icalendar.Calendar
    master: icalendar.Event
    component: icalendar.Event  # the master, or the override of one occurrence


def open_event(
    s: Session, login: str, path: str, href: str, recurrence_id: str | None, etag: str | None
) -> Target:
    """The event to change (one occurrence's override when ``recurrence_id`` is given)."""
    collection = find_calendar(s, login, path, write=True)
    calendar = _load(s, collection, href, etag)
    master = _master(calendar)
    component = _override(calendar, master, recurrence_id) if recurrence_id else master
    return Target(collection, href, calendar, master, component)


def update(s: Session, login: str, target: Target, data: EventInput) -> ItemData:
    """Replace the form's fields of the series, or of one occurrence (an override)."""
    _apply(s, login, target.component, data, series=target.component is target.master)
    touch(target.component)
    return save(s, login, target.collection, target.href, target.calendar)


def move(
    s: Session,
    login: str,
    target: Target,
    times: tuple[datetime | date, datetime | date],
    old_start: datetime | date,
) -> ItemData:
    """Drag and resize to ``times`` (start, end): one occurrence moves alone, a series
    shifts by as much as the dragged occurrence (from ``old_start``) moved."""
    component = target.component
    dtstart: Any = component["DTSTART"]  # a vDDDTypes; icalendar types it as any property
    begin: date | datetime = dtstart.dt
    new_start, new_end = times
    if isinstance(begin, datetime) != isinstance(new_start, datetime):
        raise Refusal(N_("open the event to switch between all-day and timed"))
    zone = zone_of(begin, busy.user_zone(s, login))
    if component is target.master:
        _shift_weekdays(component, _day(new_start, zone) - _day(old_start, zone))
        delta = _as_zone(new_start, zone) - _as_zone(old_start, zone)
        length = _as_zone(new_end, zone) - _as_zone(new_start, zone)
        new_start = _as_zone(begin, zone) + delta
        new_end = new_start + length
        _shift_exceptions(target.calendar, component, delta)
    _set_times(component, _as_zone(new_start, zone), _as_zone(new_end, zone))
    touch(component)
    return save(s, login, target.collection, target.href, target.calendar)


def delete(
    s: Session, login: str, path: str, href: str, recurrence_id: str | None, etag: str | None
) -> None:
    """Delete the whole event, or only one occurrence of a series (EXDATE)."""
    collection = find_calendar(s, login, path, write=True)
    calendar = _load(s, collection, href, etag)
    if not recurrence_id:
        saving.delete(s, collection, href, actor=login)
        return
    master = _master(calendar)
    moment = _recurrence(master, recurrence_id)
    for override in _overrides(calendar, moment):
        calendar.subcomponents.remove(override)
    master.add("EXDATE", moment)
    touch(master)
    save(s, login, collection, href, calendar)


# --- the form's input ----------------------------------------------------------------------


def parse_input(body: dict) -> EventInput:
    """Validate the event form's JSON; every problem is a 400 with its reason."""
    all_day = body.get("all_day", False)
    if not isinstance(all_day, bool):
        raise Refusal(N_("all_day must be true or false"))
    timezone = str(body.get("timezone") or "UTC")
    if not times.valid_zone(timezone):
        raise Refusal(N_("unknown time zone {timezone!r}"), values={"timezone": timezone})
    start = _parse_time(body.get("start"), all_day, "start")
    end = (
        _parse_time(body["end"], all_day, "end")
        if body.get("end")
        else start + (timedelta(days=1) if all_day else timedelta(hours=1))
    )
    if end <= start:
        raise Refusal(N_("the end must be after the start"))
    links = attachments.checked_links(body.get("attachments"))
    return EventInput(
        title=_text(body, "title", 1000) or "(no title)",
        start=start,
        end=end,
        all_day=all_day,
        timezone=timezone,
        location=_text(body, "location", 1000),
        description=_text(body, "description", 20000),
        rule=_parse_rule(body.get("rrule")),
        alarms=tuple(_parse_alarm(a) for a in _list(body, "alarms", 10)),
        attendees=tuple(str(a).strip() for a in _list(body, "attendees", 100) if str(a).strip()),
        attachments=links,
    )


def parse_instant(value: object, name: str) -> datetime | date:
    """A moment from FullCalendar: a date (all-day) or a date-time with offset."""
    text = str(value or "")
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError as exc:
        raise Refusal(
            N_("{name} must be an ISO 8601 date or date-time"), values={"name": name}
        ) from exc


def _text(body: dict, name: str, limit: int) -> str:
    value = body.get(name) or ""
    if not isinstance(value, str) or len(value) > limit:
        raise Refusal(
            N_("{name} must be text of at most {limit} characters"),
            values={"name": name, "limit": limit},
        )
    return value.strip()


def _list(body: dict, name: str, limit: int) -> list:
    value = body.get(name) or []
    if not isinstance(value, list) or len(value) > limit:
        raise Refusal(
            N_("{name} must be a list of at most {limit} entries"),
            values={"name": name, "limit": limit},
        )
    return value


def _parse_time(value: object, all_day: bool, name: str) -> datetime | date:
    try:
        day = date.fromisoformat(str(value)[:10]) if all_day else None
        moment = day or datetime.fromisoformat(str(value))
        timebounds.check_instant(moment, name)
    except timebounds.OutOfRange as exc:
        raise Refusal(exc.template, values=exc.values) from exc
    except ValueError as exc:
        raise Refusal(
            N_("{name} must be YYYY-MM-DD or YYYY-MM-DDTHH:MM"), values={"name": name}
        ) from exc
    if not isinstance(moment, datetime):
        return moment  # the day
    return moment.replace(tzinfo=None, second=0, microsecond=0)


def _parse_rule(value: object) -> Rule | None:
    if not value:
        return None
    if not isinstance(value, dict) or value.get("freq") not in FREQUENCIES:
        raise Refusal(
            N_("rrule.freq must be one of {frequencies}"),
            values={"frequencies": ", ".join(FREQUENCIES)},
        )
    interval, count = value.get("interval") or 1, value.get("count")
    byday = tuple(value.get("byday") or ())
    if not isinstance(interval, int) or not 1 <= interval <= 1000:
        raise Refusal(N_("rrule.interval must be a whole number from 1 to 1000"))
    if count is not None and (not isinstance(count, int) or not 1 <= count <= 1000):
        raise Refusal(N_("rrule.count must be a whole number from 1 to 1000"))
    if not set(byday) <= set(WEEKDAYS):
        raise Refusal(N_("rrule.byday takes {weekdays}"), values={"weekdays": ", ".join(WEEKDAYS)})
    try:
        until = date.fromisoformat(value["until"]) if value.get("until") else None
    except (TypeError, ValueError) as exc:
        raise Refusal(N_("rrule.until must be YYYY-MM-DD")) from exc
    if until and count:
        raise Refusal(N_("a series ends on a date or after a count, not both"))
    return Rule(value["freq"], interval, byday, until, count)


def _parse_alarm(value: object) -> Alarm:
    if not isinstance(value, dict):
        raise Refusal(N_("each alarm is {minutes, action, repeat}"))
    minutes, action = value.get("minutes"), str(value.get("action", "DISPLAY")).upper()
    repeat = str(value.get("repeat") or "").lower()
    if not isinstance(minutes, int) or not 0 <= minutes <= 40320:
        raise Refusal(N_("alarm minutes must be from 0 to 40320 (four weeks) before"))
    if action not in ACTIONS or (repeat and repeat not in alarms.REPEATS):
        raise Refusal(N_("alarm action is DISPLAY or EMAIL; repeat hourly, daily or weekly"))
    return Alarm(minutes, action, repeat)


# --- building iCalendar --------------------------------------------------------------------


def _apply(s: Session, login: str, component, data: EventInput, series: bool) -> None:
    """Write the form's fields into a VEVENT, keeping everything the form does not edit."""
    for name in MANAGED + (("RRULE",) if series else ()):
        component.pop(name, None)
    component.subcomponents = [c for c in component.subcomponents if c.name != "VALARM"]
    component.add("SUMMARY", data.title)
    zone = ZoneInfo(data.timezone)
    if data.all_day:
        _set_times(component, data.start, data.end)
    else:
        _set_times(component, times.localize(data.start, zone), times.localize(data.end, zone))
    for name, value in (("LOCATION", data.location), ("DESCRIPTION", data.description)):
        if value:
            component.add(name, value)
    if series and data.rule:
        component.add("RRULE", _rrule(data.rule, data, zone))
    for alarm in data.alarms:
        component.add_component(_valarm(alarm, data.title))
    attachments.set_web_links(component, data.attachments)
    _set_attendees(s, login, component, data.attendees)


def _set_times(component, start: datetime | date, end: datetime | date) -> None:
    for name in ("DTSTART", "DTEND", "DURATION"):
        component.pop(name, None)
    component.add("DTSTART", start)
    component.add("DTEND", end)


def _rrule(rule: Rule, data: EventInput, zone: ZoneInfo) -> dict:
    value: dict = {"FREQ": rule.freq}
    if rule.interval > 1:
        value["INTERVAL"] = rule.interval
    if rule.byday:
        value["BYDAY"] = list(rule.byday)
    if rule.count:
        value["COUNT"] = rule.count
    if rule.until:
        # RFC 5545: UNTIL is a date for all-day series, else UTC; the whole day counts.
        last = datetime.combine(rule.until, time(23, 59, 59), zone).astimezone(UTC)
        value["UNTIL"] = rule.until if data.all_day else last
    return value


def _valarm(alarm: Alarm, title: str) -> icalendar.Alarm:
    component = icalendar.Alarm()
    component.add("ACTION", alarm.action)
    component.add("TRIGGER", timedelta(minutes=-alarm.minutes))
    component.add("DESCRIPTION", title)
    if alarm.action == "EMAIL":
        component.add("SUMMARY", title)
    if alarm.repeat:
        component.add(alarms.REPEAT_PROP, alarm.repeat.upper())
    return component


def _set_attendees(s: Session, login: str, component, attendees: tuple[str, ...]) -> None:
    """ATTENDEE per participant (a user's account address when a login is given) and the
    owner as ORGANIZER, so the owner's own reminders still fire (alarms.is_guest_copy)."""
    component.pop("ORGANIZER", None)
    if not attendees:
        return
    owner = freebusy.resolve(s, login)
    if owner is not None and owner.email:
        component.add("ORGANIZER", f"mailto:{owner.email}", parameters={"CN": owner.name or login})
    for value in attendees:
        user = freebusy.resolve(s, value)
        address = user.email if user is not None and user.email and "@" not in value else value
        component.add("ATTENDEE", f"mailto:{address}", parameters={"PARTSTAT": "NEEDS-ACTION"})


def touch(component) -> None:
    component.pop("DTSTAMP", None)
    component.add("DTSTAMP", datetime.now(UTC))
    sequence = int(component.get("SEQUENCE", 0)) + 1
    component.pop("SEQUENCE", None)
    component.add("SEQUENCE", sequence)


def save(s: Session, login: str, collection: store.CollectionData, href: str, calendar) -> ItemData:
    """Store and schedule through ``calendar.saving``, the sequence DAV uses too, with the
    time range DAV queries rely on."""
    calendar.add_missing_timezones()
    try:
        data = ItemData.from_text(href, calendar.to_ical())
    except ical.ParseError as exc:
        raise Refusal(
            N_("the event could not be stored: {error}"), values={"error": exc.reason}
        ) from exc
    too_many = recurrence.refusal(data.text)
    if too_many:
        raise too_many
    try:
        return saving.save(s, collection, data, actor=login)[0]
    except store.StoreError as exc:
        raise Refusal(exc.template, Kind.CONFLICT, values=exc.values) from exc


# --- finding things ------------------------------------------------------------------------


def find_calendar(s: Session, login: str, path: str, write: bool = False) -> store.CollectionData:
    """The calendar at ``path`` if the door lets ``login`` read it (or write its events)."""
    decision = access.stored(s, login, access.WRITE if write else access.READ, path)
    collection = decision.collection
    if collection is None or collection.tag != "VCALENDAR" or not decision.readable:
        raise Refusal(N_("no calendar {path!r}"), Kind.NOT_FOUND, values={"path": path})
    if not decision.allowed:
        raise Refusal(
            N_("the calendar {path!r} is read-only for you"), Kind.FORBIDDEN, values={"path": path}
        )
    return collection


def _item(s: Session, collection: store.CollectionData, href: str) -> ItemData:
    item = store.get_item(s, collection.id, href)
    if item is None or item.component != "VEVENT":
        raise Refusal(
            N_("no event {href!r} in /{path}/"),
            Kind.NOT_FOUND,
            values={"href": href, "path": collection.path},
        )
    return item


def _load(s: Session, collection: store.CollectionData, href: str, etag: str | None):
    """The stored event, refusing a change made from an outdated copy (409)."""
    item = _item(s, collection, href)
    if etag and etag != item.etag:
        raise Refusal(N_("the event was changed meanwhile; reload and try again"), Kind.CONFLICT)
    return icalendar.Calendar.from_ical(item.text)


def _master(calendar):
    events = [c for c in calendar.subcomponents if c.name == "VEVENT"]
    master = next((c for c in events if c.get("RECURRENCE-ID") is None), None)
    if master is None:
        raise Refusal(N_("the event has no main component (only overrides)"))
    return master


def _recurrence(master, recurrence_id: str) -> datetime | date:
    """An occurrence's RECURRENCE-ID in the form of the series' DTSTART (RFC 5545 §3.8.4.4)."""
    moment = parse_instant(recurrence_id, "recurrence_id")
    begin = master["DTSTART"].dt
    if not isinstance(begin, datetime):
        return moment if not isinstance(moment, datetime) else moment.date()
    if not isinstance(moment, datetime):
        raise Refusal(N_("recurrence_id of a timed series must be a date-time"))
    if begin.tzinfo is None:
        return moment.replace(tzinfo=None)
    return moment.astimezone(begin.tzinfo)


def _overrides(calendar, moment: datetime | date) -> list:
    def same(component) -> bool:
        rid = component.get("RECURRENCE-ID")
        if rid is None:
            return False
        return _instant(rid.dt) == _instant(moment)

    return [c for c in calendar.subcomponents if c.name == "VEVENT" and same(c)]


def _instant(value: datetime | date) -> object:
    return value.astimezone(UTC) if isinstance(value, datetime) and value.tzinfo else value


def _occurrence(calendar, master, recurrence_id: str):
    """The occurrence as the series expands it (its override, if there is one)."""
    moment = _recurrence(master, recurrence_id)
    found = _overrides(calendar, moment)
    if found:
        return found[0]
    start = times.localize(moment, times.UTC_ZONE)
    for occurrence in recurring_ical_events.of(calendar).between(start, start + timedelta(1)):
        if _instant(occurrence["DTSTART"].dt) == _instant(moment):
            return occurrence
    raise Refusal(
        N_("the series has no occurrence at {recurrence_id}"),
        Kind.NOT_FOUND,
        values={"recurrence_id": recurrence_id},
    )


def _override(calendar, master, recurrence_id: str):
    """The override for one occurrence, made from the occurrence when there is none yet."""
    moment = _recurrence(master, recurrence_id)
    found = _overrides(calendar, moment)
    if found:
        return found[0]
    occurrence = _occurrence(calendar, master, recurrence_id)
    override = icalendar.Event()
    for name, value in occurrence.property_items(recursive=False, sorted=False)[1:-1]:
        if name not in ("RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "BEGIN", "END"):
            override.add(name, value, encode=False)
    for alarm in occurrence.walk("VALARM"):
        override.add_component(alarm)
    override.add("RECURRENCE-ID", moment)
    calendar.add_component(override)
    return override


# --- times ---------------------------------------------------------------------------------


def _end_of(component) -> datetime | date:
    begin = component["DTSTART"].dt
    if component.get("DTEND") is not None:
        return component["DTEND"].dt
    if component.get("DURATION") is not None:
        return begin + component["DURATION"].dt
    return begin + (timedelta(0) if isinstance(begin, datetime) else timedelta(days=1))


def zone_of(value: datetime | date, fallback: ZoneInfo) -> ZoneInfo:
    """The event's own time zone when it has one, else the user's."""
    tz = getattr(value, "tzinfo", None)
    if isinstance(tz, ZoneInfo):
        return tz
    if tz is not None and tz.utcoffset(value) == timedelta(0):
        return times.UTC_ZONE
    return fallback


def iso(value: datetime | date, zone: ZoneInfo) -> str:
    if not isinstance(value, datetime):
        return value.isoformat()
    return times.localize(value, zone).isoformat()


def _local(value: datetime | date, zone: ZoneInfo) -> str:
    """Form value: a date, or a wall-clock time in ``zone`` without seconds."""
    if not isinstance(value, datetime):
        return value.isoformat()
    return times.localize(value, zone).astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _as_zone(value: datetime | date, zone: ZoneInfo) -> datetime | date:
    if not isinstance(value, datetime):
        return value
    return times.localize(value, zone).astimezone(zone)


def _day(value: datetime | date, zone: ZoneInfo) -> date:
    return times.localize(value, zone).astimezone(zone).date()


def _shift_exceptions(calendar, master, delta: timedelta) -> None:
    """Overrides and excluded dates follow a moved series, so they still name occurrences."""
    for override in calendar.subcomponents:
        if override.name == "VEVENT" and override.get("RECURRENCE-ID") is not None:
            moment = override.pop("RECURRENCE-ID").dt
            override.add("RECURRENCE-ID", moment + delta)
    exdates = master.pop("EXDATE", None)
    for exdate in exdates if isinstance(exdates, list) else [exdates] if exdates else []:
        for value in exdate.dts:
            master.add("EXDATE", value.dt + delta)


def _shift_weekdays(master, delta: timedelta) -> None:
    """A weekly series dragged to another day keeps its pattern: BYDAY moves along."""
    rule = master.get("RRULE")
    if rule is None or not rule.get("BYDAY") or not delta.days:
        return
    days = [str(d) for d in rule["BYDAY"]]
    if not all(d in WEEKDAYS for d in days):
        return  # "1MO"-style positions are left alone
    rule["BYDAY"] = [WEEKDAYS[(WEEKDAYS.index(d) + delta.days) % 7] for d in days]
