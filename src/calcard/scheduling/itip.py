"""iTIP (RFC 5546) objects and iMIP (RFC 6047) wording for calcard's scheduling.

Builds the METHOD:REQUEST / CANCEL / REPLY calendars sent to attendees and
organizers, and the wording of the mails and of the answer page their links open
(English source texts, translated by the catalogs: calcard.core.catalogs).
"""

from __future__ import annotations

import copy
import re
from datetime import datetime

import icalendar

from calcard.core import times
from calcard.core.catalogs import N_, moment, say

PARTSTATS = ("ACCEPTED", "DECLINED", "TENTATIVE")
# Properties whose change makes attendees answer again (RFC 5546 §2.1.4, §3.2.2.1).
SIGNIFICANT = ("DTSTART", "DTEND", "DURATION", "DUE", "RRULE", "RDATE", "EXDATE", "LOCATION")
# The organizer's bookkeeping, never part of an iTIP message (RFC 6638 §7.3).
SCHEDULING_PARAMS = ("SCHEDULE-AGENT", "SCHEDULE-FORCE-SEND", "SCHEDULE-STATUS")
# What the mails and the answer page say of an answer, one whole sentence per answer
# (a participle slotted into a sentence does not translate); catalogs "messages".
REPLIED = {
    "ACCEPTED": N_("{who} has accepted: {title}"),
    "DECLINED": N_("{who} has declined: {title}"),
    "TENTATIVE": N_("{who} has tentatively accepted: {title}"),
}
ANSWERED = {
    "ACCEPTED": N_("You have accepted “{title}”; {organizer} is told."),
    "DECLINED": N_("You have declined “{title}”; {organizer} is told."),
    "TENTATIVE": N_("You have tentatively accepted “{title}”; {organizer} is told."),
}
HEADS = {
    "REQUEST": N_("Invitation: {title}"),
    "UPDATE": N_("Updated invitation: {title}"),
    "CANCEL": N_("Cancelled: {title}"),
}


def replied(language: str, who: str, answer: str, title: str) -> str:
    """One line saying that ``who`` answered ``answer`` (a PARTSTAT) to ``title``."""
    text = REPLIED.get(answer, N_("{who} has answered: {title}"))
    return say(language, text, who=who, title=title)


def address(value: object) -> str:
    """A calendar user address, compared without 'mailto:' and case."""
    return str(value or "").strip().lower().removeprefix("mailto:")


def events(calendar: icalendar.Calendar) -> list:
    return [c for c in calendar.subcomponents if c.name == "VEVENT"]


def attendees(component) -> list:
    found = component.get("ATTENDEE", [])
    return found if isinstance(found, list) else [found]


def attendee_addresses(calendar: icalendar.Calendar) -> set[str]:
    return {address(a) for event in events(calendar) for a in attendees(event)}


def named_addresses(text: str) -> set[str]:
    """The ORGANIZER and ATTENDEE addresses of an iCalendar text, found without parsing it.

    Cheap enough to run before a write transaction starts, to know whose
    calendars scheduling may touch (see scheduling.owners_involved).
    """
    found = set()
    for line in re.sub(r"\r?\n[ \t]", "", text).splitlines():
        name = re.split(r"[;:]", line, maxsplit=1)[0].strip().upper()
        if name in ("ORGANIZER", "ATTENDEE"):
            value = re.sub(r'"[^"]*"', "", line).split(":", 1)
            if len(value) == 2:
                found.add(address(value[1]))
    return found - {""}


def significant(old: icalendar.Calendar, new: icalendar.Calendar) -> bool:
    def key(calendar):
        return sorted(
            (
                str(e.get("RECURRENCE-ID", "")),
                name,
                e.get(name).to_ical() if hasattr(e.get(name), "to_ical") else str(e.get(name)),
            )
            for e in events(calendar)
            for name in SIGNIFICANT
            if e.get(name) is not None
        )

    return key(old) != key(new)


def content_changed(old: icalendar.Calendar, new: icalendar.Calendar) -> bool:
    """Anything attendees would see, ignoring stamps and answers."""
    ignored = {"DTSTAMP", "LAST-MODIFIED", "SEQUENCE", "ATTENDEE", "CREATED"}

    def key(calendar):
        return sorted(
            (str(e.get("RECURRENCE-ID", "")), name, str(value))
            for e in events(calendar)
            for name, value in e.property_items(recursive=False)
            if name not in ignored and name not in ("BEGIN", "END")
        ) + sorted(attendee_addresses(calendar))

    return key(old) != key(new)


def message(calendar: icalendar.Calendar, method: str, only: str | None = None) -> str:
    """A copy of the event as an iTIP message; REPLY keeps only the answering attendee."""
    out = icalendar.Calendar()
    out.add("VERSION", "2.0")
    out.add("PRODID", "-//calcard//scheduling//EN")
    out.add("METHOD", method)
    for component in calendar.subcomponents:
        if component.name == "VTIMEZONE":
            out.add_component(component)
        elif component.name == "VEVENT":
            event = copy.deepcopy(component)
            event.subcomponents = [c for c in event.subcomponents if c.name != "VALARM"]
            if method == "CANCEL":
                event["STATUS"] = "CANCELLED"
            if only is not None:
                keep = [a for a in attendees(event) if address(a) == only]
                event.pop("ATTENDEE", None)
                for attendee in keep:
                    event.add("ATTENDEE", attendee)
            for person in [*attendees(event), event.get("ORGANIZER")]:
                for name in SCHEDULING_PARAMS:
                    getattr(person, "params", {}).pop(name, None)
            out.add_component(event)
    return out.to_ical().decode()


def attendee_copy(
    calendar: icalendar.Calendar, previous: icalendar.Calendar | None, me: str, reset: bool
) -> str:
    """The organizer's event as an attendee keeps it: no organizer alarms, own answer kept."""
    mine = None
    if previous is not None and not reset:
        for event in events(previous):
            for attendee in attendees(event):
                if address(attendee) == me:
                    mine = attendee.params.get("PARTSTAT")
    out = icalendar.Calendar.from_ical(message(calendar, "REQUEST"))
    out.pop("METHOD", None)
    for event in events(out):
        for attendee in attendees(event):
            if address(attendee) == me:
                attendee.params["PARTSTAT"] = mine or "NEEDS-ACTION"
    return out.to_ical().decode()


def set_partstat(
    calendar: icalendar.Calendar, who: str, partstat: str, schedule_status: str | None = None
) -> bool:
    changed = False
    for event in events(calendar):
        for attendee in attendees(event):
            if address(attendee) == who:
                attendee.params["PARTSTAT"] = partstat
                if schedule_status:
                    attendee.params["SCHEDULE-STATUS"] = schedule_status
                changed = True
    return changed


def partstat_of(calendar: icalendar.Calendar, who: str) -> str | None:
    for event in events(calendar):
        for attendee in attendees(event):
            if address(attendee) == who:
                return str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
    return None


def summary_lines(calendar: icalendar.Calendar, language: str) -> tuple[str, list[str]]:
    """The title and the when/where lines of a mail, in ``language``; the start in the
    event's own time zone (the recipient's is not known outside calcard)."""
    first = events(calendar)[0]
    title = str(first.get("SUMMARY", "")) or say(language, "(no title)")
    lines = []
    if first.get("DTSTART") is not None:
        lines.append(say(language, "When: {when}", when=moment(language, first["DTSTART"].dt)))
    if first.get("LOCATION"):
        lines.append(say(language, "Where: {where}", where=str(first["LOCATION"])))
    return title, lines


def last_end(calendar: icalendar.Calendar, now: datetime) -> datetime:
    """When RSVP links stop working: the end of the event, or a year for endless series."""
    first = events(calendar)[0]
    if first.get("RRULE") is not None:
        rule = first["RRULE"]
        if "UNTIL" in rule:
            until = rule["UNTIL"][0]
            return (
                until
                if isinstance(until, datetime) and until.tzinfo
                else now.replace(year=now.year + 1)
            )
        return now.replace(year=now.year + 1)
    end = first.get("DTEND") or first.get("DTSTART")
    value = end.dt if end is not None else now
    return times.as_utc(value)
