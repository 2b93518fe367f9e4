"""An import stores its entries in batches (issue 16): the same items, hrefs, ETags, sync
log, occurrence and reminder rows as storing them one by one, one revision per batch,
and a run cut short keeps its earlier batches whole.

The one-by-one import below is the import as it was before batches: every entry its
own ``store.put_item`` after looking up its UID and a free href.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import islice

import pytest

from calcard.transfer import importexport

from helpers import FIXTURES, calcard_check, many_events, one_by_one, same, state

ALARM = "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n"
CUSTOM_ZONE = (
    "BEGIN:VTIMEZONE\r\nTZID:Custom Zone\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
    "TZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
)


def event(uid: str, start: str, extra: str = "") -> str:
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART{start}\r\n"
        f"DURATION:PT1H\r\nSUMMARY:E {uid}\r\n{extra}END:VEVENT\r\n"
    )


def mixed_feed(count: int, today: date) -> str:
    """Series (with EXDATEs and alarms) whose overrides come later in the file, series
    without end, all-day, UTC, floating (X-WR-TIMEZONE) and custom-zone events, broken
    and refused entries, UIDs whose hrefs clash, an unsafe UID, a master met twice."""
    out = ["BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nX-WR-TIMEZONE:Europe/Zurich\r\n"]
    out.append(CUSTOM_ZONE)

    def day_of(n: int) -> date:
        return today + timedelta(days=(n * 7) % 120 - 30)

    for n in range(count):
        day, hour = day_of(n), 8 + n % 9
        stamp = f"{day:%Y%m%d}T{hour:02d}0000"
        kind = n % 10
        if kind == 0:
            skipped = f"{day + timedelta(days=7):%Y%m%d}T{hour:02d}0000"
            rule = f"RRULE:FREQ=WEEKLY;COUNT=20\r\nEXDATE:{skipped}\r\n"
            out.append(event(f"series-{n}", f":{stamp}", rule + ALARM))
        elif kind == 1:
            rule = "RRULE:FREQ=MONTHLY;BYDAY=1MO\r\n"
            out.append(event(f"open-{n}", f";TZID=America/New_York:{stamp}", rule))
        elif kind == 2:
            out.append(event(f"allday-{n}", f";VALUE=DATE:{day:%Y%m%d}", ALARM))
        elif kind == 3:
            out.append(event(f"utc-{n}", f":{stamp}Z", "TRANSP:TRANSPARENT\r\n"))
        elif kind == 4:
            out.append(event(f"custom-{n}", f";TZID=Custom Zone:{stamp}", ALARM))
        elif kind == 5 and n >= 10:  # an override of the series five entries back
            base = n - 5
            rid = f"{day_of(base) + timedelta(days=14):%Y%m%d}T{8 + base % 9:02d}0000"
            extra = f"RECURRENCE-ID:{rid}\r\nSTATUS:TENTATIVE\r\n"
            out.append(event(f"series-{base}", f":{rid}", extra))
        elif kind == 6:
            out.append(event(f"broken-{n}", ":notadate"))
        elif kind == 7 and n % 20 == 7:
            out.append(event(f"tofast-{n}", f":{stamp}", "RRULE:FREQ=MINUTELY\r\n"))
        elif kind == 7:
            out.append(event(f"far-{n}", ":00020101T000000"))
        elif kind == 8 and n % 40 == 8:
            out.append(f"BEGIN:VEVENT\r\nDTSTART:{stamp}\r\nSUMMARY:no uid\r\nEND:VEVENT\r\n")
        elif kind == 8:  # "clash-N" and "clash-N.ics" want the same href; an unsafe UID
            out.append(event(f"clash-{n}", f":{stamp}Z"))
            out.append(event(f"clash-{n}.ics", f":{stamp}Z", ALARM))
            out.append(event(f"un safe/{n}", f":{stamp}Z"))
        else:
            out.append(event(f"plain-{n}", f":{stamp}", "CLASS:PRIVATE\r\n"))
        if n % 97 == 50:  # a series' master again, much later
            out.append(event(f"series-{n - n % 10}", f":{stamp}", "LOCATION:again\r\n"))
    out.append("END:VCALENDAR\r\n")
    return "".join(out)


def compare(db, kind: str, text: str) -> tuple[importexport.ImportSummary, dict]:
    began = datetime.now(UTC)
    batched = importexport.import_lines(db, "batched", kind, text.splitlines(keepends=True))
    single = one_by_one(db, "single", kind, importexport.entries(kind, text.splitlines(True)))
    assert batched == single  # counts and every skip reason, in order
    got, want = state(db, "batched", kind, began), state(db, "single", kind, began)
    same(got, want)
    return batched, got


def test_a_batched_import_stores_what_entry_by_entry_storing_did(import_pair):
    feed = mixed_feed(2000, datetime.now(UTC).date())
    summary, got = compare(import_pair.db, ".ics", feed)
    assert summary.added > 1500 and summary.updated == 0 and len(summary.skipped) > 400
    assert {"VEVENT"} == {item[3] for item in got["items"]}
    assert any(count > 1 for *_, count in got["sync log"])  # overrides merged later
    assert got["reminders"] and got["occurrences"]
    # one revision per batch and per early store of entries a later one depends on
    # (here: every tenth entry wants an href another one waits for), not one per entry
    assert got["revisions"] < summary.added / 4
    assert calcard_check(import_pair.url)[0] == 0


@pytest.mark.parametrize("name", ["google.ics", "apple.ics", "outlook.ics", "contacts4.vcf"])
def test_the_fixture_files_import_as_before(import_pair, name):
    kind = name[-4:]
    text = (FIXTURES / name).read_text(encoding="utf-8-sig")
    for _ in range(2):  # the second run updates what the first added
        compare(import_pair.db, kind, text)
    assert calcard_check(import_pair.url)[0] == 0


def test_a_feed_without_dependencies_takes_one_revision_per_batch(import_pair):
    summary, got = compare(import_pair.db, ".ics", many_events(1000))
    assert (summary.added, len(summary.skipped)) == (998, 2)
    assert got["revisions"] == 1000 // importexport.BATCH
    assert len(got["sync log"]) == 998


def test_an_import_cut_short_keeps_its_earlier_batches_whole(import_pair):
    feed = mixed_feed(1000, datetime.now(UTC).date()).splitlines(keepends=True)
    starts = [n for n, line in enumerate(feed) if line.startswith("BEGIN:VEVENT")]
    stop_at = starts[2 * importexport.BATCH + 60]  # inside the third batch

    def cut() -> Iterator[str]:
        yield from feed[:stop_at]
        raise OSError("the upload broke off")

    began = datetime.now(UTC)
    with pytest.raises(OSError, match="broke off"):
        importexport.import_lines(import_pair.db, "batched", ".ics", cut())
    # what storing the first two batches' entries one by one gives
    first = islice(importexport.entries(".ics", feed), 2 * importexport.BATCH)
    one_by_one(import_pair.db, "single", ".ics", first)
    got, want = (
        state(import_pair.db, "batched", ".ics", began),
        state(import_pair.db, "single", ".ics", began),
    )
    assert got["items"]
    same(got, want)
    assert calcard_check(import_pair.url)[0] == 0
