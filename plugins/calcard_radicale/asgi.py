"""ASGI entry point: calcard's web app with Radicale mounted for DAV.

Lives with the plugins because it is the one place that wires Radicale in;
``calcard serve`` starts it by import string so that src/calcard never
imports Radicale.
"""

from __future__ import annotations

from typing import cast

from a2wsgi import WSGIMiddleware
from starlette.types import ASGIApp

from calcard.core import heap
from calcard.core.config import load_settings
from calcard.core.db import Database
from calcard.web import app as web
from calcard_radicale import runtime
from calcard_radicale.app import wsgi_app


def create_app():
    """The app of one serving process (uvicorn calls it in each worker)."""
    heap.return_large_blocks()
    settings = load_settings()
    db = Database(settings.database_url)
    runtime.use(db)
    # a2wsgi types its scopes as TypedDicts, Starlette as plain mappings: the same ASGI app.
    dav = cast(ASGIApp, WSGIMiddleware(wsgi_app(settings), workers=16))
    return web.create_app(dav, db, settings)
