"""Bounds on recurrence expansion, so that no item's write holds its owner's lock for long.

Expanding a recurrence set (RFC 5545 §3.3.10, §3.8.5) costs in two ways: the
occurrences kept, and the steps the rule engine (dateutil) walks from DTSTART
to reach them, which no later window start skips. Both are bounded here, from
the iCalendar text alone (no parse: cheap enough to run before the write lock):

- A rule with more than ``MAX_PER_DAY`` candidate instants a day (SECONDLY,
  MINUTELY, or BYMINUTE/BYSECOND lists on top of an hourly pattern) is refused,
  and so is a rule whose walk from DTSTART to a few years ahead takes more than
  ``MAX_STEPS`` steps (an hourly rule that started in 1900). CalDAV clients get
  403 with the RFC 4791 §5.3.2.1 CALDAV:max-instances precondition, the JSON
  API 400, an import skips the entry with the reason.
- A rule whose BY* filters never select a day (BYMONTH=2;BYMONTHDAY=30) is
  refused too: dateutil would walk every period to the year 9999 looking for
  one (24 s for an hourly rule). The Gregorian calendar repeats every 400
  years (146,097 days, a whole number of weeks), so the rule's day filters are
  probed over one such cycle placed at the end of datetime's range, where
  dateutil's walk ends after at most one cycle (``never_matches``).
- Every expansion on write (the occurrence index, the reminder schedule, a
  room's clash check) keeps at most ``MAX_OCCURRENCES`` occurrences per item:
  ``window`` shortens the span it expands so that the rule's rate fits the cap,
  and callers cut what is left over (RDATE lists) at the cap.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from math import lcm

from dateutil.rrule import rrulestr

from calcard.core.catalogs import N_
from calcard.core.errors import Refusal

MAX_OCCURRENCES = 3_000  # per item and per expansion: 125 days of an hourly rule
MAX_PER_DAY = 24  # candidate instants a day: hourly is the most frequent rule allowed
MAX_STEPS = 100_000  # rule steps from DTSTART to HORIZON (~0.7 s of dateutil)
HORIZON = timedelta(days=4 * 366)  # how far ahead the walk is counted (index window + growth)
ANCHOR_LEAD = timedelta(days=1)  # a shortened window starts this long before now (``window``)

# Instants a day one period step visits, before BY* expansion (RFC 5545 §3.3.10); a
# coarser FREQ with day filters walks every day of its period (dateutil's day sets).
_BASE = {"SECONDLY": 86_400, "MINUTELY": 1_440, "HOURLY": 24, "DAILY": 1}
_PERIOD_DAYS = {"WEEKLY": 7, "MONTHLY": 28, "YEARLY": 365}
_DAY_FILTERS = ("BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS")
_FINER = {  # BYxxx lists that multiply the instants of a coarser FREQ
    "BYHOUR": ("DAILY", "WEEKLY", "MONTHLY", "YEARLY"),
    "BYMINUTE": ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"),
    "BYSECOND": ("MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"),
}
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


RECURRING = ("VEVENT", "VTODO", "VJOURNAL")  # what recurring-ical-events expands
CYCLE_YEARS = 400  # the Gregorian calendar's period: dates and weekdays repeat exactly
LAST_YEAR = 9999  # datetime.MAXYEAR: where dateutil stops walking
# Filters that can make a rule select no day at all; a rule with none of them
# selects days every period (RFC 5545 §3.3.10 defaults from DTSTART).
_CAN_BE_EMPTY = ("BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS")
_DAY_LEVEL = ("BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "WKST")


@dataclass(frozen=True)
class Rule:
    """One RRULE or EXRULE with its component's name and DTSTART day."""

    parts: dict[str, str]
    start: date | None
    component: str = "VEVENT"

    @property
    def per_day(self) -> float:
        """An upper bound of the instants the rule visits per day."""
        freq = self.parts.get("FREQ", "").upper()
        try:
            interval = max(int(self.parts.get("INTERVAL", "1")), 1)
        except ValueError:
            interval = 1
        if freq == "WEEKLY" and self.parts.get("BYDAY"):
            # the listed weekdays of every week (other filters only take days away)
            rate = len(set(self.parts["BYDAY"].upper().split(","))) / (7 * interval)
        elif freq in _BASE or any(self.parts.get(n) for n in _DAY_FILTERS):
            rate = _BASE.get(freq, 1) / interval
        else:
            rate = 1 / (_PERIOD_DAYS.get(freq, 1) * interval)
        for name, coarser in _FINER.items():
            if freq in coarser and self.parts.get(name):
                rate *= len(self.parts[name].split(","))
        return rate

    def steps(self, today: date) -> float:
        """About how many instants dateutil walks from DTSTART to ``today + HORIZON``."""
        end = today + HORIZON
        until = _DATE.match(self.parts.get("UNTIL", ""))
        if until:
            try:
                end = min(end, date(*map(int, until.groups())))
            except ValueError:
                pass
        days = max((end - (self.start or today)).days, 1)
        return self.per_day * days


    def never_matches(self) -> bool:
        """True when the rule's day filters select no day in a whole 400-year cycle.

        The probe keeps only what decides the days (RFC 5545 §3.3.10): MONTHLY
        and YEARLY rules as they are (BYSETPOS and BYDAY ordinals count per
        period), finer rules as a YEARLY rule of their day filters, without
        ordinals (a superset of their days, so a possible rule is never refused).
        """
        if not any(self.parts.get(n) for n in _CAN_BE_EMPTY) and not _ordinal(self.parts):
            return False
        freq = self.parts.get("FREQ", "").upper()
        keep = freq in ("MONTHLY", "YEARLY")
        names = (*_DAY_LEVEL, "BYSETPOS", "INTERVAL") if keep else _DAY_LEVEL
        parts = {n: self.parts[n] for n in names if self.parts.get(n)}
        if not keep:
            parts["BYDAY"] = re.sub(r"[+-]?\d+", "", parts.get("BYDAY", "")).strip(",")
        try:
            interval = max(int(parts.get("INTERVAL", "1")), 1)
        except ValueError:
            return False  # dateutil refuses it; Radicale answers the PUT itself
        months = 12 if freq == "YEARLY" else 1
        cycle = lcm(CYCLE_YEARS * 12, interval * months) // 12  # years until periods realign
        start = self.start or date(2000, 1, 1)
        shift = (LAST_YEAR - cycle - start.year) // CYCLE_YEARS * CYCLE_YEARS
        if shift < 0:
            return True  # the cycle outgrows datetime's range: refused as never matching
        probed = {"FREQ": freq if keep else "YEARLY", **parts}
        rule = ";".join(f"{k}={v}" for k, v in probed.items() if v)
        probe = datetime(start.year + shift, start.month, start.day)
        try:
            return next(iter(rrulestr(rule, dtstart=probe)), None) is None
        except (ValueError, TypeError):
            return False  # not a rule dateutil takes; it fails the same way when expanded


def _ordinal(parts: dict[str, str]) -> bool:
    return bool(re.search(r"\d", parts.get("BYDAY", "")))


def _unfolded(text: str) -> list[str]:
    return re.sub(r"\r?\n[ \t]", "", text).splitlines()


def rules(text: str) -> list[Rule]:
    """The RRULEs and EXRULEs of every component, read from the text."""
    found: list[Rule] = []
    if "RULE" not in text.upper():
        return found  # nothing recurs by rule: no need to read every line
    stack: list[tuple[str, dict]] = []  # (component, {"start": date, "rules": [...]})
    for line in _unfolded(text):
        name, _, value = line.partition(":")
        key = name.split(";", 1)[0].strip().upper()
        if key == "BEGIN":
            stack.append((value.strip().upper(), {"start": None, "rules": []}))
        elif key == "END" and stack:
            component, frame = stack.pop()
            found += [Rule(p, frame["start"], component) for p in frame["rules"]]
        elif key == "DTSTART" and stack:
            match = _DATE.search(value)
            try:
                stack[-1][1]["start"] = date(*map(int, match.groups())) if match else None
            except ValueError:
                pass
        elif key in ("RRULE", "EXRULE") and stack:
            parts = dict(p.partition("=")[::2] for p in value.split(";") if p)
            stack[-1][1]["rules"].append({k.strip().upper(): v.strip() for k, v in parts.items()})
    return found


def refusal(text: str, today: date | None = None) -> Refusal | None:
    """Why the recurrences of an iCalendar text are refused, or None when they are fine
    (a Refusal: the web API and an import's report say it in the reader's language, DAV
    in English)."""
    today = today or datetime.now(UTC).date()
    for rule in rules(text):
        if rule.per_day > MAX_PER_DAY:
            return Refusal(
                N_(
                    "a recurrence more frequent than hourly (FREQ={freq}) is not supported: "
                    "at most {count} occurrences a day"
                ),
                values={"freq": rule.parts.get("FREQ", "?"), "count": MAX_PER_DAY},
            )
        if rule.never_matches():
            spelled = ";".join(f"{k}={v}" for k, v in rule.parts.items())
            return Refusal(
                N_("this recurrence never recurs ({rule}): its filters select no day"),
                values={"rule": spelled},
            )
        if rule.component in RECURRING and rule.steps(today) > MAX_STEPS:
            return Refusal(
                N_(
                    "a recurrence this frequent cannot start this long ago: it would take "
                    "more than {count} steps to expand; move its start closer"
                ),
                values={"count": MAX_STEPS},
            )
    return None


@functools.lru_cache(maxsize=64)  # asked several times per write (``window``)
def per_day(text: str) -> float:
    """Upper bound of the item's occurrences a day from its rules (0: none recur)."""
    return sum(rule.per_day for rule in rules(text) if rule.component in RECURRING)


def window(text: str, start: datetime, end: datetime, now: datetime) -> tuple[datetime, datetime]:
    """The part of [start, end) to expand so the item's rules give at most MAX_OCCURRENCES.

    When the whole span holds too many, the part starts at a day before ``now``
    (when that is inside the span; the future is what free/busy, rooms and
    reminders need) and is as long as the cap allows.
    """
    rate = per_day(text)
    if rate <= 0 or rate * (end - start).total_seconds() / 86_400 <= MAX_OCCURRENCES:
        return start, end
    anchor = now - ANCHOR_LEAD
    first = anchor if start <= anchor < end else start
    return first, min(end, first + timedelta(days=MAX_OCCURRENCES / rate))
