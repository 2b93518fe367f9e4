"""The dates calcard stores and computes with: years 300 to 9700, spans up to 200 years.

Python's datetime ends at the years 1 and 9999, and the work done with an
item's dates goes past them: recurrence expansion (recurring_ical_events widens
the asked window by the item's longest event), time-zone conversion, the day an
all-day event lasts, an alarm's offset. An event from year 1 to 9999 made each
of them raise OverflowError. So:

- an iCalendar item (RFC 5545 §3.6) whose DTSTART, DTEND, DUE, RECURRENCE-ID,
  RDATE, EXDATE or absolute alarm TRIGGER lies outside [EARLIEST, LATEST), or
  whose DURATION, DTSTART-to-DTEND/DUE span or relative TRIGGER exceeds LONGEST,
  is refused (``check_item``: a 400 on DAV, the API and import alike);
- a window asked of the API is refused outside the bounds (``check_instant``),
  one asked over DAV (RFC 4791 §9.9 time-range) is clamped to them (``clamp``).

A window inside the bounds, widened by the longest span, stays inside datetime.
A time zone name (TZID, RFC 5545 §3.2.19 and §3.8.3.1) longer than
MAX_TZID is refused too: every zone lookup (icalendar's parser included) opens
a file of that name, and a name over the file system's limit raised OSError.

RRULE UNTIL is not bounded (clients write 99991231 for "forever"); expansion
stops at the window. How many occurrences a rule may make is another matter
(a cap on recurrence expansion), not decided here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import icalendar

from calcard.core.catalogs import N_
from calcard.core.errors import Refusal
from calcard.core.times import MAX_TZID

EARLIEST = datetime(300, 1, 1)
LATEST = datetime(9700, 1, 1)
LONGEST = timedelta(days=200 * 365)
COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL", "VALARM")
BOUNDS = N_(
    "dates must lie between the years {first} and {last}, "
    "and an event, task or alarm offset may span at most {years} years"
)
BOUND_VALUES = {"first": EARLIEST.year, "last": LATEST.year - 1, "years": LONGEST.days // 365}

_DATED = re.compile(r"^(?:DTSTART|DTEND|DUE|RECURRENCE-ID|RDATE|EXDATE)[;:].*$", re.M)
_YEAR = re.compile(r"(?<![0-9])([0-9]{4})[0-9]{4}(?![0-9])")
_SPANS = re.compile(r"^(?:DURATION|TRIGGER)[;:].*$", re.M)
_LONG_NUMBER = re.compile(r"[0-9]{5}")
_TOO_LONG = f"{{{MAX_TZID + 1},}}"
_LONG_TZID = re.compile(
    rf'TZID=(?:"[^"]{_TOO_LONG}"|[^";:\r\n]{_TOO_LONG})|^TZID:.{_TOO_LONG}$', re.M
)


class OutOfRange(Refusal):
    """A date outside the bounds (invalid); its own type because parsers catch it before
    their generic ``ValueError`` to keep its message."""


def _naive(value: date | datetime) -> datetime:
    """A date or date-time as a naive datetime, its offset ignored (at most a day: the
    bounds leave centuries of margin)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime(value.year, value.month, value.day)


def check_instant(value: date | datetime, name: str = "a date") -> None:
    """Raise OutOfRange unless ``value`` lies inside the bounds."""
    if not EARLIEST <= _naive(value) < LATEST:
        raise OutOfRange(
            N_("{name} must lie between the years {first} and {last}"),
            values={"name": name, "first": EARLIEST.year, "last": LATEST.year - 1},
        )


def clamp(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """A DAV time-range window (aware datetimes) cut to the bounds; no item lies outside."""
    low, high = EARLIEST.replace(tzinfo=UTC), LATEST.replace(tzinfo=UTC)
    return min(max(start, low), high), max(min(end, high), low)


def _plainly_inside(unfolded: str) -> bool:
    """The cheap test most items pass (on the unfolded text): every date of a dated
    property within one span's years inside the bounds, and no DURATION or TRIGGER
    with a five-digit number."""
    years = [int(y) for line in _DATED.findall(unfolded) for y in _YEAR.findall(line)]
    if not years:
        return not _DATED.search(unfolded) and not _SPANS.search(unfolded)
    spans = _SPANS.findall(unfolded)
    return (
        EARLIEST.year < min(years)
        and max(years) < LATEST.year - 1
        and (max(years) - min(years)) * 365 < LONGEST.days - 366
        and not any(_LONG_NUMBER.search(line.split(":", 1)[-1]) for line in spans)
    )


def _values(component, key: str) -> list:
    """The date values of a property that may repeat and hold lists (RDATE, EXDATE)."""
    found = component.get(key)
    found = found if isinstance(found, list) else [found] if found is not None else []
    values: list = []
    for prop in found:
        for one in getattr(prop, "dts", None) or [prop]:
            value = getattr(one, "dt", None)
            values.extend(value if isinstance(value, tuple) else [value])
    return [v for v in values if v is not None]


def _span(value) -> timedelta | None:
    return value if isinstance(value, timedelta) else None


def _outside(component) -> bool:
    """Whether a date of the component lies outside the bounds or a span is too long."""
    dates: list = []
    for key in ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID", "RDATE", "EXDATE", "TRIGGER"):
        dates.extend(_values(component, key))
    spans = [v for v in dates if _span(v) is not None] + [
        v for v in _values(component, "DURATION") if _span(v) is not None
    ]
    instants = [_naive(v) for v in dates if isinstance(v, date)]
    if any(not EARLIEST <= v < LATEST for v in instants):
        return True
    start = _values(component, "DTSTART")
    finish = _values(component, "DTEND") or _values(component, "DUE")
    if start and finish and isinstance(start[0], date) and isinstance(finish[0], date):
        spans.append(_naive(finish[0]) - _naive(start[0]))
    return any(abs(s) > LONGEST for s in spans)


def check_item(text: str) -> None:
    """Raise OutOfRange for an iCalendar item outside the bounds (see the module).

    Text that does not parse is not judged here: the parser that reads it refuses it.
    """
    if passes_quickly(text):
        return
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except (ValueError, TypeError, KeyError, IndexError, OSError):
        return
    for component in calendar.walk():
        if component.name in COMPONENTS:
            if _outside(component):
                raise OutOfRange(BOUNDS, values=BOUND_VALUES)


def passes_quickly(text: str) -> bool:
    """Whether ``check_item`` accepts the text without parsing it (``_plainly_inside``);
    raises OutOfRange for a too long time zone name (RFC 5545 §3.2.19, §3.8.3.1)."""
    unfolded = re.sub(r"\r?\n[ \t]", "", text)
    if _LONG_TZID.search(unfolded):
        raise OutOfRange(
            N_("a time zone name (TZID) may have at most {count} characters"),
            values={"count": MAX_TZID},
        )
    return _plainly_inside(unfolded)


def check_parts(text: str, zones: Sequence[str], body: str) -> None:
    """``check_item(text)`` for a text made of whole VTIMEZONE blocks (``zones``) and the
    content lines of its components (``body``), as an import builds each entry.

    A VTIMEZONE's dates are no date of an event (its DTSTART and RDATE mark zone
    transitions), so they decide nothing here, but their years (1970 to 2037 in
    icalendar's definitions, a hundred transitions) fail the quick test of an event
    decades away and cost a scan of every entry. A zone without quotes (no quoted
    TZID can run from it into the body) is checked once for its TZID length
    (``_zone_passes``); a body that passes the quick test is then accepted, anything
    else gets the whole check of the whole text.
    """
    if all(map(_zone_passes, zones)) and passes_quickly(body):
        return
    check_item(text)


@functools.lru_cache(maxsize=128)
def _zone_passes(zone: str) -> bool:
    """A VTIMEZONE block is neutral to ``check_item``: no quote, no too long TZID."""
    return '"' not in zone and not _LONG_TZID.search(re.sub(r"\r?\n[ \t]", "", zone))
