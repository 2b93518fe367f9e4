"""Nodes and the database going away while serving: nothing acknowledged is lost.

- Two `calcard serve` processes on one database take alternating writes while one
  of them is killed with SIGKILL and started again: every acknowledged write is
  there with its ETag, nothing is half-written (`calcard check`), and a sync from
  a token taken before the writes lists every acknowledged href.
- A PostgreSQL instance of the test's own (initdb in a temporary directory, its own
  port, so no other test notices) stops and starts again under a serving node:
  requests during the outage get a quick 503, the node serves again afterwards
  without being restarted, and what was written before is intact.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError

from calcard import accounts, store
from calcard.core import db as core_db
from calcard.core.config import Settings
from calcard.core.db import unavailable
from calcard_radicale import app, runtime

from conftest import (
    PASSWORD,
    Backend,
    Server,
    free_port,
    fresh_backend,
    start_server,
    stop_server,
    sync_report,
)
from helpers import calcard_check

WRITERS = 4
WRITES_PER_WRITER = 24


def alarmed_event(uid: str, day: int, summary: str = "kill test") -> str:
    """A weekly event with an alarm: an index and a schedule to keep in step."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:202701{1 + day % 28:02d}T090000Z\r\n"
        f"DURATION:PT1H\r\nRRULE:FREQ=WEEKLY;COUNT=30\r\nSUMMARY:{summary}\r\n"
        "BEGIN:VALARM\r\nTRIGGER:-PT10M\r\nACTION:DISPLAY\r\nDESCRIPTION:d\r\nEND:VALARM\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def stored(backend: Backend, login: str) -> dict[str, store.ItemData]:
    with backend.db.transaction() as s:
        collection = store.get_collection(s, f"{login}/calendar")
        assert collection is not None
        return {item.href: item for item in store.all_items(s, collection.id)}


@pytest.fixture
def own(backend, tmp_path) -> Iterator[Backend]:
    """A database of the test's own: `calcard check` reads all of it."""
    with fresh_backend(backend.name, tmp_path) as fresh:
        yield fresh


@pytest.mark.xdist_group("kill")
def test_a_node_killed_mid_write_loses_no_acknowledged_write(own, tmp_path):
    backend = own
    for name in ("a", "b", "a2"):
        (tmp_path / name).mkdir()
    servers = [start_server(backend, tmp_path / "a"), start_server(backend, tmp_path / "b")]
    port = int(servers[0].url.rsplit(":", 1)[1])
    login = servers[0].user()
    path = f"/{login}/calendar/"
    with servers[1].client(login) as http:
        early, _ = sync_report(http, path)
    # href -> [(summary, ETag if acknowledged else None)] in the order written
    attempts: dict[str, list[tuple[str, str | None]]] = {}
    lock = threading.Lock()
    progress = threading.Semaphore(0)
    failed = []

    def writer(n: int) -> None:
        for i in range(WRITES_PER_WRITER):
            srv = servers[(n + i) % 2]  # alternating between the nodes
            number = i - 2 if i % 3 == 2 else i  # every third write updates an earlier one
            href, summary = f"k{n}-{number}.ics", f"v{n}-{i}"
            body = alarmed_event(f"k{n}-{number}", i, summary).encode()
            etag = None
            try:
                with srv.client(login) as c:
                    response = c.put(
                        path + href, content=body, headers={"Content-Type": "text/calendar"}
                    )
                if response.status_code in (201, 204):
                    etag = response.headers["ETag"]
                else:
                    failed.append(f"{href}: {response.status_code}")
            except httpx.TransportError:
                failed.append(f"{href}: cut off")  # the node died: not acknowledged
            finally:
                progress.release()
            with lock:
                attempts.setdefault(href, []).append((summary, etag))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    try:
        for thread in threads:
            thread.start()
        for _ in range(WRITERS * WRITES_PER_WRITER // 4):
            progress.acquire()
        servers[0].process.send_signal(signal.SIGKILL)  # mid-run: writers are at it
        servers[0].process.wait(10)
        servers[0] = start_server(backend, tmp_path / "a2", port=port)  # the node comes back
        for thread in threads:
            thread.join(120)
    finally:
        for srv in servers:
            stop_server(srv)
    acknowledged = {h for h, tries in attempts.items() if any(etag for _, etag in tries)}
    assert failed  # the kill cut writes off
    assert all(reason.endswith("cut off") for reason in failed), failed
    assert len(acknowledged) >= len(attempts) // 2

    items = stored(backend, login)
    for href in acknowledged:
        tries = attempts[href]
        last = max(i for i, (_, etag) in enumerate(tries) if etag)
        unanswered = [summary for summary, _ in tries[last + 1 :]]
        item = items[href]
        # the last acknowledged version, or a later one the node committed before dying
        assert item.etag == tries[last][1] or any(
            f"SUMMARY:{summary}" in item.text for summary in unanswered
        ), href
    with backend.db.transaction() as s:
        assert store.verify(s)
    code, output = calcard_check(backend.url)
    assert code == 0, output
    srv = start_server(backend, tmp_path / "b")
    try:
        with srv.client(login) as http:
            _, changes = sync_report(http, path, early)
    finally:
        stop_server(srv)
    synced = set(re.findall(r"/([^/<]+\.ics)</href>", changes))
    assert acknowledged <= synced


# --- a PostgreSQL of the test's own -----------------------------------------------------


def pg_program(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name)]
    return found[-1]


class OwnPostgres:
    """initdb, pg_ctl start and stop, as the `postgres` user when the tests run as root
    (PostgreSQL refuses to run as root)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(directory, user.pw_uid, user.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.run("initdb", "-D", str(directory / "data"), "-U", "postgres", "--auth=trust")

    def run(self, program: str, *args: str) -> None:
        command = [*self.as_user, pg_program(program) or program, *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        log = str(self.directory / "log")
        data = str(self.directory / "data")
        self.run("pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop")


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    if pg_program("initdb") is None or pg_program("pg_ctl") is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    directory = Path(tempfile.mkdtemp(prefix="calcard-pg-"))
    instance = OwnPostgres(directory)
    instance.start()
    yield instance
    pg_ctl = pg_program("pg_ctl") or "pg_ctl"
    data = str(directory / "data")
    command = [*instance.as_user, pg_ctl, "-D", data, "-m", "immediate", "stop"]
    subprocess.run(command, capture_output=True, timeout=60)
    shutil.rmtree(directory, ignore_errors=True)


def put(http: httpx.Client, path: str, text: str) -> httpx.Response:
    return http.put(path, content=text.encode(), headers={"Content-Type": "text/calendar"})


@pytest.mark.xdist_group("kill")
def test_a_postgresql_restart_while_serving_is_survived(own_postgres, tmp_path):
    backend = Backend("postgresql", own_postgres.url)
    srv: Server = start_server(backend, tmp_path, {"CALCARD_REMINDERS": "on"})  # a dispatcher too
    try:
        login = srv.user()
        path = f"/{login}/calendar/"
        with srv.client(login) as http:
            before = {}
            for n in range(3):
                response = put(http, f"{path}b{n}.ics", alarmed_event(f"b{n}", n))
                assert response.status_code == 201
                before[f"b{n}.ics"] = response.headers["ETag"]
            own_postgres.stop()
            http.timeout = httpx.Timeout(15)
            started = time.monotonic()
            during = [
                put(http, f"{path}outage.ics", alarmed_event("outage", 5)),
                http.get(f"{path}b0.ics"),
                http.request("PROPFIND", path, headers={"Depth": "1"}),
                http.get("/api/reminders"),
            ]
            assert time.monotonic() - started < 30  # quick answers, no hang
            time.sleep(2)  # the dispatcher meets the outage too
            assert [r.status_code for r in during] == [503] * len(during), [r.text for r in during]
            own_postgres.start()
            response = put(http, f"{path}after.ics", alarmed_event("after", 6))
            assert response.status_code == 201, response.text  # no restart of the node
            assert http.get(f"{path}outage.ics").status_code == 404  # nothing half-written
            for href, etag in before.items():
                got = http.get(path + href)
                assert got.status_code == 200 and got.headers["ETag"] == etag
        assert srv.process.poll() is None
    finally:
        stop_server(srv)
        backend.db.dispose()
    code, output = calcard_check(backend.url)
    assert code == 0, output
    assert "Traceback" not in srv.log.read_text()


def test_only_outages_count_as_unavailable(tmp_path):
    """A locked SQLite file is an outage (503); a missing table or a broken constraint is a
    bug or a refusal, never passed off as one."""
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    holder = create_engine(url)
    waiter = create_engine(url, connect_args={"timeout": 0.1})
    with holder.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        conn.commit()
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")  # holds the write lock
        with waiter.connect() as other, pytest.raises(DBAPIError) as locked:
            other.exec_driver_sql("INSERT INTO t VALUES (2)")
        assert unavailable(locked.value)
        with waiter.connect() as other, pytest.raises(DBAPIError) as missing:
            other.exec_driver_sql("SELECT * FROM nowhere")
        assert not unavailable(missing.value)
        with pytest.raises(DBAPIError) as clash:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert not unavailable(clash.value)
    holder.dispose()
    waiter.dispose()


def test_an_outage_inside_a_dav_method_is_a_503(tmp_path, monkeypatch):
    """Radicale answers any exception raised inside a DAV method with 500; a database
    outage there (here: SQLite's write lock held past the busy timeout when a PUT
    begins its write) is a 503 with Retry-After, as before the method, and changes
    nothing. In-process: the busy timeout is shortened for the test."""
    monkeypatch.setattr(core_db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    url = f"sqlite:///{tmp_path / 'own.db'}"
    own = Backend("sqlite", url)
    settings = Settings(data_dir=tmp_path, database_url=url, auth_delay=0.0)
    monkeypatch.setattr(runtime, "_settings", settings)
    monkeypatch.setattr(runtime, "_database", own.db)
    login = "outage"
    with own.db.transaction(write=True, owners=[login]) as s:
        accounts.create_org(s, "org-outage", plan="team")
        accounts.add_user(s, login, "org-outage", "collaborator", PASSWORD)
    transport = httpx.WSGITransport(app=app.wsgi_app(settings))
    with httpx.Client(transport=transport, base_url="http://dav", auth=(login, PASSWORD)) as http:
        path = f"/{login}/calendar/"
        assert put(http, f"{path}before.ics", alarmed_event("before", 1)).status_code == 201
        holder = sqlite3.connect(str(tmp_path / "own.db"))
        holder.execute("BEGIN IMMEDIATE")
        try:
            refused = put(http, f"{path}during.ics", alarmed_event("during", 2))
        finally:
            holder.rollback()
            holder.close()
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] == str(core_db.RETRY_AFTER_SECONDS)
        assert http.get(f"{path}during.ics").status_code == 404
        assert put(http, f"{path}after.ics", alarmed_event("after", 3)).status_code == 201
    own.db.dispose()
    code, output = calcard_check(url)
    assert code == 0, output
