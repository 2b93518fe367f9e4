"""`calcard backup` while serving and `calcard restore` into a new database.

The source is a server of its own on a fresh database, written to by a thread
while the backup runs; the backup restores into a fresh SQLite file and a
fresh PostgreSQL database (whichever the source was), and everything there is
compared with the source: collections, hrefs and ETags, logins with password
and app password, shares, trash, reminders and sync.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import MetaData, select

from calcard import accounts
from calcard.core.db import Database

from conftest import (
    PASSWORD,
    SYNC_BODY,
    Backend,
    _pg_database,
    fresh_backend,
    report,
    start_server,
    stop_server,
    sync_report,
)
from helpers import event, new_app_password, share

ALARM_EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\nUID:weekly\r\n"
    "DTSTAMP:20260101T000000Z\r\nDTSTART:20160104T090000Z\r\nDTEND:20160104T100000Z\r\n"
    "RRULE:FREQ=WEEKLY;UNTIL=20461231T000000Z\r\nEXDATE:20270104T090000Z\r\n"
    "SUMMARY:Équipe – 週会\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\n"
    "TRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
CARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nEND:VCARD\r\n"
PROPFIND_ETAGS = (
    '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>'
)


def calcard(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "calcard.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "CALCARD_DATABASE_URL": url},
        timeout=300,
    )


def etags(http: httpx.Client, path: str) -> dict[str, str]:
    response = http.request("PROPFIND", path, content=PROPFIND_ETAGS, headers={"Depth": "1"})
    assert response.status_code == 207, response.text
    found = re.findall(
        r"<href>[^<]*/([^/<]+)</href>.*?<getetag>([^<]+)</getetag>", response.text, re.S
    )
    return dict(found)


def rows(url: str, table: str) -> list[tuple]:
    """Every row of ``table``, ordered, datetimes as UTC text (SQLite keeps them naive)."""
    db = Database(url)
    try:
        meta = MetaData()
        with db.engine.connect() as conn:
            meta.reflect(conn, only=[table])
            t = meta.tables[table]
            result = conn.execute(select(t).order_by(*t.primary_key.columns)).all()
    finally:
        db.dispose()
    return [tuple(_plain(v) for v in row) for row in result]


def tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]


def _plain(value):
    if hasattr(value, "isoformat"):
        return value.replace(tzinfo=None).isoformat() if hasattr(value, "tzinfo") else value
    return value


@pytest.fixture
def source(backend, tmp_path):
    """A server on a fresh database of the backend's kind, with an organization's data."""
    with fresh_backend(backend.name, tmp_path) as own:
        srv = start_server(own, tmp_path)
        yield srv
        stop_server(srv)


def populate(srv) -> dict:
    """Two people of one organization: events, contacts, a share, trash, an app password."""
    alice = srv.user("legal-representative")
    bjorn = f"b{alice}"
    with srv.backend.db.transaction(write=True, owners=[bjorn]) as s:
        accounts.add_user(s, bjorn, f"org-{alice}", "collaborator", PASSWORD, name="Björn Ångström")
    with srv.client(alice) as http:
        put = http.put(
            f"/{alice}/calendar/weekly.ics",
            content=ALARM_EVENT.encode(),
            headers={"Content-Type": "text/calendar"},
        )
        assert put.status_code == 201, put.text
        for uid, name in (("c1", "Zoë Ünal"), ("c2", "Дмитрий Ковалёв"), ("c3", "陳大文")):
            put = http.put(
                f"/{alice}/contacts/{uid}.vcf",
                content=CARD.format(uid=uid, name=name).encode(),
                headers={"Content-Type": "text/vcard"},
            )
            assert put.status_code == 201, put.text
        gone = event("gone", "20150301T100000Z", "20150301T110000Z", "Old")
        assert http.put(f"/{alice}/calendar/gone.ics", content=gone.encode()).status_code == 201
        assert http.delete(f"/{alice}/calendar/gone.ics").status_code in (200, 204)
        token, _ = sync_report(http, f"/{alice}/calendar/")
    share(srv, alice, "user", bjorn, "read-write")
    app = new_app_password(srv, alice)["password"]
    return {"alice": alice, "bjorn": bjorn, "app": app, "token": token}


def test_backup_while_writing_restores_everything(source, backend, tmp_path):
    data = populate(source)
    alice = data["alice"]
    path = f"/{alice}/calendar/"
    acknowledged: dict[str, str] = {}
    stop = threading.Event()

    def writer() -> None:
        with source.client(alice) as http:
            n = 0
            while not stop.is_set():
                href = f"w{n}.ics"
                body = event(f"w{n}", "20360105T100000Z", "20360105T110000Z", f"später {n}")
                response = http.put(path + href, content=body.encode())
                assert response.status_code == 201, response.text
                acknowledged[href] = response.headers["etag"]
                n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(acknowledged) < 5:
            stop.wait(0.05)
        before = dict(acknowledged)
        file = tmp_path / "calcard.backup"
        made = calcard(source.backend.url, "backup", str(file))
        during = dict(acknowledged)
    finally:
        stop.set()
        thread.join()
    assert made.returncode == 0, made.stderr
    assert len(acknowledged) > len(during) >= len(before)  # writes went on meanwhile

    targets = {"sqlite": f"sqlite:///{tmp_path / 'restored.db'}"}
    pg = _pg_database(f"calcard_restored_{os.getpid()}_{uuid.uuid4().hex[:8]}")
    targets["postgresql"] = next(pg)
    try:
        upgraded = calcard(targets["postgresql"], "db", "upgrade")  # empty, at head: fine
        assert upgraded.returncode == 0, upgraded.stderr
        for kind, url in targets.items():
            done = calcard(url, "restore", str(file))
            assert done.returncode == 0, f"{kind}: {done.stderr}"
            compare(source, data, Backend(kind, url), tmp_path / kind, before, acknowledged)
    finally:
        next(pg, None)


def compare(source, data, target: Backend, tmp: Path, before: dict, acknowledged: dict) -> None:
    alice, path = data["alice"], f"/{data['alice']}/calendar/"
    for table in ("users", "organizations", "memberships", "shares", "reminders", "contact_merges"):
        assert rows(target.url, table) == rows(source.backend.url, table), table
    tmp.mkdir()
    restored = start_server(target, tmp)
    try:
        with restored.client(alice) as http, source.client(alice) as original:
            got = etags(http, path)
            for href, etag in before.items():
                assert got[href] == etag  # acknowledged before the backup began
            now = etags(original, path)
            for href, etag in got.items():
                assert now[href] == etag  # nothing restored that the source never had
            written = sorted(int(h[1:-4]) for h in got if re.fullmatch(r"w\d+\.ics", h))
            assert written == list(range(len(written)))  # one moment: every write up to one
            assert {f"w{n}.ics" for n in written} <= set(acknowledged)
            assert etags(http, f"/{alice}/contacts/") == etags(original, f"/{alice}/contacts/")
            card = http.get(f"/{alice}/contacts/c2.vcf")
            assert "Дмитрий Ковалёв" in card.text
            assert "Équipe – 週会" in http.get(path + "weekly.ics").text
            # a token of the original server is refused, never answered wrongly
            stale = report(http, path, SYNC_BODY.format(token=data["token"]))
            assert stale.status_code == 403 and "valid-sync-token" in stale.text
            token, listed = sync_report(http, path)
            assert set(re.findall(r"/([^/<]+\.ics)</href>", listed)) == set(got)
            put = http.put(
                path + "after.ics",
                content=event("after", "20270105T100000Z", "20270105T110000Z").encode(),
            )
            assert put.status_code == 201
            _, changes = sync_report(http, path, token)
            assert re.findall(r"/([^/<]+\.ics)</href>", changes) == ["after.ics"]
        with restored.client(alice, data["app"]) as http:
            assert http.request("PROPFIND", path, headers={"Depth": "0"}).status_code == 207
        with restored.client(data["bjorn"]) as http:
            shared = http.request("PROPFIND", f"/{data['bjorn']}/", headers={"Depth": "1"})
            assert shared.status_code == 207 and alice in shared.text
        trash = calcard(target.url, "trash", "list", alice)
        assert (
            trash.returncode == 0
            and trash.stdout == calcard(source.backend.url, "trash", "list", alice).stdout
        )
        assert "gone" in trash.stdout
    finally:
        stop_server(restored)
        target.db.dispose()


def rewrite(file: Path, target: Path, change) -> None:
    """A copy of the backup with ``change`` applied to its lines and a valid checksum."""
    lines = gzip.decompress(file.read_bytes()).splitlines(keepends=True)
    body = change(lines[:-1])
    end = json.loads(lines[-1])
    end["sha256"] = hashlib.sha256(b"".join(body)).hexdigest()
    target.write_bytes(gzip.compress(b"".join(body) + json.dumps(end).encode() + b"\n"))


def test_restore_refuses_a_damaged_file_or_a_full_database_and_changes_nothing(source, tmp_path):
    populate(source)
    file = tmp_path / "good.backup"
    assert calcard(source.backend.url, "backup", str(file)).returncode == 0
    whole = file.read_bytes()
    damaged = {
        "truncated": whole[: len(whole) // 2],
        "flipped": whole[:200] + bytes([whole[200] ^ 1]) + whole[201:],
        "not a backup": b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        "no end": gzip.compress(b"".join(gzip.decompress(whole).splitlines(True)[:-1])),
    }
    for name, content in damaged.items():
        (tmp_path / name).write_bytes(content)
    plain = gzip.decompress(whole)
    (tmp_path / "edited").write_bytes(gzip.compress(plain.replace("Ünal".encode(), b"Unal")))
    rewrite(file, tmp_path / "row dropped", lambda lines: [*lines[:3], *lines[4:]])
    rewrite(
        file,
        tmp_path / "newer",
        lambda lines: [lines[0].replace(b'"revision":"', b'"revision":"9999'), *lines[1:]],
    )
    for name in [*damaged, "edited", "row dropped", "newer"]:
        target = tmp_path / f"target-{name}.db"
        refused = calcard(f"sqlite:///{target}", "restore", str(tmp_path / name))
        assert refused.returncode == 1, name
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "Traceback" not in refused.stderr
        assert not target.exists() or not tables(target), name
    # a database with rows is refused and keeps every row
    users = rows(source.backend.url, "users")
    items = rows(source.backend.url, "items")
    full = calcard(source.backend.url, "restore", str(file))
    assert full.returncode == 1 and "not empty" in full.stderr
    assert rows(source.backend.url, "users") == users
    assert rows(source.backend.url, "items") == items
