"""Reminder dispatch with a real SMTP server and a real webhook listener.

The schedule is written by the server when events are saved over DAV; the
tests then drive dispatchers with a controllable clock instead of sleeping.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from babel.dates import format_date, format_time
from sqlalchemy import delete, func, select

from calcard import accounts, store
from calcard.core.config import load_settings
from calcard.core.db import Database
from calcard.core.models import OutgoingMail, Reminder
from calcard.store.ical import split_calendar
from calcard.worker import Dispatcher

from conftest import free_port


@pytest.fixture
def webhook():
    posts: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server API)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posts.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/hooks/abc", posts
    httpd.shutdown()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def env(server, smtp, webhook):
    """A fresh user with mail, time zone and chat webhook, and a test-driven dispatcher."""
    with server.backend.db.transaction(write=True) as s:
        s.execute(delete(Reminder))  # rows of earlier tests must not reach this one's servers
        s.execute(delete(OutgoingMail))
    login = server.user()
    with server.backend.db.transaction(write=True) as s:
        accounts.set_user(
            s,
            login,
            email=f"{login}@example.com",
            chat_webhook=webhook[0],
            timezone="Europe/Zurich",
        )
    settings = load_settings().__class__(
        data_dir=load_settings().data_dir,
        database_url=server.backend.url,
        smtp_url=smtp.url,
        base_url=server.url,
        reminder_grace_minutes=15,
        outbound_allow="127.0.0.0/8",  # the loopback webhook listener
    )
    clock = Clock()
    return login, Dispatcher(server.backend.db, settings, clock), clock


def ics(
    uid: str,
    start: datetime,
    body: str = "",
    alarm: str = "TRIGGER:-PT15M\r\nACTION:EMAIL",
    extra: str = "",
    component: str = "VEVENT",
) -> str:
    when = f"DTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDTEND:{start + timedelta(hours=1):%Y%m%dT%H%M%SZ}"
    if component == "VTODO":
        when = f"DUE:{start:%Y%m%dT%H%M%SZ}"
    valarm = (
        f"BEGIN:VALARM\r\n{alarm}\r\nDESCRIPTION:r\r\nSUMMARY:r\r\nEND:VALARM\r\n" if alarm else ""
    )
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\n"
        f"BEGIN:{component}\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n{when}\r\n"
        f"SUMMARY:Board meeting {uid}\r\nLOCATION:Room 4\r\n{extra}{valarm}END:{component}\r\n"
        f"{body}END:VCALENDAR\r\n"
    )


def put(server, login: str, uid: str, text: str):
    with server.client(login) as http:
        response = http.put(
            f"/{login}/calendar/{uid}.ics",
            content=text.encode(),
            headers={"Content-Type": "text/calendar"},
        )
        assert response.status_code in (201, 204), response.text


def listed(server, login: str) -> list[dict]:
    with server.client(login) as http:
        return http.get("/api/reminders").json()["reminders"]


def soon(hours: int = 50) -> datetime:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)


def test_single_event_goes_to_the_owner_once_on_each_channel(server, env, smtp, webhook):
    login, dispatcher, clock = env
    start = soon()
    attendee = "ATTENDEE;CN=Guest:mailto:guest@example.org\r\n"
    put(
        server,
        login,
        "one",
        ics("one", start, extra=attendee).replace(
            "END:VEVENT",
            "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nDESCRIPTION:d\r\n"
            "END:VALARM\r\nEND:VEVENT",
        ),
    )
    assert sorted(r["channel"] for r in listed(server, login)) == ["chat", "display", "email"]

    clock.now = start - timedelta(minutes=14)
    assert dispatcher.run_once() == 1
    (mail,) = smtp.messages
    assert mail["X-Envelope-To"] == f"{login}@example.com"
    assert "Board meeting one" in mail["Subject"]
    text = mail.get_payload(decode=True).decode()
    local = start.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Zurich"))
    shown = format_time(local, "short", locale="en")  # the locale's clock (catalogs.moment)
    assert f"{shown} (Europe/Zurich)" in text and "Room 4" in text
    assert server.url in text
    assert smtp.to("guest@example.org") == []

    clock.now = start - timedelta(minutes=4)
    assert dispatcher.run_once() == 2
    assert dispatcher.run_once() == 0
    assert len(webhook[1]) == 1 and "Board meeting one" in webhook[1][0]["text"]
    with server.client(login) as http:
        notes = http.get("/api/notifications").json()["notifications"]
    assert [n["title"] for n in notes] == ["Board meeting one"]
    assert {r["status"] for r in listed(server, login)} == {"sent"}
    assert len(smtp.messages) == 1


def test_recurring_event_respects_exdate_and_moved_occurrence(server, env):
    login, _, _ = env
    first = soon(30)
    fmt = "%Y%m%dT%H%M%SZ"
    series = ics(
        "series",
        first,
        extra=f"RRULE:FREQ=DAILY;COUNT=4\r\nEXDATE:{first + timedelta(days=1):{fmt}}\r\n",
    )
    moved = (
        f"BEGIN:VEVENT\r\nUID:series\r\nDTSTAMP:20260101T000000Z\r\n"
        f"RECURRENCE-ID:{first + timedelta(days=2):{fmt}}\r\n"
        f"DTSTART:{first + timedelta(days=2, hours=3):{fmt}}\r\n"
        f"DTEND:{first + timedelta(days=2, hours=4):{fmt}}\r\nSUMMARY:Moved\r\n"
        "BEGIN:VALARM\r\nACTION:EMAIL\r\nTRIGGER:-PT15M\r\nDESCRIPTION:r\r\nSUMMARY:r\r\n"
        "END:VALARM\r\nEND:VEVENT\r\n"
    )
    put(
        server,
        login,
        "series",
        ics("series", first, body=moved).replace(
            ics("series", first).split("BEGIN:VEVENT")[1].split("END:VEVENT")[0],
            series.split("BEGIN:VEVENT")[1].split("END:VEVENT")[0],
        ),
    )
    fires = sorted(datetime.fromisoformat(r["fire_at"]) for r in listed(server, login))
    quarter = timedelta(minutes=15)
    assert fires == [
        first - quarter,
        first + timedelta(days=2, hours=3) - quarter,
        first + timedelta(days=3) - quarter,
    ]


def test_task_alarms_relative_to_due_and_absolute(server, env, smtp):
    login, dispatcher, clock = env
    due = soon(40)
    put(
        server,
        login,
        "task",
        ics("task", due, component="VTODO", alarm="TRIGGER;RELATED=END:-PT1H\r\nACTION:EMAIL"),
    )
    absolute = due - timedelta(days=1)
    put(
        server,
        login,
        "abs",
        ics(
            "abs",
            due + timedelta(days=3),
            alarm=(f"TRIGGER;VALUE=DATE-TIME:{absolute:%Y%m%dT%H%M%SZ}\r\nACTION:EMAIL"),
        ),
    )
    fires = sorted(datetime.fromisoformat(r["fire_at"]) for r in listed(server, login))
    assert fires == [absolute, due - timedelta(hours=1)]
    clock.now = absolute
    assert dispatcher.run_once() == 1
    clock.now = due - timedelta(hours=1)
    assert dispatcher.run_once() == 1
    assert len(smtp.to(f"{login}@example.com")) == 2


def test_editing_moves_and_deleting_removes_pending_reminders(server, env):
    login, _, _ = env
    start = soon()
    put(server, login, "ed", ics("ed", start))
    later = start + timedelta(hours=5)
    put(server, login, "ed", ics("ed", later))
    (row,) = listed(server, login)
    assert datetime.fromisoformat(row["fire_at"]) == later - timedelta(minutes=15)
    with server.client(login) as http:
        assert http.delete(f"/{login}/calendar/ed.ics").status_code == 200
    assert listed(server, login) == []


def test_refusing_smtp_is_retried_with_backoff_then_failed_and_visible(server, env, smtp):
    login, dispatcher, clock = env
    start = soon()
    put(server, login, "fail", ics("fail", start))
    smtp.refuse = True
    clock.now = start - timedelta(minutes=15)
    for attempt in range(1, 6):
        assert dispatcher.run_once() == 1
        (row,) = listed(server, login)
        assert row["attempts"] == attempt and "550" in row["last_error"]
        assert dispatcher.run_once() == 0  # backoff: not due again yet
        clock.now += timedelta(minutes=30)
    assert row["status"] == "failed"
    assert smtp.messages == []


def test_repeating_reminder_stops_through_the_mail_link(server, env, smtp):
    login, dispatcher, clock = env
    start = soon()
    put(
        server,
        login,
        "rep",
        ics("rep", start, alarm=("TRIGGER:-PT15M\r\nACTION:EMAIL\r\nX-CALCARD-REPEAT:DAILY")),
    )
    clock.now = start - timedelta(minutes=15)
    assert dispatcher.run_once() == 1
    clock.now += timedelta(days=1)
    assert dispatcher.run_once() == 1
    assert len(smtp.messages) == 2
    link = next(
        line
        for line in smtp.messages[-1].get_payload(decode=True).decode().splitlines()
        if "/stop?sig=" in line
    ).split("stop it: ")[1]
    import httpx

    page = httpx.get(link)  # a page with a button: a GET (a mail scanner) stops nothing
    assert page.status_code == 200 and "<form method='post'" in page.text
    assert "stopped" not in {r["status"] for r in listed(server, login)}
    assert httpx.get(link.replace("sig=", "sig=0")).status_code == 404
    url, _, signature = link.partition("?sig=")
    assert httpx.post(url, data={"sig": signature}).status_code == 200
    clock.now += timedelta(days=3)
    assert dispatcher.run_once() == 0
    with server.client(login) as http:
        text = http.get(f"/{login}/calendar/rep.ics").text
    assert "ACKNOWLEDGED:" in text
    assert "stopped" in {r["status"] for r in listed(server, login)}


def test_reminders_missed_during_downtime_beyond_grace_are_marked_missed(server, env, smtp):
    login, dispatcher, clock = env
    start = soon()
    put(server, login, "late", ics("late", start))
    clock.now = start + timedelta(hours=2)
    dispatcher.run_once()
    (row,) = listed(server, login)
    assert row["status"] == "missed" and smtp.messages == []


def _many(server, login: str, count: int, start: datetime) -> None:
    with server.backend.db.transaction(write=True) as s:
        calendar = store.get_collection(s, f"{login}/calendar")
        for n in range(count):
            (entry,) = list(split_calendar(ics(f"m{n}", start)))
            store.put_item(s, calendar, store.ItemData.from_entry(f"m{n}.ics", entry))


def _delivered(smtp) -> list[str]:
    return [m["Message-ID"] for m in smtp.messages]


def test_two_dispatchers_deliver_hundreds_exactly_once(server, env, smtp):
    login, dispatcher, clock = env
    start = soon()
    _many(server, login, 300, start)
    clock.now = start - timedelta(minutes=10)
    workers = [dispatcher, Dispatcher(Database(server.backend.url), dispatcher.settings, clock)]

    def drain(worker):
        while worker.run_once(limit=20):
            pass

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    delivered = _delivered(smtp)
    assert len(delivered) == 300 and len(set(delivered)) == 300
    with server.backend.db.transaction() as s:
        assert s.scalar(select(func.count()).where(Reminder.status == "sent")) == 300


def test_killed_dispatcher_loses_nothing_and_restarts(server, env, smtp):
    login, _, _ = env
    smtp.delay = 0.02
    start = datetime.now(UTC) + timedelta(minutes=14)  # the alarms are due right away
    _many(server, login, 80, start)
    cli_env = {
        **os.environ,
        "CALCARD_DATABASE_URL": server.backend.url,
        "CALCARD_SMTP_URL": smtp.url,
    }
    command = [sys.executable, "-m", "calcard.cli", "reminders", "run"]
    first = subprocess.Popen(command, env=cli_env)
    deadline = time.monotonic() + 60
    while len(smtp.messages) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert 10 <= len(smtp.messages) < 80  # killed mid-batch
    subprocess.run([*command, "--once"], env=cli_env, check=True, timeout=120)
    delivered = _delivered(smtp)
    assert len(set(delivered)) == 80  # nothing lost
    assert len(delivered) - len(set(delivered)) <= 1  # at most the one in flight repeats


def test_serve_dispatches_reminders_itself(backend, tmp_path, smtp):
    from conftest import start_server, stop_server

    srv = start_server(backend, tmp_path, {"CALCARD_REMINDERS": "on", "CALCARD_SMTP_URL": smtp.url})
    try:
        login = srv.user()
        with backend.db.transaction(write=True) as s:
            accounts.set_user(s, login, email=f"{login}@example.com")
        start = datetime.now(UTC) + timedelta(minutes=14, seconds=30)
        put(srv, login, f"now-{uuid.uuid4().hex[:6]}", ics("now", start))
        deadline = time.monotonic() + 30
        while not smtp.to(f"{login}@example.com") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(smtp.to(f"{login}@example.com")) == 1
    finally:
        stop_server(srv)


def test_guests_copy_of_someone_elses_event_never_reminds(server, env):
    login, _, _ = env
    organizer = "ORGANIZER:mailto:boss@elsewhere.example\r\nATTENDEE:mailto:{}@example.com\r\n"
    put(server, login, "guest", ics("guest", soon(), extra=organizer.format(login)))
    assert listed(server, login) == []
    own = f"ORGANIZER:mailto:{login}@example.com\r\nATTENDEE:mailto:guest@example.org\r\n"
    put(server, login, "own", ics("own", soon(), extra=own))
    assert [r["channel"] for r in listed(server, login)] == ["email"]


def test_shared_calendar_reminders_go_to_its_owner_only(server, env, smtp):
    from calcard import sharing

    login, dispatcher, clock = env
    editor = server.user()
    with server.backend.db.transaction(write=True) as s:
        sharing.add_share(s, f"/{login}/calendar/", "user", editor, "read-write")
        accounts.set_user(s, editor, email=f"{editor}@example.com")
    start = soon()
    with server.client(editor) as http:
        response = http.put(
            f"/{login}/calendar/by-editor.ics",
            content=ics("ed", start).encode(),
            headers={"Content-Type": "text/calendar"},
        )
        assert response.status_code == 201
    clock.now = start - timedelta(minutes=15)
    assert dispatcher.run_once() == 1
    assert len(smtp.to(f"{login}@example.com")) == 1
    assert smtp.to(f"{editor}@example.com") == []


def test_birthdays_are_announced_the_morning_of_through_the_dispatcher(server, env, webhook):
    login, dispatcher, clock = env
    from zoneinfo import ZoneInfo

    zurich = ZoneInfo("Europe/Zurich")
    today = (datetime.now(UTC) + timedelta(days=3)).astimezone(zurich).date()
    with server.client(login) as http:
        card = (
            f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bd\r\nFN:Birthday Person\r\n"
            f"BDAY:1990{today:%m%d}\r\nEND:VCARD\r\n"
        )
        assert (
            http.put(
                f"/{login}/contacts/bd.vcf",
                content=card.encode(),
                headers={"Content-Type": "text/vcard"},
            ).status_code
            == 201
        )
    clock.now = datetime.combine(today, datetime.min.time(), zurich).replace(hour=7)
    dispatcher.run_once()
    assert webhook[1] == []
    clock.now = clock.now.replace(hour=8, minute=5)
    fresh = Dispatcher(dispatcher.db, dispatcher.settings, clock)
    assert fresh.run_once() == 2  # display + chat
    assert Dispatcher(dispatcher.db, dispatcher.settings, clock).run_once() == 0  # once a day
    age = today.year - 1990
    (post,) = webhook[1]
    assert post["text"].startswith(f"Birthday: Birthday Person ({age})")
    with server.client(login) as http:
        titles = [n["title"] for n in http.get("/api/notifications").json()["notifications"]]
    assert titles == [f"Birthday: Birthday Person ({age})"]


def test_stop_through_the_api_and_notifications_stream(server, env):
    login, dispatcher, clock = env
    start = soon()
    alarm = "TRIGGER:-PT15M\r\nACTION:DISPLAY\r\nX-CALCARD-REPEAT:HOURLY"
    put(server, login, "api-stop", ics("api-stop", start, alarm=alarm))
    clock.now = start - timedelta(minutes=15)
    assert dispatcher.run_once() == 2  # display + chat
    with server.client(login) as http:
        with http.stream("GET", "/api/notifications/stream", params={"after": 0}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            event = next(line for line in lines if line.startswith("data: "))
        assert json.loads(event[6:])["title"] == "Board meeting api-stop"
        pending = [r for r in listed(server, login) if r["status"] == "pending"]
        assert {r["repeat"] for r in pending} == {"hourly"}
        other = server.user()
        with server.client(other) as stranger:
            assert stranger.post(f"/api/reminders/{pending[0]['id']}/stop").status_code == 404
        assert http.post(f"/api/reminders/{pending[0]['id']}/stop").status_code == 200
    assert not [r for r in listed(server, login) if r["status"] == "pending"]
    clock.now += timedelta(hours=3)
    assert dispatcher.run_once() == 0


# --- in the owner's language (issue 20) ---------------------------------------------------


def _subject(mail) -> str:
    return " ".join(str(make_header(decode_header(mail["Subject"]))).split())  # unfolded


def _mailed(server, env, smtp, uid: str):
    login, dispatcher, clock = env
    start = soon()
    put(server, login, uid, ics(uid, start))
    clock.now = start - timedelta(minutes=14)
    assert dispatcher.run_once() == 1
    (mail,) = smtp.to(f"{login}@example.com")
    local = start.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Zurich"))
    return _subject(mail), mail.get_payload(decode=True).decode(), local


def test_a_reminder_mail_is_in_the_owners_language_with_its_dates(server, env, smtp):
    login = env[0]
    with server.backend.db.transaction(write=True) as s:
        accounts.update_settings(s, login, {"language": "de"})
    subject, text, local = _mailed(server, env, smtp, "de1")
    day = format_date(local.date(), "full", locale="de")  # e.g. "Freitag, 4. Dezember 2026"
    assert subject == f"Erinnerung: Board meeting de1, {day}, {local:%H:%M} (Europe/Zurich)"
    assert f"Wann: {day}, {local:%H:%M} (Europe/Zurich)" in text
    assert "Wo: Room 4" in text and "Kalender: http" in text


def test_without_a_setting_the_reminder_follows_the_organizations_language(server, env, smtp):
    login = env[0]
    with server.backend.db.transaction(write=True) as s:
        accounts.set_org_language(s, accounts.current_org(s, login).name, "it")
    subject, text, local = _mailed(server, env, smtp, "it1")
    day = format_date(local.date(), "full", locale="it")  # e.g. "venerdì 4 dicembre 2026"
    assert subject.startswith(f"Promemoria: Board meeting it1, {day}, {local:%H:%M}")
    assert "Quando: " in text and "Dove: Room 4" in text and "Calendario: http" in text


def test_an_unsupported_language_gives_an_english_reminder(server, env, smtp):
    login = env[0]
    with server.backend.db.transaction(write=True) as s:
        accounts.update_settings(s, login, {"language": "tlh"})
    subject, text, local = _mailed(server, env, smtp, "en1")
    day = format_date(local.date(), "full", locale="en")
    assert subject.startswith(f"Reminder: Board meeting en1, {day}, ")
    assert "When: " in text and "Where: Room 4" in text


def test_the_stop_link_and_page_speak_the_owners_language_or_the_browsers(server, env, smtp):
    login, dispatcher, clock = env
    with server.backend.db.transaction(write=True) as s:
        accounts.update_settings(s, login, {"language": "it"})
    start = soon()
    alarm = "TRIGGER:-PT15M\r\nACTION:EMAIL\r\nX-CALCARD-REPEAT:WEEKLY"
    put(server, login, "stop", ics("stop", start, alarm=alarm))
    clock.now = start - timedelta(minutes=15)
    assert dispatcher.run_once() == 1
    text = smtp.messages[-1].get_payload(decode=True).decode()
    line = next(x for x in text.splitlines() if "/stop?sig=" in x)
    assert line.startswith("Si ripete ogni settimana finché non lo interrompi: http")
    link = line.split(": ", 1)[1]
    import httpx

    italian = httpx.get(link)  # no browser language: the owner's
    assert "<html lang='it'>" in italian.text and ">Interrompi</button>" in italian.text
    french = httpx.get(link, headers={"Accept-Language": "fr"})
    assert "<html lang='fr'>" in french.text and "Arrêter ce rappel\u00a0?" in french.text
    url, _, signature = link.partition("?sig=")
    done = httpx.post(url, data={"sig": signature}, headers={"Accept-Language": "es, en;q=0.5"})
    assert done.status_code == 200 and "<h1>Recordatorio detenido</h1>" in done.text
