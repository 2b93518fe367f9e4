"""The import's fast paths (issue 16) give what the slow ones gave: a file's VTIMEZONE
definitions judged and cut for the parse once, short ASCII lines not refolded, the
calendar header parsed once, alarms and the occurrence index read from the reader's
parse, occurrences taken from recurring-ical-events without a copy of each."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import icalendar
import recurring_ical_events
from recurring_ical_events.occurrence import Occurrence

from calcard.core import timebounds
from calcard.store import ItemData, alarms, busy, ical
from calcard.transfer import importexport

from helpers import FIXTURES, one_by_one, same, state

ZURICH = icalendar.Timezone.from_tzid("Europe/Zurich").to_ical().decode()
# a known zone whose definition holds a date no event may have (year 200)
BOGUS_ZURICH = ZURICH.replace("DTSTART:19700101T000000", "DTSTART:02000101T000000", 1)
LONG_ZONE = "Z" * 300


def feed(*events: str, zone: str = BOGUS_ZURICH) -> list[str]:
    text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n" + zone + "".join(events)
    return (text + "END:VCALENDAR\r\n").splitlines(keepends=True)


def event(uid: str, start: str, extra: str = "") -> str:
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART{start}\r\n"
        f"DURATION:PT1H\r\nSUMMARY:E {uid}\r\n{extra}END:VEVENT\r\n"
    )


def counted(monkeypatch, owner, name: str) -> list:
    """Calls of ``owner.name`` from now on (their first arguments), still calling it."""
    calls: list = []
    original = getattr(owner, name)

    def spy(*args, **kwargs):
        calls.append(args[0] if args else None)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return calls


def test_a_known_zone_is_judged_once_per_file_and_entries_as_before(monkeypatch):
    events = [
        event(f"e{n}", f";TZID=Europe/Zurich:2026{1 + n % 12:02d}01T090000") for n in range(30)
    ]
    events.append(event("old", ";TZID=Europe/Zurich:01000101T090000"))
    checks = counted(monkeypatch, timebounds, "check_item")
    found = list(ical.iter_calendar(feed(*events)))
    assert len(checks) == 1  # the whole check for the one entry the quick one cannot pass
    stored = [e for e in found if isinstance(e, ical.Entry)]
    assert [e.uid for e in stored] == [f"e{n}" for n in range(30)]
    for entry in stored:
        assert "DTSTART:02000101T000000" in entry.text  # the definition is kept as it came
        timebounds.check_item(entry.text)  # and the whole check accepts it
    assert timebounds.BOUNDS.format(**timebounds.BOUND_VALUES) in str(found[30])
    quoted = ZURICH.replace("COMMENT:This", 'COMMENT:"This"', 1)
    checks.clear()  # a definition with a quote gets the whole check, as before
    found = list(
        ical.iter_calendar(feed(event("q", ";TZID=Europe/Zurich:20260101T090000"), zone=quoted))
    )
    assert len(checks) == 1 and isinstance(found[0], ical.Entry)
    too_long = ZURICH.replace("TZID:Europe/Zurich", f"TZID:{LONG_ZONE}", 1)
    found = list(
        ical.iter_calendar(feed(event("l", f";TZID={LONG_ZONE}:20260101T090000"), zone=too_long))
    )
    assert "at most" in str(found[0])


def test_lines_fold_as_icalendar_folds_them_short_ascii_ones_untouched(monkeypatch):
    for length in (0, 1, 60, 66, 67, 68, 75, 76, 141, 142, 143, 400):
        for tail in ("", "é", "€", "日本", "\\", "^"):
            line = "SUMMARY:" + "x" * length + tail
            want = icalendar.parser.Contentline(line).to_ical().decode()
            made = counted(monkeypatch, icalendar.parser, "Contentline")
            assert ical._folded(line) == want, line
            assert bool(made) == (len(line) >= 75 or not line.isascii()), line
            monkeypatch.undo()


def test_the_reader_parses_an_entry_as_calendar_of_its_text_with_the_header_once(monkeypatch):
    parsed = counted(monkeypatch, icalendar.Calendar, "from_ical")
    whole = counted(monkeypatch, timebounds, "check_item")  # what the quick check cannot pass
    found = [
        entry
        for name in ("google.ics", "apple.ics", "outlook.ics")
        for entry in ical.iter_calendar(
            (FIXTURES / name).read_text(encoding="utf-8-sig").splitlines(keepends=True)
        )
        if isinstance(entry, ical.Entry)
    ]
    entries = [str(t) for t in parsed if "BEGIN:VEVENT" in str(t)]
    assert entries and [t for t in entries if "PRODID:" in t] == whole  # header parsed once
    for entry in found:
        expected = ical.calendar_of(entry.text)
        assert entry.calendar == expected
        assert list(entry.calendar.items()) == list(expected.items())
        assert entry.calendar.to_ical() == expected.to_ical()


SOON = datetime.now(UTC).date() + timedelta(days=3)  # the alarms are scheduled ahead


def day(days: int) -> str:
    return f"{SOON + timedelta(days=days):%Y%m%d}"


SERIES = [
    event("weekly", f";TZID=Europe/Zurich:{day(0)}T090000",
          f"RRULE:FREQ=WEEKLY;COUNT=12\r\nEXDATE;TZID=Europe/Zurich:{day(14)}T090000\r\n"
          f"RDATE;TZID=Europe/Zurich:{day(10)}T070000\r\n"
          "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT10M\r\nEND:VALARM\r\n"),
    event("weekly", f";TZID=Europe/Zurich:{day(21)}T150000",
          f"RECURRENCE-ID;TZID=Europe/Zurich:{day(28)}T090000\r\n"),
    event("days", ";VALUE=DATE:20260320", "RRULE:FREQ=DAILY;COUNT=15\r\nTRANSP:TRANSPARENT\r\n"),
    event("floating", ":20260325T023000", "RRULE:FREQ=DAILY;UNTIL=20260405T000000Z\r\n"),
    event("utc", ":20261020T120000Z", "RRULE:FREQ=MONTHLY;BYDAY=-1FR\r\nSTATUS:TENTATIVE\r\n"),
    event("open", ";TZID=Europe/Zurich:20250101T080000", "RRULE:FREQ=YEARLY\r\n"),
]  # fmt: skip


def test_occurrences_are_those_between_says_without_copying_each(monkeypatch):
    calendar = ical.calendar_of("".join(feed(*SERIES, zone=ZURICH)))
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    query = recurring_ical_events.of(calendar, components=["VEVENT"])
    copies = [
        (c["DTSTART"].dt, c["DTEND"].dt, str(c.get("SUMMARY"))) for c in query.between(start, end)
    ]
    made = counted(monkeypatch, Occurrence, "as_component")
    spans = busy._spans(query, start, end)
    assert [(a, b, str(source.get("SUMMARY"))) for a, b, source in spans] == copies
    assert not made


def test_an_import_indexes_as_storing_one_by_one_from_the_reader_parse(import_pair, monkeypatch):
    made = counted(monkeypatch, Occurrence, "as_component")
    reparsed = counted(monkeypatch, ical, "calendar_of")
    lines = feed(*SERIES, zone=ZURICH)
    began = datetime.now(UTC)
    summary = importexport.import_lines(import_pair.db, "batched", ".ics", lines)
    assert (summary.added, summary.skipped) == (5, [])
    # the index and alarms read the reader's parse; only the alarms' expansion copies
    assert not reparsed and {str(o.uid) for o in made} == {"weekly"}
    # the same entries stored as one put_item after the other, each parsed from its text
    assert (
        one_by_one(import_pair.db, "single", ".ics", importexport.entries(".ics", lines)) == summary
    )
    assert reparsed and {str(o.uid) for o in made} == {"weekly"}
    got, want = (
        state(import_pair.db, "batched", ".ics", began),
        state(import_pair.db, "single", ".ics", began),
    )
    same(got, want)
    assert len(got["occurrences"]) > 60 and got["reminders"]


def test_alarms_of_a_parsed_calendar_are_those_of_its_text():
    text = ItemData.from_text("a.ics", "".join(feed(SERIES[0], zone=ZURICH))).text
    now = datetime.now(UTC)
    later = now + timedelta(days=60)
    assert alarms.alarms_between(text, now, later, (), ical.calendar_of(text)) == (
        alarms.alarms_between(text, now, later)
    )


def test_the_import_command_does_not_load_the_demo():
    code = (
        "import sys, calcard.cli\n"
        "print('calcard.demo' in sys.modules, 'calcard.scheduling' in sys.modules)"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.split() == ["False", "False"]
