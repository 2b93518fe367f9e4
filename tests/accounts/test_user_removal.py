"""A removed user's data dies with the user: the next holder of the login starts empty.

Attacker's view (issue 14, finding 3): someone who kept a removed user's
browser session or app password, or who is given the freed login later, must
not reach anything of the old account: not its sessions, the shares aimed at
it, its trash, its app passwords, nor any row kept under its login. Ids are
never reused (SQLite AUTOINCREMENT), so nothing keyed by the old id matches
the new user either.
"""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import inspect, select, text

from calcard import accounts, sharing
from calcard.core.db import Database, alembic_config
from calcard.core.models import Base, Share, User

from conftest import PASSWORD
from helpers import web_session

NEW_PASSWORD = "nöuvel-Passwört-2031"
EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
    "UID:{uid}\r\nDTSTAMP:20400101T000000Z\r\nDTSTART:20400315T090000Z\r\n"
    "DTEND:20400315T100000Z\r\nSUMMARY:Gehälter — geheim\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def user_id(server, login: str) -> int | None:
    with server.backend.db.transaction() as s:
        return s.scalar(select(User.id).where(User.login == login))


def rows_under(server, login: str) -> dict[str, int]:
    """Rows of every table that names a person by login (owner or login column)."""
    found = {}
    with server.backend.db.transaction() as s:
        for table in Base.metadata.sorted_tables:
            for column in ("owner", "login"):
                if column in table.c and table.name != "users":
                    count = s.scalar(
                        select(text("count(*)")).select_from(table).where(table.c[column] == login)
                    )
                    if count:
                        found[table.name] = count
    return found


def victim_with_belongings(server) -> dict:
    """An organization with its boss, a sharer, and X who owns a bit of everything."""
    boss = server.user("legal-representative")
    org = f"org-{boss}"
    sharer = server.user(org=org)
    victim = f"x{uuid.uuid4().hex[:10]}"
    with server.backend.db.transaction(write=True, owners=[victim]) as s:
        accounts.add_user(s, victim, org, "collaborator", PASSWORD, email=f"{victim}@example.com")
    with server.client(sharer) as http:
        shared = http.put(
            f"/api/collections/{sharer}/calendar/shares",
            json={"kind": "user", "name": victim, "access": "read-write"},
        )
        assert shared.status_code == 200, shared.text
    with server.client(victim) as http:
        for uid in ("trashed-1", "kept-1"):
            put = http.put(
                f"/{victim}/calendar/{uid}.ics",
                content=EVENT.format(uid=uid).encode(),
                headers={"Content-Type": "text/calendar"},
            )
            assert put.status_code in (201, 204), put.text
        assert http.delete(f"/{victim}/calendar/trashed-1.ics").status_code in (200, 204)
        trashed = http.get("/api/trash").json()["trash"]
        assert [e["uid"] for e in trashed] == ["trashed-1"]
        app = http.post("/api/me/app-passwords", json={"label": "Téléphone"}).json()["password"]
        assert [s["owner"] for s in http.get("/api/shared").json()["shared"]] == [sharer]
    with server.client(victim, "a wrong password") as http:
        assert http.get("/api/me").status_code == 401  # a login failure kept under the login
    cookie_client, _csrf = web_session(server, victim)
    assert cookie_client.get("/api/me").status_code == 200
    return {
        "boss": boss,
        "org": org,
        "sharer": sharer,
        "victim": victim,
        "app_password": app,
        "session": cookie_client,
        "old_id": user_id(server, victim),
        "trash_id": trashed[0]["id"],
    }


def remove(server, cli, via: str, case: dict) -> None:
    if via == "cli":
        cli("user", "remove", case["victim"], "--org", case["org"])
        return
    with server.client(case["boss"]) as http:
        gone = http.delete(f"/api/orgs/{case['org']}/members/{case['victim']}")
        assert gone.status_code == 200, gone.text


def new_holder(server, login: str) -> None:
    """Someone else is given the freed login, in an organization of their own."""
    org = f"other-{login}"
    with server.backend.db.transaction(write=True, owners=[login]) as s:
        accounts.create_org(s, org, plan="team")
        accounts.add_user(s, login, org, "legal-representative", NEW_PASSWORD)


@pytest.mark.parametrize("via", ["cli", "api"])
def test_a_removed_users_session_shares_trash_and_app_passwords_die_with_them(server, cli, via):
    case = victim_with_belongings(server)
    victim, old_session = case["victim"], case["session"]
    remove(server, cli, via, case)

    assert old_session.get("/api/me").status_code == 401
    assert rows_under(server, victim) == {}
    with server.client(victim, case["app_password"]) as http:
        assert http.request("PROPFIND", f"/{victim}/", headers={"Depth": "0"}).status_code == 401

    new_holder(server, victim)
    assert user_id(server, victim) > case["old_id"]  # ids are never handed out twice
    # The attacker keeps the old cookie and the old app password: neither opens the new account.
    assert old_session.get("/api/me").status_code == 401
    assert old_session.get("/api/session").status_code == 401
    with server.client(victim, case["app_password"]) as http:
        assert http.request("PROPFIND", f"/{victim}/", headers={"Depth": "0"}).status_code == 401
        assert http.get("/api/me").status_code == 401
    old_session.close()

    with server.client(victim, NEW_PASSWORD) as http:
        assert http.get("/api/shared").json()["shared"] == []
        assert http.get("/api/trash").json()["trash"] == []
        assert http.post(f"/api/trash/{case['trash_id']}/restore").status_code == 404
        assert http.get("/api/me/app-passwords").json()["app_passwords"] == []
        assert http.get(f"/{case['sharer']}/calendar/").status_code in (403, 404)
        assert http.get(f"/{victim}/calendar/kept-1.ics").status_code == 404
    assert cli("trash", "list", victim).stdout.strip() == ""
    with server.client(case["sharer"]) as http:  # the sharer's calendar is theirs alone again
        shares = http.get(f"/api/collections/{case['sharer']}/calendar/shares").json()["shares"]
        assert shares == []
        assert http.request("PROPFIND", f"/{case['sharer']}/calendar/").status_code == 207


def test_a_user_who_stays_in_another_organization_keeps_everything(server, cli):
    """Only the last membership ends the person; leaving one organization deletes nothing."""
    case = victim_with_belongings(server)
    other = f"org-{server.user('legal-representative')}"
    with server.backend.db.transaction(write=True, owners=[case["victim"]]) as s:
        accounts.add_user(s, case["victim"], other, "collaborator", "")
    cli("user", "remove", case["victim"], "--org", case["org"])
    assert case["session"].get("/api/me").status_code == 200
    with server.client(case["victim"], case["app_password"]) as http:
        assert [e["uid"] for e in http.get("/api/trash").json()["trash"]] == ["trashed-1"]
        assert http.get(f"/{case['victim']}/calendar/kept-1.ics").status_code == 200
    case["session"].close()


def test_share_targets_of_a_deleted_user_are_deleted_in_the_service(backend):
    """A share's target is polymorphic (user, group, org): no foreign key covers it."""
    org, login = f"o-{uuid.uuid4().hex[:8]}", f"y{uuid.uuid4().hex[:8]}"
    owner = f"z{uuid.uuid4().hex[:8]}"
    with backend.db.transaction(write=True, owners=["admin"]) as s:
        accounts.create_org(s, org, plan="team")
        accounts.add_user(s, owner, org, "legal-representative", PASSWORD)
        target = accounts.add_user(s, login, org, "collaborator", PASSWORD)
        sharing.add_share(s, f"/{owner}/calendar/", "user", login, "read")
        target_id = target.id
    with backend.db.transaction(write=True, owners=["admin"]) as s:
        accounts.remove_user(s, login, org)
    with backend.db.transaction() as s:
        left = s.scalars(
            select(Share).where(Share.target_kind == "user", Share.target_id == target_id)
        ).all()
    assert left == []


OLD_ROWS = [
    "INSERT INTO organizations (id, name, plan, created_at) "
    "VALUES (1, 'Ünïon', 'team', '2040-01-01')",
    *(
        "INSERT INTO users (id, login, name, email, password_hash, chat_webhook, timezone, "
        "settings, created_at, totp_secret, totp_enabled, totp_last_step) VALUES "
        f"({i}, '{login}', 'Zoë', '', 'x', '', 'UTC', '{{}}', '2040-01-01', '', false, 0)"
        for i, login in ((1, "anna"), (2, "bert"))
    ),
    "INSERT INTO memberships (org_id, user_id, role, calendar_access, contacts_access) "
    "VALUES (1, 1, 'legal-representative', true, true), (1, 2, 'collaborator', true, true)",
    "INSERT INTO collections (id, path, parent, owner, tag, props, revision, created_at, "
    "updated_at, deleted_by) VALUES (7, 'anna', '', 'anna', '', '{}', 0, '2040-01-01', "
    "'2040-01-01', ''), (8, 'anna/calendar', 'anna', 'anna', 'VCALENDAR', '{}', 1, "
    "'2040-01-01', '2040-01-01', '')",
    'INSERT INTO items (collection_id, owner, href, uid, etag, text, component, start, "end", '
    "last_modified, deleted_by) VALUES (8, 'anna', 'a.ics', 'a', 'e', 'Gehälter', 'VEVENT', 0, 1, "
    "'2040-01-01', '')",
    "INSERT INTO web_sessions (token_hash, owner, csrf, created_at, expires_at) VALUES "
    "('h-anna', 'anna', 'c', '2040-01-01', '2999-01-01'), "
    "('h-gone', 'gone', 'c', '2040-01-01', '2999-01-01')",
]


def test_migration_0015_keeps_data_ties_sessions_to_users_and_stops_id_reuse(empty_url):
    """On a database made by 0014: rows survive the SQLite table rebuild (no cascade
    fires), a session of a vanished login is dropped, a deleted user's id is not
    given again."""
    config, db = alembic_config(empty_url), Database(empty_url)
    try:
        command.upgrade(config, "0014")
        with db.engine.begin() as conn:
            for statement in OLD_ROWS:
                conn.execute(text(statement))
            if conn.dialect.name == "postgresql":  # as if the rows had taken their ids
                conn.execute(text("SELECT setval('users_id_seq', 2)"))
        command.upgrade(config, "0015")
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT text FROM items")).scalars().all() == ["Gehälter"]
            assert conn.execute(text("SELECT count(*) FROM memberships")).scalar() == 2
            sessions = conn.execute(
                text(
                    "SELECT s.token_hash, u.login FROM web_sessions s "
                    "JOIN users u ON u.id = s.user_id"
                )
            ).all()
            assert [tuple(r) for r in sessions] == [("h-anna", "anna")]
            assert "ix_web_sessions_user_id" in {
                i["name"] for i in inspect(conn).get_indexes("web_sessions")
            }
            conn.execute(text("DELETE FROM users WHERE id = 2"))
            conn.execute(
                text(
                    "INSERT INTO users (login, name, email, password_hash, chat_webhook, "
                    "timezone, settings, created_at, totp_secret, totp_enabled, totp_last_step) "
                    "VALUES ('bert', '', '', 'y', '', 'UTC', '{}', '2040-01-02', '', false, 0)"
                )
            )
            assert conn.execute(text("SELECT id FROM users WHERE login = 'bert'")).scalar() > 2
        command.downgrade(config, "0014")
        command.upgrade(config, "head")
    finally:
        db.dispose()
