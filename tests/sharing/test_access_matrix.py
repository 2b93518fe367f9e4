"""The access matrix: every API/web route and DAV method x every actor, with the answer each
must get, against a real server on both databases.

The expectations are data (tests/sharing/access_matrix_rows.py). A route of the route table
without a row fails ``test_every_route_has_a_row``. Each refused cell also checks that
nothing stored changed (a snapshot of the accounts, collections, items, shares, links,
... before and after that one request) and every cell checks that the answer shows
nothing of the owner's data (a marker in the owner's calendar name, event, task and
contact) to actors without a right to it, and nothing of the removed user's data to
anybody. Holes still open are strict-xfail cells of ``test_known_hole`` (none today).

One world per backend (module scope): organizations A, B and C, the actors, shares, an
app password, a removed user (whose session and Basic credentials are kept) and a new
user with that login. The server runs with its own database so the login failures of
the refused actors cannot lock anybody out in other tests.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import select

from calcard import accounts, sharing, store
from calcard.accounts import verification, workgroups
from calcard.core import links
from calcard.core.config import Settings
from calcard.core.models import Base, ImportJob, Reminder
from calcard.core.times import utcnow
from calcard.reminders import dispatch
from calcard.web import api
from calcard.web import ui as webui
from calcard.web.api.common import ApiContext

from access_matrix_rows import (
    ACTORS,
    OWNER_READERS,
    PUSH_REGISTER,
    XML,
    Row,
    all_rows,
)
from conftest import PASSWORD, Backend, _pg_database, start_server, stop_server
from helpers import DAV_METHODS

ROWS = all_rows()
GONE_PASSWORD = "the removed one's password"
REUSED_PASSWORD = "the new holder's password"
# What a refusal must leave alone; volatile bookkeeping columns are left out.
SNAPSHOT = {
    "organizations": (),
    "users": (),
    "memberships": (),
    "org_invitations": (),
    "workgroups": (),
    "workgroup_members": (),
    "app_passwords": ("last_used_at",),
    "collections": (),
    "items": (),
    "shares": (),
    "public_links": (),
    "org_branding": (),
    "holiday_subscriptions": (),
    "contact_merges": (),
    "import_jobs": (),
    "rooms": (),
    "reminders": ("lease_until", "claimed_by"),
    "push_subscriptions": (),
}


def _stub_routes():
    ctx = ApiContext(None, Settings(data_dir=Path("/nonexistent"), database_url="sqlite://"))  # type: ignore[arg-type]
    return [*api.routes(ctx), *webui.routes(ctx)]


def route_table() -> set[tuple[str, str]]:
    """(method, path) of every route; a Mount (static files) counts as GET of its path.
    HEAD is Starlette's automatic twin of GET: a GET row covers it."""
    found = set()
    for route in _stub_routes():
        methods = getattr(route, "methods", None) or {"GET"}
        found |= {(m, route.path) for m in methods if m != "HEAD"}
    return found


def test_every_route_has_a_row():
    rows = {(r.method, r.route.split("#")[0]) for r in ROWS if not r.route.startswith("dav:")}
    missing = sorted(route_table() - rows)
    stale = sorted(rows - route_table())
    assert not missing, f"routes without a row in tests/sharing/access_matrix_rows.py: {missing}"
    assert not stale, f"rows for routes that no longer exist: {stale}"
    for row in ROWS:
        assert set(row.expect) == set(ACTORS), f"{row.key}: not every actor has an answer"
    cells = [cell_id(row, actor) for row in ROWS for actor in ACTORS]
    assert len(cells) == len(set(cells)), "two rows with one method, URL and route"


def test_every_dav_method_has_rows():
    targets = {r.route for r in ROWS if r.route.startswith("dav:")}
    methods = {r.method for r in ROWS if r.route.startswith("dav:")}
    assert set(DAV_METHODS) <= methods
    for kind in ("home", "calendar", "addressbook", "calendar-item", "alias-read"):
        assert f"dav:{kind}" in targets
    for report in ("#sync", "#calendar-query", "#free-busy"):
        assert any(r.method == "REPORT" and r.url.endswith(report) for r in ROWS)


# ----------------------------------------------------------------------------- the world
@dataclass
class World:
    backend: Backend
    server: object
    values: dict[str, str]
    clients: dict[str, httpx.Client]
    marker: str
    gone_marker: str
    results: dict[str, tuple[bool, str]] = field(default_factory=dict)

    @property
    def db(self):
        return self.backend.db


def _event(uid: str, summary: str, start: str = "20410315T090000Z", alarm: bool = False) -> str:
    valarm = (
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n"
        if alarm
        else ""
    )
    end = start[:9] + "23" + start[11:]
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calcard matrix//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20410101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
        f"SUMMARY:{summary}\r\n{valarm}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def _task(uid: str, summary: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calcard matrix//EN\r\nBEGIN:VTODO\r\n"
        f"UID:{uid}\r\nDTSTAMP:20410101T000000Z\r\nDUE:20410316T090000Z\r\n"
        f"SUMMARY:{summary}\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )


def _card(uid: str, name: str) -> str:
    return f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nEND:VCARD\r\n"


def _put(client: httpx.Client, path: str, text: str, kind: str = "calendar") -> None:
    ctype = "text/calendar" if kind == "calendar" else "text/vcard"
    answer = client.put(path, content=text.encode(), headers={"Content-Type": ctype})
    assert answer.status_code in (201, 204), (path, answer.status_code, answer.text)


def _ok(answer: httpx.Response) -> httpx.Response:
    assert answer.status_code < 300, (answer.request.url, answer.status_code, answer.text)
    return answer


def _add_user(db, login: str, org: str, role: str, password: str = PASSWORD) -> None:
    with db.transaction(write=True, owners=[login]) as s:
        accounts.add_user(s, login, org, role, password, email=f"{login}@example.com")
        accounts.set_product_access(s, login, org, True, True)


def _open_session(url: str, login: str, password: str) -> tuple[str, str]:
    answer = _ok(httpx.post(f"{url}/api/session", json={"login": login, "password": password}))
    return answer.cookies["calcard_session"], answer.json()["csrf"]


def _client(url: str, auth, session: tuple[str, str] | None = None, address: str = ""):
    headers = {"X-Forwarded-For": address} if address else {}
    client = httpx.Client(base_url=url, auth=auth, timeout=60, headers=headers)
    if session:
        client.cookies.set("calcard_session", session[0])
        client.headers["X-CSRF-Token"] = session[1]
    return client


def _build_world(backend: Backend, tmp: Path) -> World:
    srv = start_server(backend, tmp, {"CALCARD_AUTH_DELAY": "0"})
    db = backend.db
    tag = uuid.uuid4().hex[:6]
    marker = f"Geheimnis-Ω-{tag}"
    gone_marker = f"Vergangen-ß-{tag}"
    org_a, org_b, org_c = f"acme-{tag}", f"other-{tag}", f"third-{tag}"
    with db.transaction(write=True, owners=["admin"]) as s:
        for org in (org_a, org_b, org_c):
            accounts.create_org(s, org, plan="team")
    logins = {a: f"{a.replace('_', '')}{tag}" for a in ACTORS}
    roles = {
        "owner": (org_a, "collaborator"),
        "reader": (org_a, "collaborator"),
        "writer": (org_a, "collaborator"),
        "member": (org_a, "collaborator"),
        "admin": (org_a, "administrator"),
        "legal": (org_a, "legal-representative"),
        "x_admin": (org_b, "administrator"),
        "x_legal": (org_b, "legal-representative"),
        "external": (org_a, "external"),
    }
    for actor, (org, role) in roles.items():
        _add_user(db, logins[actor], org, role)
    owner, url = logins["owner"], srv.url
    owner_http = httpx.Client(base_url=url, auth=(owner, PASSWORD), timeout=60)
    cal, book = f"/{owner}/calendar/", f"/{owner}/contacts/"
    # The owner's data, each piece carrying the marker the leak check looks for.
    _ok(
        owner_http.request(
            "PROPPATCH",
            cal,
            content=(
                '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
                f"<D:displayname>Kalender {marker}</D:displayname>"
                "</D:prop></D:set></D:propertyupdate>"
            ).encode(),
            headers={"Content-Type": "application/xml"},
        )
    )
    _put(owner_http, cal + "secret.ics", _event(f"secret-{tag}", f"Termin {marker}"))
    _put(owner_http, cal + "task.ics", _task(f"task-{tag}", f"Aufgabe {marker}"))
    _put(owner_http, cal + "alarm.ics", _event(f"alarm-{tag}", f"Wecker {marker}", _soon(), True))
    card_uid = f"card-{tag}"
    _put(owner_http, book + "card.vcf", _card(card_uid, f"Zoë {marker}"), "addressbook")
    for access, sharee in (("read", "reader"), ("read-write", "writer")):
        for path in (cal, book):
            _ok(
                owner_http.put(
                    f"/api/collections{path}shares",
                    json={"kind": "user", "name": logins[sharee], "access": access},
                )
            )
    group = f"Team-{tag}"
    card_group = _ok(
        owner_http.post("/api/contacts/groups", json={"addressbook": book, "name": "Gruppe"})
    ).json()["uid"]
    _put(owner_http, cal + "trashed.ics", _event(f"trashed-{tag}", f"Gelöscht {marker}"))
    _ok(owner_http.delete(cal + "trashed.ics"))
    link = _ok(owner_http.post(f"/api/collections{cal}public-links", json={"expires": "unlimited"}))
    job = _ok(
        owner_http.post(
            f"/api/import-jobs?into={cal}&kind=ics",
            content=_event(f"job-{tag}", "Import").encode(),
            headers={"Content-Type": "text/calendar"},
        )
    ).json()
    with db.transaction(write=True, owners=["admin"]) as s:
        workgroups.create(s, org_a, group)
        app_secret = accounts.add_app_password(s, owner, "matrix phone")
        reminder = s.scalar(select(Reminder.id).where(Reminder.owner == owner))
    # The removed user: a read-write share, own trash, a session; then removed, and the
    # login handed to a new person of organization C.
    gone = logins["gone_session"]
    logins["gone_basic"] = logins["reused"] = gone
    logins["app_password"] = owner
    _add_user(db, gone, org_a, "collaborator", GONE_PASSWORD)
    _ok(
        owner_http.put(
            f"/api/collections{cal}shares",
            json={"kind": "user", "name": gone, "access": "read-write"},
        )
    )
    gone_http = httpx.Client(base_url=url, auth=(gone, GONE_PASSWORD), timeout=60)
    _put(gone_http, f"/{gone}/calendar/mine.ics", _event(f"gone-{tag}", f"Alt {gone_marker}"))
    _ok(gone_http.delete(f"/{gone}/calendar/mine.ics"))
    gone_trash = _ok(gone_http.get("/api/trash")).json()["trash"][0]["id"]
    gone_session = _open_session(url, gone, GONE_PASSWORD)
    gone_http.close()
    with db.transaction(write=True, owners=[gone]) as s:
        accounts.remove_user(s, gone, org_a)
    _add_user(db, gone, org_c, "collaborator", REUSED_PASSWORD)
    clients = {}
    for actor in ACTORS:
        login = logins[actor]
        if actor == "anonymous":
            clients[actor] = _client(url, None)
        elif actor == "gone_session":
            clients[actor] = _client(url, None, gone_session)
        elif actor == "gone_basic":  # its refusals counted at an address of its own
            clients[actor] = _client(url, (gone, GONE_PASSWORD), address="198.51.100.7")
        elif actor == "app_password":
            clients[actor] = _client(url, (owner, app_secret))
        else:
            password = REUSED_PASSWORD if actor == "reused" else PASSWORD
            clients[actor] = _client(url, (login, password), _open_session(url, login, password))
    with db.transaction() as s:
        aliases = {a.collection.path: a.alias for a in sharing.shared_with(s, logins["reader"])}
        reader_alias = aliases[cal.strip("/")]
        aliases = {a.collection.path: a.alias for a in sharing.shared_with(s, logins["writer"])}
        writer_alias = aliases[cal.strip("/")]
    _wait_for_job(owner_http, job["id"])
    owner_http.close()
    values = {
        **{a: logins[a] for a in ACTORS},
        "base": url,
        "org_a": org_a,
        "org_b": org_b,
        "cal": cal,
        "book": book,
        "href": "secret.ics",
        "card_href": "card.vcf",
        "card": card_uid,
        "card_group": card_group,
        "group": group,
        "link_token": link.json()["url"].rsplit("/", 1)[1].removesuffix(".ics"),
        "job_id": job["id"],
        "reminder_id": str(reminder or 999999999),
        "gone_trash_id": str(gone_trash),
        "reader_alias": f"/{reader_alias}/",
        "writer_alias": f"/{writer_alias}/",
    }
    return World(backend, srv, values, clients, marker, gone_marker)


def _wait_for_job(client: httpx.Client, job_id: str) -> None:
    deadline = time.monotonic() + 60
    while _ok(client.get(f"/api/import-jobs/{job_id}")).json()["status"] == "running":
        assert time.monotonic() < deadline, "the setup's import job did not finish"
        time.sleep(0.2)


# One worker builds the two worlds (a server and its actors per backend) and walks every
# cell; spread over workers, each would build both (scripts/test runs --dist loadgroup).
pytestmark = pytest.mark.xdist_group("access-matrix")


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def world(request, tmp_path_factory):
    """One world per backend, built and run once for all the tests of the module."""
    name = request.param
    tmp = tmp_path_factory.mktemp(f"matrix-{name}")
    gen = None
    if name == "sqlite":
        backend = Backend("sqlite", f"sqlite:///{tmp / 'matrix.db'}")
    else:
        gen = _pg_database(f"calcard_matrix_{uuid.uuid4().hex[:10]}")
        backend = Backend("postgresql", next(gen))
    w = _build_world(backend, tmp)
    try:
        _run_matrix(w)
        yield w
    finally:
        for client in w.clients.values():
            client.close()
        stop_server(w.server)
        backend.db.dispose()
        if gen is not None:
            next(gen, None)


# ----------------------------------------------------------------------------- throwaways
def _owner(w: World) -> httpx.Client:
    return w.clients["owner"]


def _fresh(w: World, kind: str | None) -> dict[str, str]:
    """A throwaway object for one cell, so an allowed write never uses up the fixtures."""
    if kind is None:
        return {}
    v, http, u = w.values, _owner(w), uuid.uuid4().hex[:10]
    if kind == "event":
        _put(http, f"{v['cal']}f-{u}.ics", _event(f"f-{u}", "Wegwerf"))
        return {"fresh_href": f"f-{u}.ics", "fresh_uid": f"f-{u}"}
    if kind == "task":
        _put(http, f"{v['cal']}t-{u}.ics", _task(f"t-{u}", "Wegwerf"))
        return {"fresh_href": f"t-{u}.ics", "fresh_uid": f"t-{u}"}
    if kind == "card":
        _put(http, f"{v['book']}c-{u}.vcf", _card(f"c-{u}", f"Wegwerf {u}"), "addressbook")
        return {"fresh_href": f"c-{u}.vcf", "fresh_uid": f"c-{u}"}
    if kind in ("card_pair", "merge"):
        for n in (1, 2):
            _put(http, f"{v['book']}p{n}-{u}.vcf", _card(f"p{n}-{u}", f"Doppel {u}"), "addressbook")
        pair = {"fresh_uid": f"p1-{u}", "fresh_uid2": f"p2-{u}"}
        if kind == "card_pair":
            return pair
        done = _ok(
            http.post(
                "/api/contacts/merge",
                json={
                    "addressbook": v["book"],
                    "keep": pair["fresh_uid"],
                    "merge": [pair["fresh_uid2"]],
                },
            )
        )
        return {"fresh_id": str(done.json()["merge"])}
    if kind in ("shared_calendar", "shared_addressbook"):
        path = f"/{v['owner']}/s-{u}/"
        if kind == "shared_calendar":
            _ok(http.request("MKCALENDAR", path))
        else:
            _ok(
                http.request(
                    "MKCOL",
                    path,
                    content=(
                        b'<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" '
                        b'xmlns:R="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype>'
                        b"<D:collection/><R:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>"
                    ),
                    headers={"Content-Type": "application/xml"},
                )
            )
        for sharee, access in (("reader", "read"), ("writer", "read-write")):
            _ok(
                http.put(
                    f"/api/collections{path}shares",
                    json={"kind": "user", "name": v[sharee], "access": access},
                )
            )
        return {"fresh_col": path}
    if kind == "member":
        login = f"m{u}"
        _add_user(w.db, login, v["org_a"], "collaborator")
        return {"fresh_login": login}
    if kind == "workgroup":
        with w.db.transaction(write=True, owners=["admin"]) as s:
            workgroups.create(s, v["org_a"], f"Wegwerf-{u}")
        return {"fresh_group": f"Wegwerf-{u}"}
    if kind == "group_member":
        with w.db.transaction(write=True, owners=["admin"]) as s:
            if v["reader"] not in _group_members(s, v):
                workgroups.add_member(s, v["org_a"], v["group"], v["reader"])
        return {}
    if kind == "public_link":
        made = _ok(
            http.post(f"/api/collections{v['cal']}public-links", json={"expires": "unlimited"})
        )
        return {"fresh_id": str(made.json()["id"])}
    if kind == "owner_app_password":
        with w.db.transaction(write=True, owners=["admin"]) as s:
            accounts.add_app_password(s, v["owner"], f"wegwerf {u}")
            found = accounts.list_app_passwords(s, v["owner"])
        return {"fresh_id": str(max(p.id for p in found))}
    if kind == "trash":
        _put(http, f"{v['cal']}d-{u}.ics", _event(f"d-{u}", "Weg"))
        _ok(http.delete(f"{v['cal']}d-{u}.ics"))
        entries = _ok(http.get("/api/trash")).json()["trash"]
        return {"fresh_id": str(next(e["id"] for e in entries if e["uid"] == f"d-{u}"))}
    if kind == "invitation":  # an organization of its own invites the owner
        org, inviter = f"inv-{u}", f"i{u}"
        with w.db.transaction(write=True, owners=["admin"]) as s:
            accounts.create_org(s, org, plan="team")
            accounts.add_user(s, inviter, org, "administrator", PASSWORD)
            accounts.add_user(s, v["owner"], org, "collaborator", "", actor=inviter)
            found = accounts.invitations_of(s, v["owner"])
        return {"fresh_id": str(next(i.id for i in found if i.org == org))}
    if kind == "verify_link":  # a new user's pending address and its mailed link
        login = f"v{u}"
        _add_user(w.db, login, v["org_a"], "collaborator")
        with w.db.transaction(write=True, owners=[login]) as s:
            user = accounts.get_user(s, login)
            user.email_pending = f"{login}-neu@example.org"
            s.flush()
            url = verification.link(s, user, utcnow(), base_url="http://link.invalid")
        return {"fresh_login": login, "fresh_query": urlsplit(url).query}
    if kind == "reminder":  # a repeating reminder of the owner's and its stop link
        _put(http, f"{v['cal']}r-{u}.ics", _event(f"r-{u}", "Erinnerung", _soon(), True))
        with w.db.transaction() as s:
            mine = (Reminder.owner == v["owner"], Reminder.href == f"r-{u}.ics")
            found = s.scalar(select(Reminder.id).where(*mine))
            assert found is not None, "the alarm made no reminder"
            signature = links.sign(s, dispatch.stop_purpose(s.get(Reminder, found)))
        return {"fresh_id": str(found), "fresh_query": urlencode({"sig": signature})}
    if kind == "push_registration":  # the owner's phone subscribed to the calendar
        body = PUSH_REGISTER.format(uuid=u).encode()
        made = _ok(http.post(v["cal"], content=body, headers=XML))
        return {"fresh_token": made.headers["location"].rsplit("/", 1)[1]}
    raise AssertionError(f"no factory {kind!r}")


def _soon() -> str:
    return time.strftime("%Y%m%dT090000Z", time.gmtime(time.time() + 3 * 86400))


def _group_members(s, v) -> list[str]:
    found = workgroups.list_workgroups(s, v["org_a"])
    group = next(g for g in found if g.name == v["group"])
    return list(group.members)


# ----------------------------------------------------------------------------- running
def snapshot(w: World) -> dict[str, list[tuple]]:
    """The stored state a refusal must leave alone."""
    state = {}
    with w.db.transaction() as s:
        for name, skip in SNAPSHOT.items():
            table = Base.metadata.tables[name]
            columns = [c for c in table.columns if c.name not in skip]
            rows = s.execute(select(*columns)).all()
            state[name] = sorted(tuple(map(repr, row)) for row in rows)
    return state


def _diff(before: dict, after: dict) -> str:
    changed = []
    for name in before:
        gone = set(before[name]) - set(after[name])
        new = set(after[name]) - set(before[name])
        if gone or new:
            changed.append(f"{name}: -{sorted(gone)[:2]} +{sorted(new)[:2]}")
    return "; ".join(changed)


def accepts(expected: str, status: int) -> bool:
    for option in expected.split("|"):
        if option.endswith("xx") and status // 100 == int(option[0]):
            return True
        if option.isdigit() and status == int(option):
            return True
    return False


def is_refusal(expected: str) -> bool:
    return all(int(o[0]) >= 4 for o in expected.split("|"))


def cell_id(row: Row, actor: str) -> str:
    return f"{row.method} {row.url} <{row.route}> [{actor}]"


def _fill(template: str, values: dict[str, str]) -> str:
    return template.format_map(values)


def _send(w: World, row: Row, actor: str, values: dict[str, str]) -> tuple[int, str]:
    url = _fill(row.url, values).split("#")[0]
    body = _fill(row.body, values).encode() if isinstance(row.body, str) else row.body
    headers = {k: _fill(v, values) for k, v in row.headers.items()}
    client = w.clients[actor]
    request = client.build_request(row.method, url, content=body, headers=headers)
    answer = client.send(request, stream=True)
    try:
        if answer.headers.get("content-type", "").startswith("text/event-stream"):
            return answer.status_code, ""
        return answer.status_code, answer.read().decode("utf-8", "replace")
    finally:
        answer.close()


def _run_cell(w: World, row: Row, actor: str) -> tuple[bool, str]:
    expected = row.expect[actor]
    u = uuid.uuid4().hex
    values = {**w.values, "self": w.values[actor], "actor": actor, "uuid": u, "uuid8": u[:8]}
    values.update(_fresh(w, row.fresh))
    refusal = is_refusal(expected)
    before = snapshot(w) if refusal or row.still else None
    status, text = _send(w, row, actor, values)
    problems = []
    if not accepts(expected, status):
        problems.append(f"got {status}, expected {expected}: {text[:160]!r}")
    if before is not None:
        changed = _diff(before, snapshot(w))
        if changed:
            problems.append(f"{'refused' if refusal else 'a page'} but changed {changed}")
    _settle(w, row, values)
    if not row.public and actor not in OWNER_READERS and w.marker in text:
        problems.append("shows the owner's data")
    if w.gone_marker in text:
        problems.append("shows the removed user's data")
    return not problems, "; ".join(problems)


def _settle(w: World, row: Row, values: dict[str, str]) -> None:
    """Let background work of the cell end (an import job), and drop a throwaway shared
    collection (a damaged one would break the sharees' listings in later rows)."""
    deadline = time.monotonic() + 60
    while row.route == "/api/import-jobs" and time.monotonic() < deadline:
        with w.db.transaction() as s:
            if not s.scalar(select(ImportJob.id).where(ImportJob.status == "running")):
                break
        time.sleep(0.1)
    if row.fresh and row.fresh.startswith("shared_"):
        with w.db.transaction(write=True, owners=[w.values["owner"]]) as s:
            found = store.get_collection(s, values["fresh_col"].strip("/"))
            if found is not None:
                store.delete_collection(s, found, actor="admin")


def _run_matrix(w: World) -> None:
    dump = os.environ.get("CALCARD_MATRIX_DUMP")
    for row in ROWS:
        for actor in ACTORS:
            try:
                w.results[cell_id(row, actor)] = _run_cell(w, row, actor)
            except Exception as exc:  # noqa: BLE001 - one broken cell must not hide the rest
                w.results[cell_id(row, actor)] = (False, f"error: {exc!r}")
    if dump:  # a developer's aid: every cell's outcome, to see the whole matrix at once
        Path(f"{dump}.{w.backend.name}.json").write_text(json.dumps(w.results, indent=1))


# ----------------------------------------------------------------------------- the tests
GROUPS = sorted({r.group for r in ROWS})
HOLES = {cell_id(row, actor): hole for row in ROWS for actor, hole in sorted(row.xfail.items())}


def _known(row: Row, actor: str, backend: str) -> bool:
    return actor in row.xfail and backend in row.xfail[actor][1]


@pytest.mark.parametrize("group", GROUPS)
def test_matrix(world, group):
    """Every cell of the group but the known holes gives the expected answer."""
    wrong = [
        f"{cell_id(row, actor)}: {world.results[cell_id(row, actor)][1]}"
        for row in ROWS
        if row.group == group
        for actor in ACTORS
        if not _known(row, actor, world.backend.name) and not world.results[cell_id(row, actor)][0]
    ]
    assert not wrong, f"{len(wrong)} wrong cells:\n" + "\n".join(wrong)


@pytest.mark.parametrize("cell", sorted(HOLES))
def test_known_hole(world, cell, request):
    """A hole still open: the right answer, a strict xfail on the backends where it is
    open (``xf(..., backends=...)``), so closing it makes the test say so."""
    reason, backends = HOLES[cell]
    if world.backend.name in backends:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    ok, detail = world.results[cell]
    assert ok, detail


def test_rows_are_json_clean():
    """Bodies of rows declared JSON are JSON once filled (a typo would test nothing)."""
    texts = " ".join(r.body for r in ROWS if isinstance(r.body, str))
    values = {k: "x" for k in re.findall(r"{(\w+)}", texts)}
    for row in ROWS:
        if row.body is not None and row.headers.get("Content-Type") == "application/json":
            json.loads(_fill(row.body, values))
