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
from sqlalchemy import func, select

from calcard import accounts, store
from calcard.core import recurrence
from calcard.core.models import IndexedItem, Occurrence, Reminder, ReminderItem, SyncLog
from calcard.store import ItemData, StoreError, ical, reminders
from calcard.transfer import importexport

from conftest import fresh_backend
from helpers import FIXTURES, calcard_check, many_events

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


def one_by_one(db, login: str, kind: str, entries) -> importexport.ImportSummary:
    """The import before batches: one lookup and one ``put_item`` per entry."""
    with db.transaction() as s:
        collection = importexport.target(s, login, kind, None)
    summary = importexport.ImportSummary()
    imported: set[str] = set()
    for entry in entries:
        with db.transaction(write=True, owners=[collection.owner]) as s:
            if isinstance(entry, ical.ParseError):
                summary.skipped.append(str(entry))
                continue
            too_many = recurrence.refusal(entry.text) if kind == ".ics" else None
            if too_many:
                summary.skipped.append(f"{entry.uid}: {too_many}")
                continue
            existing = store.item_by_uid(s, collection.id, entry.uid)
            if existing is not None and entry.uid in imported:
                entry = ical.merge_entry(existing.text, entry)
            href = existing.href if existing else store.free_href(s, collection.id, entry.uid, kind)
            try:
                store.put_item(s, collection, ItemData.from_entry(href, entry), actor=login)
            except StoreError as exc:
                summary.skipped.append(f"{entry.uid}: {exc}")
                continue
            if entry.uid in imported:
                continue
            imported.add(entry.uid)
            if existing is None:
                summary.added += 1
            else:
                summary.updated += 1
    return summary


def state(db, login: str, kind: str, began: datetime) -> dict:
    """What an import that began at ``began`` leaves in a collection. Times that follow
    "now" (the horizon of series without end, how far reminders are scheduled) are
    compared by ``same``; occurrences and reminders are cut a day before the horizons
    of the first of the imports compared, which may have run minutes before the other."""
    horizon = int((began + timedelta(days=700)).timestamp())
    last_alarm = began + reminders.HORIZON - timedelta(days=1)
    with db.transaction() as s:
        collection = importexport.target(s, login, kind, None)
        cid = collection.id
        items = sorted(
            (i.href, i.uid, i.etag, i.component, i.start, i.end) for i in store.all_items(s, cid)
        )
        logged = s.execute(
            select(SyncLog.href, SyncLog.deleted, func.count())
            .where(SyncLog.collection_id == cid)
            .group_by(SyncLog.href, SyncLog.deleted)
        ).all()
        revisions = s.scalar(
            select(func.count(SyncLog.revision.distinct())).where(SyncLog.collection_id == cid)
        )
        occurrences = s.execute(
            select(Occurrence.href, Occurrence.start, Occurrence.end, Occurrence.kind).where(
                Occurrence.collection_id == cid, Occurrence.start < horizon
            )
        ).all()
        indexed = s.execute(
            select(
                IndexedItem.href,
                IndexedItem.window_start,
                IndexedItem.window_end,
                IndexedItem.exact,
            ).where(IndexedItem.collection_id == cid)
        ).all()
        alarms = s.execute(
            select(
                Reminder.href,
                Reminder.key,
                Reminder.channel,
                Reminder.fire_at,
                Reminder.status,
                Reminder.title,
            ).where(Reminder.collection_id == cid, Reminder.fire_at < last_alarm)
        ).all()
        scheduled = s.execute(
            select(ReminderItem.href, ReminderItem.scheduled_until).where(
                ReminderItem.collection_id == cid
            )
        ).all()
    return {
        "items": items,
        "sync log": sorted(map(tuple, logged)),
        "occurrences": sorted(map(tuple, occurrences)),
        "index": sorted((h, start, exact) for h, start, _, exact in indexed),
        "index ends": {h: end for h, _, end, _ in indexed},
        "reminders": sorted((*r[:3], r[3].replace(tzinfo=None), *r[4:]) for r in alarms),
        "schedule": {h: until.replace(tzinfo=None).timestamp() for h, until in scheduled},
        "revisions": revisions,
    }


@pytest.fixture
def own(backend, tmp_path):
    """A database of its own (``calcard check`` reads all of it) with two people."""
    with fresh_backend(backend.name, tmp_path) as database:
        database.db.upgrade()
        with database.db.transaction(write=True) as s:
            accounts.create_org(s, "Batches", plan="team")
            for login in ("batched", "single"):
                accounts.add_user(s, login, "Batches", "collaborator", "pw-for-batches-1")
        yield database


def compare(db, kind: str, text: str) -> tuple[importexport.ImportSummary, dict]:
    began = datetime.now(UTC)
    batched = importexport.import_lines(db, "batched", kind, text.splitlines(keepends=True))
    single = one_by_one(db, "single", kind, importexport.entries(kind, text.splitlines(True)))
    assert batched == single  # counts and every skip reason, in order
    got, want = state(db, "batched", kind, began), state(db, "single", kind, began)
    same(got, want)
    return batched, got


def same(got: dict, want: dict) -> None:
    """Equal, but for the times that follow "now", which may be a few minutes apart."""
    for key in want:
        if key in ("index ends", "schedule"):
            assert got[key].keys() == want[key].keys(), key
            assert all(abs(got[key][h] - want[key][h]) < 600 for h in want[key]), key
        elif key != "revisions":
            assert got[key] == want[key], key


def test_a_batched_import_stores_what_entry_by_entry_storing_did(own):
    feed = mixed_feed(2000, datetime.now(UTC).date())
    summary, got = compare(own.db, ".ics", feed)
    assert summary.added > 1500 and summary.updated == 0 and len(summary.skipped) > 400
    assert {"VEVENT"} == {item[3] for item in got["items"]}
    assert any(count > 1 for *_, count in got["sync log"])  # overrides merged later
    assert got["reminders"] and got["occurrences"]
    # one revision per batch and per early store of entries a later one depends on
    # (here: every tenth entry wants an href another one waits for), not one per entry
    assert got["revisions"] < summary.added / 4
    assert calcard_check(own.url)[0] == 0


@pytest.mark.parametrize("name", ["google.ics", "apple.ics", "outlook.ics", "contacts4.vcf"])
def test_the_fixture_files_import_as_before(own, name):
    kind = name[-4:]
    text = (FIXTURES / name).read_text(encoding="utf-8-sig")
    for _ in range(2):  # the second run updates what the first added
        compare(own.db, kind, text)
    assert calcard_check(own.url)[0] == 0


def test_a_feed_without_dependencies_takes_one_revision_per_batch(own):
    summary, got = compare(own.db, ".ics", many_events(1000))
    assert (summary.added, len(summary.skipped)) == (998, 2)
    assert got["revisions"] == 1000 // importexport.BATCH
    assert len(got["sync log"]) == 998


def test_an_import_cut_short_keeps_its_earlier_batches_whole(own):
    feed = mixed_feed(1000, datetime.now(UTC).date()).splitlines(keepends=True)
    starts = [n for n, line in enumerate(feed) if line.startswith("BEGIN:VEVENT")]
    stop_at = starts[2 * importexport.BATCH + 60]  # inside the third batch

    def cut() -> Iterator[str]:
        yield from feed[:stop_at]
        raise OSError("the upload broke off")

    began = datetime.now(UTC)
    with pytest.raises(OSError, match="broke off"):
        importexport.import_lines(own.db, "batched", ".ics", cut())
    # what storing the first two batches' entries one by one gives
    first = islice(importexport.entries(".ics", feed), 2 * importexport.BATCH)
    one_by_one(own.db, "single", ".ics", first)
    got, want = state(own.db, "batched", ".ics", began), state(own.db, "single", ".ics", began)
    assert got["items"]
    same(got, want)
    assert calcard_check(own.url)[0] == 0
