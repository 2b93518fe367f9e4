"""Parsing and splitting iCalendar and vCard data outside the DAV path (import,
export, the web's saves through ``ItemData.from_text``).

DAV uploads get their metadata from Radicale; everything else computes the same
fields here. The time range is a safe superset: a too-wide range only costs an
extra check in Radicale, a too-narrow one would hide an event from a query.
The module sits below ``calcard.store``, which re-exports its ETag
(``etag_of``) and "no limit" bounds.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import cast

import icalendar
import vobject
from dateutil.rrule import rrule, rruleset, rrulestr
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from calcard.core import timebounds, times
from calcard.core.catalogs import N_
from calcard.core.errors import Refusal

# The bounds Radicale uses for "no limit" (datetime.min / datetime.max as POSIX seconds).
TIMESTAMP_MIN = math.floor(datetime.min.replace(tzinfo=UTC).timestamp())
TIMESTAMP_MAX = math.ceil(datetime.max.replace(tzinfo=UTC).timestamp())
COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL")
FLOATING_SLACK = timedelta(hours=14)  # the widest UTC offset in use
MAX_COUNT_EXPANSION = 100_000


class ParseError(Refusal):
    """A file or entry that is no valid iCalendar or vCard (invalid). The readers yield it
    in place of a broken entry, so one bad entry never stops an import. Its template is
    translated (an import's report is read in its reader's language); what cannot be (a
    library's words, a name from the file) is a value."""


NOT_ICALENDAR = N_("not an iCalendar file: no BEGIN:VCALENDAR")
NOT_VCARD = N_("not a vCard file: no BEGIN:VCARD")


def etag_of(text: str) -> str:
    """Quoted SHA-256 of the text, the same ETag Radicale computes for an item."""
    return f'"{hashlib.sha256(text.encode()).hexdigest()}"'


@dataclass(frozen=True)
class Entry:
    """One storable object: all components sharing a UID, as its own text."""

    uid: str
    text: str
    component: str
    start: int
    end: int
    # ``calendar_of(text)``, when the reader parsed it anyway: the occurrence index of an
    # import reads it instead of parsing the text again
    calendar: icalendar.Calendar | None = field(default=None, compare=False, repr=False)

    @property
    def etag(self) -> str:
        return etag_of(self.text)


def _timestamp(value: date | datetime, widen: timedelta) -> float:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.timestamp()
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=UTC).timestamp() + widen.total_seconds()  # no overflow at 9999


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
            one_rule = cast(rrule, rrulestr(rule.to_ical().decode(), dtstart=dtstart))  # one RRULE
            series.rrule(one_rule)
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
    """Enclosing POSIX range of all occurrences of the given components.

    Dates near datetime's ends (year 1, 9999) get the widest range, a safe superset;
    storing refuses such items anyway (timebounds), with a reason.
    """
    try:
        return _time_range(components)
    except (OverflowError, ValueError):  # ValueError: "year 10000 is out of range"
        return TIMESTAMP_MIN, TIMESTAMP_MAX


def _time_range(components: list) -> tuple[int, int]:
    starts: list[float] = []
    ends: list[float] = []
    for component in components:
        if component.get("DTSTART") is None:
            due = component.get("DUE")
            if due is None:
                return TIMESTAMP_MIN, TIMESTAMP_MAX
            # RFC 4791 §9.9: a task with a DUE alone matches a range that ends at it
            starts.append(_timestamp(due.dt, -FLOATING_SLACK) - 1)
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


# --- streaming readers -------------------------------------------------------------------------
#
# Imports read files of tens of thousands of entries one entry at a time: lines are
# unfolded as they come, each top-level component is parsed on its own, and only the
# file's VTIMEZONE definitions (small) are kept for the whole run.

TOP_LEVEL = {"VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VTIMEZONE"}
DATE_PROPERTIES = {"DTSTART", "DTEND", "DUE", "RECURRENCE-ID", "EXDATE", "RDATE"}
FLOATING_RE = re.compile(r"^\d{8}T\d{6}(,\d{8}T\d{6})*$")
TZID_PARAM_RE = re.compile(r'(;TZID=)("[^"]*"|[^;:]*)', re.IGNORECASE)


def unfolded(lines: Iterable[str]) -> Iterator[str]:
    """Logical content lines from physical ones (RFC 5545 3.1), one at a time."""
    pending: str | None = None
    for raw in lines:
        line = raw.rstrip("\r\n")
        if line[:1] in (" ", "\t") and pending is not None:
            pending += line[1:]
            continue
        if pending is not None:
            yield pending
        pending = line
    if pending:
        yield pending


def _split_line(line: str) -> tuple[str, str, str]:
    """(NAME, ;params, value) of a content line; colons inside quoted params are kept."""
    colon = line.find(":")
    if colon >= 0 and '"' not in line[:colon]:  # most lines: no quote before the colon
        name, _, params = line[:colon].partition(";")
        return name.upper(), (";" + params if params else ""), line[colon + 1 :]
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            head, value = line[:index], line[index + 1 :]
            name, _, params = head.partition(";")
            return name.upper(), (";" + params if params else ""), value
    return line.upper(), "", ""


def iana_zone(tzid: str) -> str:
    """Windows zone names (Outlook's "W. Europe Standard Time") as IANA ids; others unchanged."""
    clean = tzid.strip().strip('"')
    return WINDOWS_TO_OLSON.get(clean, clean)


@functools.lru_cache(maxsize=128)
def generated_vtimezone(tzid: str) -> str | None:
    """A VTIMEZONE for an IANA zone, for files that use a zone without defining it."""
    if not times.valid_zone(tzid):
        return None
    return icalendar.Timezone.from_tzid(tzid).to_ical().decode()


def repair_line(line: str, default_zone: str | None) -> str:
    """Windows TZIDs become IANA ids; floating times get the feed's X-WR-TIMEZONE."""
    name, params, value = _split_line(line)
    if "TZID=" in params.upper():
        return TZID_PARAM_RE.sub(lambda m: m.group(1) + _quoted(iana_zone(m.group(2))), line)
    if (
        default_zone
        and name in DATE_PROPERTIES
        and "VALUE=" not in params.upper()
        and FLOATING_RE.match(value)
    ):
        return f"{line[: len(name)]};TZID={_quoted(default_zone)}{line[len(name) :]}"
    return line


def _quoted(tzid: str) -> str:
    return f'"{tzid}"' if any(c in tzid for c in ":;,") else tzid


@dataclass
class Block:
    """One top-level component of a calendar file, as its logical lines."""

    name: str
    lines: list[str]
    number: int

    @property
    def uid(self) -> str:
        depth = 0
        for line in self.lines:
            name, _, value = _split_line(line)
            depth += (name == "BEGIN") - (name == "END")
            if name == "UID" and depth == 1:
                return value.strip()
        return ""


@dataclass
class CalendarReader:
    """Streams a .ics file: component groups per UID, with the file's time zones.

    Consecutive components with one UID (a master and its overrides) form one
    group; a UID that comes back later makes another group, which the caller
    merges into what it already stored (``merge_entry``).
    """

    timezones: dict[str, str] = field(default_factory=dict)
    default_zone: str | None = None
    seen_calendar: bool = False

    def blocks(self, lines: Iterable[str]) -> Iterator[Block | ParseError]:
        block: Block | None = None
        stack: list[str] = []
        number = 0
        for line in unfolded(lines):
            name, _, value = _split_line(line)
            if not line.strip():
                continue
            component = value.strip().upper()
            if block is None:
                if name == "BEGIN" and component == "VCALENDAR":
                    self.seen_calendar, self.default_zone = True, None
                elif name == "BEGIN" and self.seen_calendar:
                    number += 1
                    block, stack = Block(component, [line], number), [component]
                elif name == "X-WR-TIMEZONE":
                    zone = iana_zone(value)
                    self.default_zone = zone if times.valid_zone(zone) else None
                elif not self.seen_calendar and name != "BEGIN":
                    raise ParseError(NOT_ICALENDAR)
                continue
            if (name == "BEGIN" and component in TOP_LEVEL) or (
                name == "END" and component == "VCALENDAR"
            ):
                yield ParseError(
                    N_("entry #{number} ({name}): no END:{end}"),
                    values={"number": block.number, "name": block.name, "end": stack[-1]},
                )
                block = None
                if name == "BEGIN":
                    number += 1
                    block, stack = Block(component, [line], number), [component]
                continue
            block.lines.append(line)
            if name == "BEGIN":
                stack.append(component)
            elif name == "END":
                if component != stack[-1]:
                    yield ParseError(
                        N_("entry #{number}: END:{end} inside {name}"),
                        values={"number": block.number, "end": component, "name": stack[-1]},
                    )
                    block = None
                    continue
                stack.pop()
                if not stack:
                    yield block
                    block = None
        if block is not None:
            yield ParseError(
                N_("entry #{number} ({name}): file ends inside it"),
                values={"number": block.number, "name": block.name},
            )
        if not self.seen_calendar:
            raise ParseError(NOT_ICALENDAR)

    def groups(self, lines: Iterable[str]) -> Iterator[list[Block] | ParseError]:
        """Runs of consecutive components sharing a UID; VTIMEZONEs are remembered."""
        group: list[Block] = []
        for block in self.blocks(lines):
            if isinstance(block, ParseError):
                yield block
                continue
            if block.name == "VTIMEZONE":
                self._remember_timezone(block)
                continue
            if block.name not in COMPONENTS:
                continue
            if not block.uid:
                yield ParseError(
                    N_("entry #{number}: {name} without UID skipped"),
                    values={"number": block.number, "name": block.name},
                )
                continue
            if group and group[0].uid != block.uid:
                yield group
                group = []
            group.append(block)
        if group:
            yield group

    def _remember_timezone(self, block: Block) -> None:
        tzid = next((v for n, _, v in map(_split_line, block.lines) if n == "TZID"), "")
        zone = iana_zone(tzid)
        if zone != tzid.strip() and generated_vtimezone(zone):
            self.timezones[zone] = generated_vtimezone(zone)  # type: ignore[assignment]  # not None
        else:
            self.timezones[tzid.strip()] = "\r\n".join(block.lines) + "\r\n"

    def entry(self, group: list[Block]) -> Entry | ParseError:
        """Parse one group into a storable Entry, or say why it cannot be stored."""
        uid = group[0].uid
        lines = [repair_line(line, self.default_zone) for b in group for line in b.lines]
        used = sorted(
            {iana_zone(m.group(2)) for line in lines for m in TZID_PARAM_RE.finditer(line)}
        )
        zones = {z: self.timezones.get(z) or generated_vtimezone(z) for z in used}
        try:
            missing = [z for z, text in zones.items() if not text]
            if missing:
                raise Refusal(
                    N_("time zone {zones} is not defined"), values={"zones": ", ".join(missing)}
                )
            definitions = [cast(str, z) for z in zones.values()]
            body = [_folded(line) for line in lines]
            text = _calendar_text(definitions, body)
            calendar = _checked(text, definitions, body)
            components: list = [c for c in calendar.subcomponents if c.name in COMPONENTS]
            start, end = time_range(components)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return ParseError(
                N_("entry #{number} ({uid}): {error}"),
                values={"number": group[0].number, "uid": uid, "error": _reason(exc)},
            )
        return Entry(uid, text, components[0].name, start, end, calendar)


_VTIMEZONE_RE = re.compile(
    r"^BEGIN:VTIMEZONE\r?\n((?:(?!BEGIN:V|END:V).*\r?\n)*?)END:VTIMEZONE\r?\n", re.M
)
_TZID_LINE_RE = re.compile(r"^TZID:([^\r\n]*)\r?\n(?![ \t])", re.M)


def calendar_of(text: str) -> icalendar.Calendar:
    """A stored item's text parsed for computing with (occurrences, alarms): without the
    VTIMEZONEs of IANA zones, which icalendar resolves by name whatever they define
    (only an unknown TZID takes its definition), and which are most of the parse.

    A definition is dropped only when its one unfolded TZID line names a zone this
    system knows; every other one is parsed as it stands.
    """
    return icalendar.Calendar.from_ical(_VTIMEZONE_RE.sub(_unless_known, text))


def _unless_known(match: re.Match) -> str:
    """A VTIMEZONE block (``_VTIMEZONE_RE``) as ``calendar_of`` parses it: "" for a known zone."""
    tzid = _TZID_LINE_RE.search(match.group(1))
    return "" if tzid and times.valid_zone(tzid.group(1)) else match.group(0)


@functools.lru_cache(maxsize=128)
def _parsed_definition(zone: str) -> str:
    """What ``calendar_of`` keeps of one VTIMEZONE block of a reader's text (see
    ``_calendar_text``): the same for every entry of a file, so found once."""
    return _VTIMEZONE_RE.sub(_unless_known, zone.rstrip("\r\n") + "\r\n")


def _folded(line: str) -> str:
    """RFC 5545 line folding (75 octets), as icalendar writes it: a line of fewer than 75
    ASCII characters (most of them) stays as it is, without icalendar's per-character
    loop, which folds as soon as a line reaches 75 octets (RFC 5545 §3.1)."""
    if len(line) < 75 and line.isascii():
        return line
    return icalendar.parser.Contentline(line).to_ical().decode()


def _calendar_text(zones: list, lines: list[str]) -> str:
    return "\r\n".join(
        ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//calcard//import//EN"]
        + [z.rstrip("\r\n") for z in zones]
        + lines
        + ["END:VCALENDAR", ""]
    )


def _parsed(zones: list[str], lines: list[str]) -> icalendar.Calendar:
    """``Calendar.from_ical(_calendar_text(zones, lines))``, the header's VERSION and PRODID
    parsed once (``_header``), not per entry: a tenth or more of a small event's parse."""
    text = "\r\n".join(["BEGIN:VCALENDAR", *(z.rstrip("\r\n") for z in zones), *lines, ""])
    calendar = icalendar.Calendar.from_ical(text + "END:VCALENDAR\r\n")
    properties = list(calendar.items())  # none: every line of ``lines`` is in a component
    calendar.clear()
    calendar.update(_header())
    calendar.update(properties)
    return calendar


@functools.cache
def _header() -> icalendar.Calendar:
    """The calendar properties every reader's entry has (``_calendar_text``), parsed."""
    return icalendar.Calendar.from_ical(_calendar_text([], []))


def _checked(text: str, zones: list[str], lines: list[str]) -> icalendar.Calendar:
    """The parsed calendar (``calendar_of``) of ``_calendar_text(zones, lines)``, or
    ValueError naming what icalendar could not read (or what calcard cannot compute
    with, timebounds.OutOfRange).

    The zones' definitions, the same for every entry of a file, are judged and cut for
    the parse once (``timebounds.check_parts``, ``_parsed_definition``), not per entry.
    """
    timebounds.check_parts(text, zones, "\r\n".join(lines))
    kept = [z for z in map(_parsed_definition, zones) if z]
    calendar = _parsed(kept, lines)
    for component in (c for c in calendar.subcomponents if c.name in COMPONENTS):
        if component.errors:
            broken = "; ".join(f"{name}: {error}" for name, error in component.errors)
            raise Refusal(N_("broken {errors}"), values={"errors": broken})
        if component.get("DTSTART") is not None:
            component.get("DTSTART").dt  # noqa: B018 - raises on an unusable value
    return calendar


def _reason(exc: Exception) -> object:
    """Why a parse failed, for a ParseError's value: our own refusal as a Message (said in
    the reader's language), a library's exception as its text (its words, untranslated)."""
    return exc.reason if isinstance(exc, Refusal) else str(exc)


def iter_calendar(lines: Iterable[str]) -> Iterator[Entry | ParseError]:
    """Entries of a calendar file as they come (see CalendarReader)."""
    reader = CalendarReader()
    for group in reader.groups(lines):
        yield group if isinstance(group, ParseError) else reader.entry(group)


def split_calendar(data: bytes | str) -> Iterator[Entry | ParseError]:
    """One Entry per UID of an in-memory calendar, overrides kept with their master.

    Broken or UID-less objects come out as ParseError so one bad entry never
    stops the rest.
    """
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    reader = CalendarReader()
    by_uid: dict[str, list[Block]] = {}
    for group in reader.groups(text.splitlines()):
        if isinstance(group, ParseError):
            yield group
        else:
            by_uid.setdefault(group[0].uid, []).extend(group)
    for group in by_uid.values():
        yield reader.entry(group)


def merge_entry(stored_text: str, entry: Entry) -> Entry:
    """A UID met again later in a file: its components join what is stored.

    A component with the same RECURRENCE-ID (or a second master) replaces the
    stored one; the others are kept.
    """
    old = icalendar.Calendar.from_ical(stored_text)
    new = icalendar.Calendar.from_ical(entry.text)
    fresh = [c for c in new.subcomponents if c.name in COMPONENTS]
    replaced = {_recurrence_key(c) for c in fresh}
    components = [
        c for c in old.subcomponents if c.name in COMPONENTS and _recurrence_key(c) not in replaced
    ] + fresh
    timezones = {str(tz["TZID"]): tz for cal in (old, new) for tz in cal.walk("VTIMEZONE")}
    return _entry(entry.uid, components, timezones)


def _recurrence_key(component) -> str:
    rid = component.get("RECURRENCE-ID")
    return rid.to_ical().decode() if rid is not None else ""


def with_uid(text: str, component: str, uid: str) -> str:
    """The same object under another UID (restoring next to a reused UID)."""
    if component in ("VCARD", "") and text.lstrip().upper().startswith("BEGIN:VCARD"):
        card = vobject.readOne(text)
        card.uid.value = uid
        return card.serialize()
    calendar = icalendar.Calendar.from_ical(text)
    for sub in calendar.subcomponents:
        if sub.name in COMPONENTS:
            sub["UID"] = uid
    return calendar.to_ical().decode()


def vcard_texts(lines: Iterable[str]) -> Iterator[tuple[int, str] | ParseError]:
    """(number, text) of each vCard in a file, physical lines kept for vobject."""
    current: list[str] | None = None
    number = 0
    for raw in lines:
        line = raw.rstrip("\r\n")
        marker = line.strip().upper()
        if marker == "BEGIN:VCARD":
            if current is not None:
                yield ParseError(N_("vCard #{number}: no END:VCARD"), values={"number": number})
            number += 1
            current = [line]
        elif current is not None:
            current.append(line)
            if marker == "END:VCARD":
                yield number, "\r\n".join(current) + "\r\n"
                current = None
        elif marker and number == 0 and not marker.startswith(("BEGIN:", " ")):
            raise ParseError(NOT_VCARD)
    if current is not None:
        yield ParseError(N_("vCard #{number}: file ends inside it"), values={"number": number})
    if number == 0:
        raise ParseError(NOT_VCARD)


def vcard_entry(number: int, text: str) -> Entry | ParseError:
    """One storable vCard; a missing UID is added so the card can be stored."""
    try:
        card = vobject.readOne(text, allowQP=True)
        if card.name != "VCARD":
            return ParseError(
                N_("vCard #{number}: {name} is not a vCard"),
                values={"number": number, "name": card.name},
            )
        if "uid" not in card.contents:
            card.add("uid").value = str(uuid.uuid4())
        serialized = card.serialize()
        vobject.readOne(serialized)
    except Exception as exc:  # noqa: BLE001 - vobject raises many kinds
        return ParseError(
            N_("vCard #{number}: {error}"), values={"number": number, "error": _reason(exc)}
        )
    return Entry(card.uid.value, serialized, "VCARD", TIMESTAMP_MIN, TIMESTAMP_MAX)


def iter_vcards(lines: Iterable[str]) -> Iterator[Entry | ParseError]:
    for found in vcard_texts(lines):
        yield found if isinstance(found, ParseError) else vcard_entry(*found)
