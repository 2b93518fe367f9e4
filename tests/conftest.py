"""Real servers for the tests: `calcard serve` subprocesses on SQLite and PostgreSQL.

PostgreSQL must be reachable (CI starts it); set CALCARD_TEST_PG_ADMIN_URL to
use another server. Each session creates and drops its own databases.
"""

from __future__ import annotations

import base64
import email
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import http_ece
import httpx
import psycopg
import pytest
from aiosmtpd.controller import Controller
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from sqlalchemy import delete, select

from calcard import accounts, sharing
from calcard.accounts import rooms
from calcard.core.config import Settings, load_settings
from calcard.core.db import Database
from calcard.core.models import Membership, Organization, PushSubscription, User
from calcard.push import vapid

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


# --- a loopback push service (RFC 8030) ----------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscriber:
    """A user agent's push subscription: the URL on the push service, its P-256 key pair
    and auth secret (RFC 8291 §2), so messages to it can be decrypted."""

    url: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def register_body(self, trigger: bool = True, encoding: bool = True, expires: str = "") -> str:
        """A ``push-register`` body as DAVx5 sends it (before 4.5.20: no trigger and no
        content-encoding)."""
        return (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<P:push-register xmlns:P="https://bitfire.at/webdav-push" xmlns:D="DAV:">'
            "<P:subscription><P:web-push-subscription>"
            f"<P:push-resource>{self.url}</P:push-resource>"
            + ("<P:content-encoding>aes128gcm</P:content-encoding>" if encoding else "")
            + f'<P:subscription-public-key type="p256dh">{self.p256dh}</P:subscription-public-key>'
            f"<P:auth-secret>{b64url(self.auth)}</P:auth-secret>"
            "</P:web-push-subscription></P:subscription>"
            + (
                "<P:trigger><P:content-update><D:depth>1</D:depth></P:content-update></P:trigger>"
                if trigger
                else ""
            )
            + (f"<P:expires>{expires}</P:expires>" if expires else "")
            + "</P:push-register>"
        )


@dataclass
class Delivered:
    """One message the push service accepted: its request headers and decrypted body."""

    path: str
    headers: dict[str, str]
    plaintext: bytes
    claims: dict


class PushService:
    """A real HTTP listener standing in for a push service (RFC 8030 §5).

    It checks each POST as a real one would, and more: the VAPID JWT (RFC 8292) is
    verified against ``vapid_key`` (the key the server advertises), its ``aud`` is this
    service's origin and ``exp`` at most 24 hours ahead; the body is decrypted
    (RFC 8291, aes128gcm) with the subscriber's keys. A failed check is answered 400
    and recorded in ``rejected``; ``answers`` sets another status for a path (410).
    """

    def __init__(self) -> None:
        self.vapid_key = ""
        self.subscribers: dict[str, Subscriber] = {}
        self.delivered: list[Delivered] = []
        self.rejected: list[str] = []
        self.answers: dict[str, int] = {}
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = service.receive(self.path, dict(self.headers), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def subscriber(self) -> Subscriber:
        """A new subscription on this service."""
        sub = Subscriber(f"{self.origin}/push/{uuid.uuid4().hex}")
        self.subscribers[sub.url.removeprefix(self.origin)] = sub
        return sub

    def receive(self, path: str, headers: dict[str, str], body: bytes) -> int:
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            claims = self._check_vapid(lowered.get("authorization", ""))
            if (
                lowered.get("content-encoding") != "aes128gcm"
                or not lowered.get("ttl", "").isdigit()
            ):
                raise ValueError("Content-Encoding aes128gcm and TTL are required")
            sub = self.subscribers[path]
            plaintext = http_ece.decrypt(
                body, private_key=sub.key, auth_secret=sub.auth, version="aes128gcm"
            )
        except (ValueError, KeyError, InvalidSignature, http_ece.ECEException) as exc:
            with self.lock:
                self.rejected.append(f"{path}: {exc!r}")
            return 400
        status = self.answers.get(path, 201)
        if status == 201:
            with self.lock:
                self.delivered.append(Delivered(path, lowered, plaintext, claims))
        return status

    def _check_vapid(self, header: str) -> dict:
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError(f"not a vapid Authorization: {header!r}")
        parts = dict(p.strip().split("=", 1) for p in rest.split(","))
        if not self.vapid_key or parts["k"] != self.vapid_key:
            raise ValueError("k= is not the advertised VAPID key")
        head, payload, signature = parts["t"].split(".")
        if json.loads(unb64url(head)) != {"typ": "JWT", "alg": "ES256"}:
            raise ValueError("not an ES256 JWT")
        raw = unb64url(signature)
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
        public.verify(
            utils.encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:])),
            f"{head}.{payload}".encode(),
            ec.ECDSA(hashes.SHA256()),
        )
        claims = json.loads(unb64url(payload))
        if claims["aud"] != self.origin or not time.time() < claims["exp"] <= time.time() + 86400:
            raise ValueError(f"bad aud or exp: {claims}")
        return claims

    def messages(self, sub: Subscriber) -> list[Delivered]:
        with self.lock:
            return [d for d in self.delivered if self.origin + d.path == sub.url]

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture
def push_service() -> Iterator[PushService]:
    """A loopback push service (see ``PushService``)."""
    service = PushService()
    yield service
    service.close()


@pytest.fixture
def push(server, push_service) -> tuple[PushService, Settings]:
    """The push service, told the deployment's VAPID key, and settings for a test-run
    dispatcher (``helpers.send_pushes``); earlier tests' subscriptions are gone."""
    with server.backend.db.transaction(write=True) as s:
        s.execute(delete(PushSubscription))
        push_service.vapid_key = vapid.public_key(s)
    settings = Settings(
        data_dir=load_settings().data_dir,
        database_url=server.backend.url,
        base_url=server.url,
        mail_from="calcard@example.com",
        outbound_allow="127.0.0.0/8",  # the loopback push service
    )
    return push_service, settings


@pytest.fixture
def import_pair(backend, tmp_path):
    """A database of its own (``calcard check`` reads all of it) with two people, batched
    and single: an import compared with storing entry by entry (tests/transfer)."""
    with fresh_backend(backend.name, tmp_path) as database:
        database.db.upgrade()
        with database.db.transaction(write=True) as s:
            accounts.create_org(s, "Batches", plan="team")
            for login in ("batched", "single"):
                accounts.add_user(s, login, "Batches", "collaborator", "pw-for-batches-1")
        yield database
