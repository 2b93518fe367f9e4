"""`calcard check [--repair]`: derived data damaged in SQL is found, rebuilt from the
items, and the server answers right again, with the items themselves untouched.

Each test damages one kind of derived data of a fresh user on a server of its own
database (the check reads the whole database, so no other module's data is in it),
and leaves the database consistent again.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy import text as sql

from calcard.core.config import load_settings
from calcard.core.models import (
    Collection,
    IndexedItem,
    Item,
    Occurrence,
    Reminder,
    ReminderItem,
    SyncLog,
)
from calcard.store import reminders
from calcard.store.ical import etag_of
from calcard.worker import Dispatcher

from conftest import fresh_backend, report, start_server, stop_server, sync_report
from helpers import calcard_check

ZURICH = "Europe/Zurich"


@pytest.fixture(scope="module")
def site(backend, tmp_path_factory):
    """A server on a database of its own, of the backend's kind."""
    tmp = tmp_path_factory.mktemp(f"check-{backend.name}")
    with fresh_backend(backend.name, tmp) as own:
        srv = start_server(own, tmp)
        yield srv
        stop_server(srv)


def check(site, *args: str) -> tuple[int, str]:
    return calcard_check(site.backend.url, *args)


def monday(weeks: int = 1) -> datetime:
    """10:00 UTC on a Monday ``weeks`` weeks ahead."""
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    return today + timedelta(days=7 * weeks - today.weekday())


def calendar(uid: str, body: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\n"
        f"{body.replace('UID:', f'UID:{uid}', 1)}END:VCALENDAR\r\n"
    )


def weekly(uid: str, start: datetime, alarm: str = "-PT15M") -> str:
    """A weekly meeting in Zurich time with an e-mail alarm."""
    local = start.astimezone(__import__("zoneinfo").ZoneInfo(ZURICH))
    return calendar(
        uid,
        "BEGIN:VEVENT\r\nUID:\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;TZID={ZURICH}:{local:%Y%m%dT%H%M%S}\r\n"
        f"DTEND;TZID={ZURICH}:{local + timedelta(hours=1):%Y%m%dT%H%M%S}\r\n"
        "RRULE:FREQ=WEEKLY;COUNT=20\r\nSUMMARY:Weekly\r\n"
        f"BEGIN:VALARM\r\nTRIGGER:{alarm}\r\nACTION:EMAIL\r\nDESCRIPTION:r\r\nSUMMARY:r\r\n"
        "END:VALARM\r\nEND:VEVENT\r\n",
    )


def single(uid: str, start: datetime, hours: int = 1) -> str:
    return calendar(
        uid,
        "BEGIN:VEVENT\r\nUID:\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDTEND:{start + timedelta(hours=hours):%Y%m%dT%H%M%SZ}"
        "\r\nSUMMARY:Single\r\nEND:VEVENT\r\n",
    )


def all_day(uid: str, start: datetime) -> str:
    return calendar(
        uid,
        f"BEGIN:VEVENT\r\nUID:\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:{start:%Y%m%d}"
        "\r\nSUMMARY:Holiday\r\nEND:VEVENT\r\n",
    )


def task(uid: str, due: datetime) -> str:
    return calendar(
        uid,
        f"BEGIN:VTODO\r\nUID:\r\nDTSTAMP:20260101T000000Z\r\nDUE:{due:%Y%m%dT%H%M%SZ}\r\n"
        "SUMMARY:Task\r\nBEGIN:VALARM\r\nTRIGGER:-PT1H\r\nACTION:DISPLAY\r\nDESCRIPTION:d\r\n"
        "END:VALARM\r\nEND:VTODO\r\n",
    )


CARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:Ann {uid}\r\nN:{uid};Ann;;;\r\nEND:VCARD\r\n"


@pytest.fixture
def content(site):
    """A user whose calendar and address book went through puts, updates and deletions;
    returns (login, early sync token of the calendar, the acknowledged hrefs)."""
    login = site.user()
    calendar_path = f"/{login}/calendar/"
    with site.client(login) as http:
        early, _ = sync_report(http, calendar_path)
        texts = {
            "weekly.ics": weekly("weekly", monday()),
            "single.ics": single("single", monday() + timedelta(days=1)),
            "allday.ics": all_day("allday", monday() + timedelta(days=2)),
            "task.ics": task("task", monday() + timedelta(days=3)),
            "gone.ics": single("gone", monday() + timedelta(days=4)),
        }
        for href, text in texts.items():
            put = http.put(calendar_path + href, content=text.encode())
            assert put.status_code == 201, put.text
        moved = single("single", monday() + timedelta(days=1, hours=2))
        assert http.put(calendar_path + "single.ics", content=moved.encode()).status_code == 204
        assert http.delete(calendar_path + "gone.ics").status_code in (200, 204)
        for uid in ("ann", "bob"):
            card = CARD.format(uid=uid).encode()
            assert http.put(f"/{login}/contacts/{uid}.vcf", content=card).status_code == 201
        assert http.delete(f"/{login}/contacts/bob.vcf").status_code in (200, 204)
    return login, early


def items_of(site, login: str) -> dict[tuple[str, str], tuple[str, str]]:
    with site.backend.db.transaction() as s:
        rows = s.execute(
            select(Item.owner, Item.href, Item.etag, Item.text, Item.deleted_at).where(
                Item.owner == login
            )
        ).all()
    return {(r.href, str(r.deleted_at)): (r.etag, r.text) for r in rows}


def collection_id(site, path: str) -> int:
    with site.backend.db.transaction() as s:
        return s.scalar(
            select(Collection.id).where(Collection.path == path, Collection.deleted_at.is_(None))
        )


def damaged(site, expected: list[str]) -> str:
    """Check finds the damage (exit 1, a line naming each of ``expected``), --repair
    fixes it (exit 0) and a following check passes; returns the repair's output."""
    code, output = check(site)
    assert code == 1, output
    for text in expected:
        assert text in output, output
    code, repaired = check(site, "--repair")
    assert code == 0, repaired
    assert "0 left" in repaired
    code, again = check(site)
    assert code == 0, again
    assert "consistent" in again
    return output


TIME_RANGE = """<?xml version="1.0"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><D:getetag/></D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
<C:time-range start="{start:%Y%m%dT%H%M%SZ}" end="{end:%Y%m%dT%H%M%SZ}"/>
</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"""

FREE_BUSY = """<?xml version="1.0"?><C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
<C:time-range start="{start:%Y%m%dT%H%M%SZ}" end="{end:%Y%m%dT%H%M%SZ}"/></C:free-busy-query>"""


def found_in(site, login: str, start: datetime, end: datetime) -> set[str]:
    """The hrefs a calendar-query time-range REPORT answers."""
    with site.client(login) as http:
        response = report(
            http, f"/{login}/calendar/", TIME_RANGE.format(start=start, end=end)
        )
    assert response.status_code == 207, response.text
    return set(re.findall(r"/([^/<]+\.ics)</href>", response.text))


def busy_in(site, login: str, start: datetime, end: datetime) -> list[str]:
    """The FREEBUSY lines of a free-busy-query REPORT's answer."""
    with site.client(login) as http:
        response = report(http, f"/{login}/calendar/", FREE_BUSY.format(start=start, end=end))
    assert response.status_code == 200, response.text
    return re.findall(r"^FREEBUSY[;:].*$", response.text.replace("\r\n ", ""), re.M)


def test_a_consistent_database_passes(site, content):
    code, output = check(site)
    assert code == 0, output
    assert output.strip().splitlines()[-1].endswith(", consistent")


def test_lost_and_bogus_occurrences_are_rebuilt(site, content):
    login, _ = content
    third = monday(3)
    assert found_in(site, login, third, third + timedelta(hours=2)) == {"weekly.ics"}
    before = items_of(site, login)
    calendar_id = collection_id(site, f"{login}/calendar")
    with site.backend.db.transaction(write=True) as s:
        s.execute(
            delete(Occurrence).where(
                Occurrence.collection_id == calendar_id, Occurrence.href == "weekly.ics"
            )
        )
        s.execute(  # a bogus busy hour for the single event, a week off
            insert(Occurrence).values(
                owner=login,
                collection_id=calendar_id,
                href="single.ics",
                start=int(third.timestamp()) + 86400,
                end=int(third.timestamp()) + 90000,
                kind="BUSY",
            )
        )
    assert found_in(site, login, third, third + timedelta(hours=2)) == set()  # the damage shows
    output = damaged(site, [f"/{login}/calendar/ weekly.ics", f"/{login}/calendar/ single.ics"])
    assert "occurrence index" in output
    assert found_in(site, login, third, third + timedelta(hours=2)) == {"weekly.ics"}
    assert busy_in(site, login, third, third + timedelta(hours=2))
    assert busy_in(site, login, third + timedelta(days=1), third + timedelta(days=2)) == []
    assert items_of(site, login) == before


def test_a_text_changed_behind_its_etag_gets_its_etag_index_and_sync_entry(site, content):
    login, early = content
    calendar_id = collection_id(site, f"{login}/calendar")
    later = monday(5) + timedelta(days=3)  # a Thursday: no weekly meeting
    new_text = single("single", later, hours=3)
    with site.client(login) as http:
        token, _ = sync_report(http, f"/{login}/calendar/")
    with site.backend.db.transaction(write=True) as s:
        s.execute(
            update(Item)
            .where(Item.collection_id == calendar_id, Item.href == "single.ics")
            .values(text=new_text)  # a torn write: new text, old ETag, old dates, old index
        )
    output = damaged(site, ["single.ics: its ETag does not match its text", "start/end"])
    assert "occurrence index" in output
    with site.backend.db.transaction() as s:
        stored = s.execute(
            select(Item.text, Item.etag).where(
                Item.collection_id == calendar_id, Item.href == "single.ics"
            )
        ).one()
    assert stored.text == new_text and stored.etag == etag_of(new_text)
    assert found_in(site, login, later, later + timedelta(hours=1)) == {"single.ics"}
    old = monday() + timedelta(days=1, hours=2)  # where the text was before
    assert found_in(site, login, old, old + timedelta(hours=1)) == set()
    with site.client(login) as http:
        _, changed = sync_report(http, f"/{login}/calendar/", token)
    assert "single.ics" in changed  # clients holding the old text fetch the new one


def test_a_lost_sync_log_is_logged_again(site, content):
    login, early = content
    calendar_id = collection_id(site, f"{login}/calendar")
    book_id = collection_id(site, f"{login}/contacts")
    with site.backend.db.transaction(write=True) as s:
        s.execute(delete(SyncLog).where(SyncLog.collection_id.in_([calendar_id, book_id])))
        s.execute(  # and a row past the revision
            insert(SyncLog).values(
                collection_id=book_id, owner=login, revision=10_000, href="ann.vcf", deleted=False
            )
        )
    before = items_of(site, login)
    output = damaged(
        site,
        [
            "weekly.ics: no sync-log entry",
            "gone.ics: in the trash but not logged as removed",
            f"/{login}/contacts/ -: its sync log goes to revision 10000",
        ],
    )
    assert "task.ics" in output and "bob.vcf" in output
    assert items_of(site, login) == before
    with site.client(login) as http:
        _, changed = sync_report(http, f"/{login}/calendar/", early)
        for href in ("weekly.ics", "single.ics", "allday.ics", "task.ics"):
            assert f"/{href}</href>" in changed
        gone = re.search(r"<response><href>[^<]*/gone\.ics</href>(.*?)</response>", changed, re.S)
        assert gone and "404" in gone.group(1)  # reported as removed (RFC 6578 §3.5.2)
        token, _ = sync_report(http, f"/{login}/contacts/")
        assert int(token.rsplit("-", 1)[-1]) >= 10_000  # tokens now reach the logged rows


def test_lost_reminders_are_rescheduled_without_sending_a_sent_one_again(site, content, smtp):
    login, _ = content
    calendar_id = collection_id(site, f"{login}/calendar")
    settings = load_settings().__class__(
        data_dir=Path(site.log).parent,
        database_url=site.backend.url,
        smtp_url=smtp.url,
        base_url=site.url,
    )
    first = monday()
    dispatcher = Dispatcher(site.backend.db, settings, lambda: first - timedelta(minutes=14))
    with site.backend.db.transaction(write=True) as s:  # only this user's reminders are due
        s.execute(
            update(Reminder)
            .where(Reminder.owner != login, Reminder.status == "pending")
            .values(status="stopped")
        )
    dispatcher.run_once()
    assert [m["X-Envelope-To"] for m in smtp.messages] == [f"{login}@example.com"]
    with site.backend.db.transaction(write=True) as s:
        second = s.scalars(  # the next week's reminder, stopped by its owner
            select(Reminder).where(
                Reminder.collection_id == calendar_id,
                Reminder.href == "weekly.ics",
                Reminder.status == "pending",
            ).order_by(Reminder.fire_at)
        ).first()
        reminders.stop_chain(s, second)
        stopped = (second.key, second.fire_at)
    with site.backend.db.transaction(write=True) as s:
        sent = s.execute(
            select(Reminder.key, Reminder.fire_at).where(
                Reminder.collection_id == calendar_id, Reminder.status == "sent"
            )
        ).one()
        s.execute(  # the schedule of everything but the sent row is lost
            delete(Reminder).where(
                Reminder.collection_id == calendar_id, Reminder.status == "pending"
            )
        )
        s.execute(delete(ReminderItem).where(ReminderItem.collection_id == calendar_id))
        s.execute(  # and a pending reminder for the deleted event
            insert(Reminder).values(
                owner=login,
                collection_id=calendar_id,
                href="gone.ics",
                key="master|0|x",
                channel="email",
                fire_at=first,
                due_at=first,
                status="pending",
            )
        )
    before = items_of(site, login)
    damaged(site, ["weekly.ics: its alarms are not scheduled", "task.ics", "gone.ics"])
    assert items_of(site, login) == before
    with site.backend.db.transaction() as s:
        rows = s.execute(
            select(Reminder.href, Reminder.key, Reminder.fire_at, Reminder.status).where(
                Reminder.collection_id == calendar_id
            )
        ).all()
    assert [r.status for r in rows if (r.key, r.fire_at) == tuple(sent)] == ["sent"]
    assert [r.status for r in rows if (r.key, r.fire_at) == stopped] == ["stopped"]
    assert {r.href for r in rows if r.status == "pending"} == {"weekly.ics", "task.ics"}
    assert dispatcher.run_once() == 0  # nothing due again at that moment
    assert len(smtp.messages) == 1


def test_index_and_schedule_rows_of_no_item_are_removed(site, content):
    login, _ = content
    calendar_id = collection_id(site, f"{login}/calendar")
    book_id = collection_id(site, f"{login}/contacts")
    third = monday(3)
    with site.backend.db.transaction(write=True) as s:
        for collection, href in ((calendar_id, "gone.ics"), (book_id, "ann.vcf")):
            s.execute(
                insert(Occurrence).values(
                    owner=login,
                    collection_id=collection,
                    href=href,
                    start=int(third.timestamp()) + 7200,
                    end=int(third.timestamp()) + 10800,
                    kind="BUSY",
                )
            )
            s.execute(
                insert(IndexedItem).values(
                    collection_id=collection, href=href, owner=login, window_start=0, window_end=1
                )
            )
    assert busy_in(site, login, third + timedelta(hours=2), third + timedelta(hours=3))
    damaged(site, [f"/{login}/calendar/ gone.ics", f"/{login}/contacts/ ann.vcf"])
    assert busy_in(site, login, third + timedelta(hours=2), third + timedelta(hours=3)) == []


def test_the_check_refreshes_the_planner_statistics_first(site, content):
    """On PostgreSQL the orphan scan's anti-joins are planned from table statistics; stale
    ones (a restore, a bulk import) made it a nested loop that ran for minutes."""
    if site.backend.name != "postgresql":
        pytest.skip("SQLite plans from its indexes")
    with site.backend.db.transaction() as s:
        before = dict(s.execute(sql(ANALYZED)).all())
    assert check(site)[0] == 0
    with site.backend.db.transaction() as s:
        after = dict(s.execute(sql(ANALYZED)).all())
    for table in ("items", "occurrences", "indexed_items", "reminder_items", "reminders"):
        assert after[table] is not None and after[table] != before.get(table), table


ANALYZED = "SELECT relname, last_analyze FROM pg_stat_user_tables"
