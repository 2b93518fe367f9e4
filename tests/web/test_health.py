"""Liveness (/api/health) and readiness (/api/ready): the database answers and its
schema is at the migrations' head; neither answer leaks a connection string."""

from __future__ import annotations

import os
import uuid

import httpx
import psycopg
from alembic import command
from alembic.script import ScriptDirectory

from calcard.core.db import alembic_config, migration_heads

from conftest import PG_ADMIN_URL, Backend, start_server, stop_server

SECRET = "s3cret-" + uuid.uuid4().hex[:8]  # trust auth ignores it; it must not be shown


def test_ready_when_migrated_and_health_without_login(server):
    for path in ("/api/health", "/api/ready"):
        response = httpx.get(server.url + path)
        assert response.status_code == 200, response.text
        assert response.json()["database"] == server.backend.name
    assert httpx.get(server.url + "/api/ready").json()["status"] == "ready"
    spec = httpx.get(server.url + "/api/openapi.json").json()
    ready = spec["paths"]["/api/ready"]["get"]
    assert ready["security"] == [] and "503" in ready["responses"]


def test_not_ready_while_the_schema_is_behind(own_backend, tmp_path):
    """A node whose database is one migration behind its code (downgraded with Alembic,
    or restored from an older node) must not get traffic: 503 until it is upgraded."""
    srv = start_server(own_backend, tmp_path)
    (head,) = migration_heads()
    config = alembic_config(own_backend.url)
    previous = ScriptDirectory.from_config(config).get_revision(head).down_revision
    try:
        command.downgrade(config, "-1")
        response = httpx.get(srv.url + "/api/ready")
        assert response.status_code == 503
        answer = response.json()
        assert answer["status"] == "not ready" and "head" in answer["reason"]
        assert answer["database"] == [previous] and answer["code"] == [head]
        assert httpx.get(srv.url + "/api/health").status_code == 200  # alive all the same
        own_backend.db.upgrade()
        assert httpx.get(srv.url + "/api/ready").status_code == 200
    finally:
        stop_server(srv)


def test_not_ready_when_the_database_is_gone_and_no_secret_is_shown(tmp_path):
    """PostgreSQL drops the database under a running node: still alive (a restart would
    not help), not ready, and the answer names no host, user or password."""
    name = f"calcard_ready_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    host = PG_ADMIN_URL.split("@", 1)[1].rsplit("/", 1)[0]
    url = f"postgresql+psycopg://postgres:{SECRET}@{host}/{name}"
    backend = Backend("postgresql", url)
    backend.db.dispose()
    srv = start_server(backend, tmp_path)
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        response = httpx.get(srv.url + "/api/ready", timeout=30)
        assert response.status_code == 503
        assert response.json() == {"status": "not ready", "reason": "the database does not answer"}
        health = httpx.get(srv.url + "/api/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        for shown in (response.text, health.text, srv.log.read_text()):
            assert SECRET not in shown
    finally:
        stop_server(srv)
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
