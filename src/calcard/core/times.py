"""Time helpers: the one place calcard makes instants aware and looks zones up by name.

Everything calcard stores is UTC. SQLite hands timestamps back naive, PostgreSQL
aware, and an iCalendar value (RFC 5545 §3.3.4 DATE, §3.3.5 DATE-TIME) comes in
three forms: a DATE (no time), a "floating" local time (form #1, no zone), a UTC
time (form #2, the "Z" suffix) and a local time with a TZID (form #3). ``localize``
reads the first two in a given zone and leaves the others as they are; ``as_utc``
does so in UTC and converts the result, so every comparison and every ISO string
the API prints is in UTC.

Zone names (TZID, RFC 5545 §3.2.19) come from users, forms and feeds: ``valid_zone``
says whether one names an IANA zone (each caller words its own refusal), ``zone``
looks one up and falls back to UTC for a stored name that no longer resolves.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC_ZONE = ZoneInfo("UTC")
MAX_TZID = 200  # the longest IANA or Windows zone name is under 70 characters


def utcnow() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def localize(value: date | datetime, zone: tzinfo) -> datetime:
    """A DATE as its midnight in ``zone``, a floating DATE-TIME (RFC 5545 §3.3.5
    form #1) as a time in ``zone``; an aware value unchanged."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def as_utc(value: date | datetime) -> datetime:
    """``value`` as an aware UTC datetime: naive ones (SQLite's, floating times) are
    taken as UTC, a DATE as its UTC midnight, aware ones are converted."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def from_posix(seconds: int) -> datetime:
    """An instant stored as POSIX seconds (the occurrence index), as aware UTC."""
    return datetime.fromtimestamp(seconds, UTC)


def valid_zone(name: str) -> bool:
    """Whether ``name`` is an IANA zone this system knows.

    Longer than MAX_TZID is refused before the lookup: ZoneInfo opens a file of that
    name, and one over the file system's limit raises OSError."""
    if len(name) > MAX_TZID:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def zone(name: str) -> ZoneInfo:
    """The zone called ``name``, or UTC when there is none of that name."""
    return ZoneInfo(name) if valid_zone(name) else UTC_ZONE
