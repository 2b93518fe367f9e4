"""Alembic migrations build exactly the schema the models describe, both ways."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from calcard import store
from calcard.core.db import Database, alembic_config, migration_heads
from calcard.core.models import Base


def test_migrated_schema_matches_the_models(backend):
    with backend.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_the_items_end_index_comes_and_goes_with_its_migration(empty_url):
    db = Database(empty_url)
    try:
        db.upgrade()

        def indexes() -> set[str]:
            with db.engine.connect() as conn:
                return {i["name"] for i in inspect(conn).get_indexes("items")}

        assert {"ix_items_time", "ix_items_end"} <= indexes()
        command.downgrade(alembic_config(empty_url), "0013")
        assert "ix_items_end" not in indexes()
        command.upgrade(alembic_config(empty_url), "head")
        assert "ix_items_end" in indexes()
    finally:
        db.dispose()


def mangled(name: str) -> str:
    """``name`` as a PEP 3333 server handed it to Radicale before issue 17."""
    return name.encode("utf-8").decode("latin-1")


def test_the_name_repair_renames_mangled_names_and_logs_them_for_sync(empty_url):
    db = Database(empty_url)
    tables = Base.metadata.tables
    now = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        command.upgrade(alembic_config(empty_url), "0016")
        item = {"owner": "u", "uid": "", "etag": '"e"', "text": "x", "start": 0, "end": 1}
        with db.engine.begin() as conn:
            for cid, path, rev in [(1, "u/calendar", 2), (2, mangled("u/Kalender ü"), 5)]:
                conn.execute(
                    tables["collections"].insert(),
                    {"id": cid, "path": path, "parent": "u", "owner": "u", "revision": rev},
                )
            hrefs = ["bä.ics", mangled("bä.ics"), mangled("aä.ics"), mangled(mangled("日本.ics"))]
            hrefs += ["é.ics", "plain.ics"]
            for href in hrefs:
                conn.execute(tables["items"].insert(), {**item, "collection_id": 1, "href": href})
            trashed = {**item, "collection_id": 1, "href": mangled("cä.ics"), "deleted_at": now}
            conn.execute(tables["items"].insert(), trashed)
            key = {"collection_id": 1, "href": mangled("aä.ics"), "owner": "u"}
            conn.execute(tables["reminder_items"].insert(), {**key, "scheduled_until": now})
            conn.execute(
                tables["reminders"].insert(),
                {**key, "key": "k", "channel": "email", "fire_at": now, "due_at": now},
            )
            conn.execute(
                tables["contact_merges"].insert(),
                {
                    **{k: v for k, v in key.items() if k != "href"},
                    "kept_uid": "k",
                    "kept_href": mangled("aä.ics"),
                    "merged_etag": '"e"',
                    "originals": json.dumps([{"href": mangled("тест.vcf"), "uid": "t"}]),
                },
            )
            settings = {"default_calendar": "/" + mangled("u/Kalender ü") + "/", "week_start": 1}
            settings["birthdays_excluded"] = ["/" + mangled("u/Kontakte ö") + "/"]
            conn.execute(
                text(
                    "INSERT INTO users (login, name, email, password_hash, chat_webhook, "
                    "timezone, settings, created_at, totp_secret, totp_enabled, totp_last_step, "
                    "email_key, email_pending) VALUES ('u', '', '', 'x', '', 'UTC', :s, :c, '', "
                    "false, 0, '', '')"
                ),
                {"s": json.dumps(settings), "c": now},
            )
        command.upgrade(alembic_config(empty_url), "head")
        with db.engine.connect() as conn:
            stored = json.loads(conn.execute(text("SELECT settings FROM users")).scalar_one())
            items = set(conn.execute(text("SELECT href FROM items")).scalars())
            paths = dict(conn.execute(text("SELECT id, path FROM collections")).all())
            merge = conn.execute(text("SELECT kept_href, originals FROM contact_merges")).one()
            followed = {
                t: conn.execute(text(f"SELECT href FROM {t}")).scalar_one()
                for t in ("reminders", "reminder_items")
            }
        assert items == {
            "bä.ics",
            mangled("bä.ics"),
            "aä.ics",
            "日本.ics",
            "é.ics",
            "plain.ics",
            "cä.ics",
        }
        assert paths == {1: "u/calendar", 2: "u/Kalender ü"}
        assert stored == {
            "default_calendar": "/u/Kalender ü/",
            "birthdays_excluded": ["/u/Kontakte ö/"],
            "week_start": 1,
        }
        assert followed == {"reminders": "aä.ics", "reminder_items": "aä.ics"}
        assert merge[0] == "aä.ics" and json.loads(merge[1])[0]["href"] == "тест.vcf"
        with db.transaction() as s:
            changed = set(store.changes_since(s, 1, 2))
            assert store.get_collection(s, "u/calendar").revision == 3
        assert changed == {mangled("aä.ics"), "aä.ics", mangled(mangled("日本.ics")), "日本.ics"}
    finally:
        db.dispose()


def test_the_heads_read_without_alembic_are_alembics(empty_url):
    """calcard reads the schema's revision without loading Alembic (db.revisions); the
    heads it reads from the migration files must be Alembic's, or a server would
    skip an upgrade or refuse to be ready."""
    from alembic.script import ScriptDirectory

    alembic_heads = ScriptDirectory.from_config(alembic_config(empty_url)).get_heads()
    assert migration_heads() == frozenset(alembic_heads)
    db = Database(empty_url)
    try:
        assert db.revisions() == (frozenset(), migration_heads())
        command.upgrade(alembic_config(empty_url), "0019")
        assert db.revisions() == (frozenset({"0019"}), migration_heads())
        db.upgrade()
        assert db.revisions() == (migration_heads(), migration_heads())
        db.upgrade()  # nothing to do
    finally:
        db.dispose()
