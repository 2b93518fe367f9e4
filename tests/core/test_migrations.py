"""Alembic migrations build exactly the schema the models describe, both ways."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from calcard.core.db import Database, alembic_config
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
