"""ASGI entry point: calcard's web app with Radicale mounted for DAV.

Lives with the plugins because it is the one place that wires Radicale in;
``calcard serve`` starts it by import string so that src/calcard never
imports Radicale.
"""

from __future__ import annotations

from typing import cast
from urllib.parse import quote

from a2wsgi import WSGIMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from calcard.core.config import load_settings
from calcard.core.db import Database
from calcard.web import app as web
from calcard_radicale import paths, runtime
from calcard_radicale.app import wsgi_app


def create_app():
    settings = load_settings()
    db = Database(settings.database_url)
    runtime.use(db)
    # a2wsgi types its scopes as TypedDicts, Starlette as plain mappings: the same ASGI app.
    dav = cast(ASGIApp, WSGIMiddleware(wsgi_app(settings), workers=16))
    return web.create_app(NamesChecked(dav), db, settings)


class NamesChecked:
    """Refuse a DAV path that names nothing storable (paths.decode) with its 4xx.

    Checked on the request line's bytes (``raw_path``): the ASGI server has
    already decoded ``path``, turning escapes that are not UTF-8 into U+FFFD
    and ``%2F`` into a separator.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or quote(scope["path"]).encode()
            try:
                paths.decode(raw)
            except paths.BadName as refused:
                response = PlainTextResponse(f"{refused}\n", refused.status)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
