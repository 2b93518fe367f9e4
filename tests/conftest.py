"""Real servers for the tests: `calcard serve` subprocesses on SQLite and PostgreSQL.

PostgreSQL must be reachable (CI starts it); set CALCARD_TEST_PG_ADMIN_URL to
use another server. Each session creates and drops its own databases.
"""

from __future__ import annotations

import email
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from calcard import accounts, sharing
from calcard.accounts import rooms
from calcard.core.db import Database
from calcard.core.models import Membership, Organization, User

pytest_plugins = ["browser"]  # the browser fixtures of the test_web_* modules

PG_ADMIN_URL = os.environ.get(
    "CALCARD_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "correct horse battery"


SYNC_BODY = """<?xml version="1.0"?>
<D:sync-collection xmlns:D="DAV:">
  <D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>
  <D:prop><D:getetag/></D:prop>
</D:sync-collection>"""


def report(http: httpx.Client, path: str, body: str) -> httpx.Response:
    return http.request(
        "REPORT",
        path,
        content=body.encode(),
        headers={"Depth": "1", "Content-Type": "application/xml"},
    )


def sync_report(http: httpx.Client, path: str, token: str = "") -> tuple[str, str]:
    """(new token, multistatus text) of an RFC 6578 sync-collection REPORT."""
    response = report(http, path, SYNC_BODY.format(token=token))
    assert response.status_code == 207, response.text
    return re.search(r"<sync-token>([^<]+)</sync-token>", response.text).group(1), response.text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Backend:
    name: str
    url: str
    db: Database = field(init=False)

    def __post_init__(self) -> None:
        self.db = Database(self.url)
        self.db.upgrade()


def _pg_database(name: str) -> Iterator[str]:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_backend(kind: str, directory: Path) -> Iterator[Backend]:
    """A new database of ``kind`` (the ``backend`` fixture's name) for a test that reads or
    damages the whole database (``calcard check``), so shares it with no other test."""
    if kind == "sqlite":
        own = Backend("sqlite", f"sqlite:///{directory / 'own.db'}")
        try:
            yield own
        finally:
            own.db.dispose()
        return
    databases = _pg_database(f"calcard_own_{os.getpid()}_{uuid.uuid4().hex[:8]}")
    own = Backend("postgresql", next(databases))
    try:
        yield own
    finally:
        own.db.dispose()
        next(databases, None)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request, tmp_path_factory) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "calcard.db"
        b = Backend("sqlite", f"sqlite:///{path}")
        yield b
        b.db.dispose()
        return
    gen = _pg_database(f"calcard_test_{os.getpid()}_{uuid.uuid4().hex[:8]}")
    b = Backend("postgresql", next(gen))
    yield b
    b.db.dispose()
    next(gen, None)


@dataclass
class Server:
    url: str
    backend: Backend
    process: subprocess.Popen
    log: Path

    def user(
        self,
        role: str = "collaborator",
        org: str | None = None,
        calendar: bool = True,
        contacts: bool = True,
    ) -> str:
        """A fresh user in a fresh (or the given) organization; returns the login."""
        login = f"u{uuid.uuid4().hex[:10]}"
        with self.backend.db.transaction(write=True, owners=[login]) as s:
            if org is None:
                org = f"org-{login}"
                accounts.create_org(s, org, plan="team")
            accounts.add_user(s, login, org, role, PASSWORD, email=f"{login}@example.com")
            accounts.set_product_access(s, login, org, calendar, contacts)
        return login

    def client(self, login: str, password: str = PASSWORD) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(login, password), timeout=30)


def start_server(
    backend: Backend,
    tmp: Path,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
    workers: int = 1,
) -> Server:
    """``calcard serve`` on ``backend`` on a free port (or ``port``: a node coming back),
    with ``workers`` uvicorn worker processes, once healthy."""
    port = port or free_port()
    log = tmp / f"server-{port}.log"
    env = {
        **os.environ,
        "CALCARD_DATABASE_URL": backend.url,
        "CALCARD_DATA_DIR": str(tmp),
        "CALCARD_AUTH_DELAY": "0.05",
        "CALCARD_REMINDERS": "off",
        "CALCARD_OUTBOUND_ALLOW": "127.0.0.0/8",  # the tests' loopback chat listeners
        "CALCARD_BASE_URL": f"http://127.0.0.1:{port}",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "calcard.cli", "serve", "--port", str(port)]
        + (["--workers", str(workers)] if workers > 1 else []),
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                return Server(url, backend, process, log)
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start: {log.read_text()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def server(backend, tmp_path_factory) -> Iterator[Server]:
    srv = start_server(
        backend,
        tmp_path_factory.mktemp(f"srv-{backend.name}"),
        {"CALCARD_MAX_RESOURCE_SIZE": "200000", "CALCARD_MAX_BODY_SIZE": "1000000"},
    )
    yield srv
    stop_server(srv)


@pytest.fixture
def two_servers(backend, tmp_path) -> Iterator[list[Server]]:
    """Two server processes on one database (as two nodes behind a load balancer)."""
    for i in range(2):
        (tmp_path / str(i)).mkdir()
    servers = [start_server(backend, tmp_path / str(i)) for i in range(2)]
    yield servers
    for srv in servers:
        stop_server(srv)


@pytest.fixture
def cli(server):
    """Run `calcard ARGS` as an operator would, against the server's database."""
    env = {**os.environ, "CALCARD_DATABASE_URL": server.backend.url}

    def run(
        *args: str, stdin: str = "", ok: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "calcard.cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
        if ok:
            assert result.returncode == 0, result.stderr
        else:
            assert result.returncode != 0, result.stdout
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        return result

    return run


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    """The URL of an empty database (no schema), for migration tests."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    gen = _pg_database(f"calcard_migrate_{os.getpid()}_{uuid.uuid4().hex[:8]}")
    yield next(gen)
    next(gen, None)


@pytest.fixture(params=["sqlite", "postgresql"])
def own_backend(request, tmp_path) -> Iterator[Backend]:
    """A migrated database of the test's own (SQLite and PostgreSQL): its servers'
    dispatchers and counts see only its rows, and it may be damaged freely."""
    with fresh_backend(request.param, tmp_path) as own:
        yield own


@dataclass
class Mailbox:
    """What the test SMTP server (the ``smtp`` fixture) received."""

    messages: list = field(default_factory=list)
    refuse: bool = False
    delay: float = 0.0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        if self.delay:
            time.sleep(self.delay)
        if self.refuse:
            return "550 mailbox unavailable"
        message = email.message_from_bytes(envelope.content)
        message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["X-Envelope-To"] == address]


@pytest.fixture
def smtp():
    """A real SMTP server on a free port; its ``url`` goes into the server's settings."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.url = f"smtp://127.0.0.1:{controller.port}"
    yield box
    controller.stop()


@pytest.fixture
def team(server):
    """An organizer, two colleagues, an uninvited colleague and a room in one organization."""
    organizer = server.user("administrator")
    org = f"org-{organizer}"
    people = [server.user(org=org) for _ in range(3)]
    with server.backend.db.transaction(write=True) as s:
        for login in [organizer, *people]:
            accounts.set_user(s, login, email=f"{login}@example.com")
        accounts.update_settings(s, organizer, {"language": "de"})
        room = rooms.create_room(s, org, f"Room {organizer}")
        room_address = room.email
    return organizer, people, room_address


@pytest.fixture
def people(server):
    """An organizer and a colleague who shares a calendar with them, in one organization."""
    organizer = server.user("administrator")
    with server.backend.db.transaction() as s:
        org = s.scalar(
            select(Organization.name)
            .join(Membership, Membership.org_id == Organization.id)
            .join(User, User.id == Membership.user_id)
            .where(User.login == organizer)
        )
    colleague = server.user(org=org)
    with server.backend.db.transaction(write=True) as s:
        accounts.set_user(s, organizer, timezone="Europe/Zurich")
        accounts.set_user(s, colleague, timezone="Europe/Zurich")
        sharing.add_share(s, f"/{colleague}/calendar/", "user", organizer, "read")
    return organizer, colleague, org
