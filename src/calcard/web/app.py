"""The ASGI application: /api, the web UI under /web/, well-known redirects, and DAV
for every other path.

The DAV application (Radicale) is passed in, so this module never imports it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import time
from urllib.parse import quote

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calcard.core import links, names
from calcard.core import metrics as core_metrics
from calcard.core.catalogs import N_
from calcard.core.config import Settings
from calcard.core.db import Database
from calcard.core.errors import Kind, Refusal
from calcard.push import vapid
from calcard.web import api, logs, metrics, ui
from calcard.web.api.common import answer_refusal
from calcard.worker import Dispatcher

access_log = logging.getLogger("calcard.access")


def basic_login(headers: dict[bytes, bytes]) -> str:
    """The login named in a Basic Authorization header (unverified, for logs)."""
    value = headers.get(b"authorization", b"")
    if not value.lower().startswith(b"basic "):
        return "-"
    try:
        return base64.b64decode(value[6:]).decode("utf-8", "replace").split(":", 1)[0] or "-"
    except (binascii.Error, ValueError):
        return "-"


class AccessLog:
    """One line per request: user, method, path, status, milliseconds (in JSON logs
    also as fields of their own, see ``calcard.web.logs``).

    The path as the request line spelled it (percent-encoded): a ``%0A`` in it,
    refused further in, must not start a forged log line.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        send_wrapper, status = metrics.recording_status(send)
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            user = basic_login(dict(scope["headers"]))
            path = (scope.get("raw_path") or quote(scope["path"]).encode()).decode(
                "ascii", "backslashreplace"
            )
            ms = round((time.perf_counter() - started) * 1000, 1)
            access_log.info(
                "%s %s %s %d %.1fms",
                user,
                scope["method"],
                path,
                status[0],
                ms,
                extra={
                    "fields": {
                        "user": user,
                        "method": scope["method"],
                        "path": path,
                        "status": status[0],
                        "duration_ms": ms,
                    }
                },
            )


class BodyLimit:
    """Refuse bodies over the limit with 413 before any of them is processed.

    A declared Content-Length is checked up front; a chunked body is read up to
    the limit first, so the application never sees a truncated request.
    """

    def __init__(self, app: ASGIApp, limit: int, db: Database) -> None:
        self.app = app
        self.limit = limit
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.limit:
                await _too_large(scope, receive, send, self.limit, self.db)
                return
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b""):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                await _too_large(scope, receive, send, self.limit, self.db)
                return
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        scope["headers"] = [*scope["headers"], (b"content-length", str(len(body)).encode())]
        await self.app(scope, replay, send)


class RefuseBadUrl:
    """Refuse with 400 a URL whose query carries a NUL character (``%00``) or whose
    path names nothing storable (calcard.core.names: not UTF-8, ``%2F``, dot segments,
    control characters; 414 when too long).

    No name, id or date contains a NUL, and PostgreSQL text cannot hold one: a
    query parameter with NUL reaching a lookup was a 500 (psycopg DataError). The
    path is read from the request line's bytes (``raw_path``): the ASGI server has
    already decoded ``path``, turning escapes that are not UTF-8 into U+FFFD and
    ``%2F`` into a separator, and a newline in it made the router answer 404.
    """

    def __init__(self, app: ASGIApp, db: Database) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = _url_refusal(scope)
            if refused is not None:
                await self._refuse(refused, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _refuse(
        self, refused: names.BadName, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """To the JSON API in the reader's language (the web calendar shows it), to DAV
        in English plain text (docs/languages.md)."""
        response: Response
        if scope["path"].startswith("/api/"):
            response = await answer_refusal(self.db, Request(scope), refused)
            response.status_code = refused.status
        else:
            response = PlainTextResponse(refused.message + "\n", refused.status)
        await response(scope, receive, send)


def _url_refusal(scope: Scope) -> names.BadName | None:
    """Why the request's URL is refused (see RefuseBadUrl), or None."""
    query = scope.get("query_string", b"")
    if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
        return names.BadName(N_("the URL contains a NUL character"))
    try:
        names.decode(scope.get("raw_path") or quote(scope["path"]).encode())
    except names.BadName as refused:
        return refused
    return None


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int, db: Database) -> None:
    """413: to the JSON API (an import the web calendar uploads) in the reader's language,
    to DAV in English (docs/languages.md)."""
    refusal = Refusal(
        N_("request body larger than {limit} bytes"), Kind.TOO_LARGE, values={"limit": limit}
    )
    response = (
        await answer_refusal(db, Request(scope), refusal)
        if scope["path"].startswith("/api/")
        else JSONResponse({"error": refusal.message}, status_code=413)
    )
    await response(scope, receive, send)


def _allowed(routes: list[Route], scope: Scope) -> set[str]:
    """The methods the API routes take at this path (none: no such endpoint)."""
    return {
        method
        for route in routes
        if route.matches(scope)[0] is Match.PARTIAL
        for method in route.methods or ()
    }


def create_app(dav: ASGIApp, db: Database, settings: Settings) -> ASGIApp:
    async def api_not_found(request: Request) -> JSONResponse:
        """Any method at an /api path no route takes it at: 405 with the methods the path
        takes (RFC 9110 §15.5.6, said by the HTTPException handler in the reader's
        language), else 404; never DAV's answer."""
        allowed = _allowed(api_routes, request.scope)
        if allowed:
            raise HTTPException(405, headers={"Allow": ", ".join(sorted(allowed))})
        raise Refusal(
            N_("no API endpoint {path}"), Kind.NOT_FOUND, values={"path": request.url.path}
        )

    async def well_known(request: Request) -> RedirectResponse:
        return RedirectResponse("/", status_code=301)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        """Each serving process makes the link-signing and push keys if missing
        (core.links, push.vapid), and dispatches reminders unless turned off; its live
        gauges go when it stops (its counters stay in the sums). A database down at the
        start is logged: requests answer 503 until it is back."""
        try:
            for make_key in (links.make_key, vapid.make_key):
                await asyncio.to_thread(make_key, db)
        except SQLAlchemyError as error:
            logging.getLogger("calcard").warning("keys not checked at start: %s", error)
        worker = Dispatcher(db, settings) if settings.reminders else None
        thread = worker.start_thread() if worker else None
        yield
        if worker and thread:
            worker.stopping.set()
            await asyncio.to_thread(thread.join, 15)
        core_metrics.forget_this_process()

    ctx = api.ApiContext(db, settings)
    api_routes = api.routes(ctx)
    app = Starlette(
        lifespan=lifespan,
        routes=[
            *api_routes,
            Route("/api/{rest:path}", api_not_found, methods=sorted(metrics.DAV_METHODS)),
            Route("/.well-known/caldav", well_known, methods=["GET", "PROPFIND", "HEAD"]),
            Route("/.well-known/carddav", well_known, methods=["GET", "PROPFIND", "HEAD"]),
            *ui.routes(ctx),
            Mount("/", app=dav),
        ],
        exception_handlers=api.error_handlers(ctx),
    )
    limited = BodyLimit(ui.BrowserRedirect(app), settings.max_body_size, db)
    served: ASGIApp = RefuseBadUrl(limited, db)
    if settings.metrics_token:
        paths = [route.path for route in api_routes]
        served = metrics.Metrics(served, db, settings.metrics_token, paths, settings.auth_delay)
    return logs.RequestId(AccessLog(served))
