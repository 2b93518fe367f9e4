"""``GET /metrics`` (Prometheus text) and the counting of every request.

Installed only when ``CALCARD_METRICS_TOKEN`` is set; then the exact path
``/metrics`` is this endpoint (any method; the login ``metrics`` is reserved, so
no principal needs it, and a principal's path ``/metrics/`` still goes to DAV),
answered only to ``Authorization: Bearer <token>`` (401 otherwise). Unset, nothing
here runs and ``/metrics`` is an ordinary DAV path, as before.

Each request is counted by method and status and timed by route group
(``route_group``); both label sets are bounded whatever clients send.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Iterable

from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calcard.core import metrics
from calcard.core.db import Database

PATH = "/metrics"
DAV_METHODS = frozenset(
    "GET HEAD POST PUT PATCH DELETE OPTIONS PROPFIND PROPPATCH MKCOL MKCALENDAR "
    "COPY MOVE LOCK UNLOCK REPORT ACL".split()
)


def route_group(method: str, path: str, api_groups: frozenset[str]) -> str:
    """The duration histogram's ``route`` label: ``api:<resource>`` for a known API
    resource (else ``api:other``), ``web`` for the web calendar, ``well-known``,
    ``metrics``, and ``dav:<METHOD>`` (or ``dav:other``) for everything DAV serves."""
    if path.startswith("/api/"):
        group = path.split("/", 3)[2]
        return f"api:{group}" if group in api_groups else "api:other"
    if path == "/web" or path.startswith("/web/"):
        return "web"
    if path.startswith("/.well-known/"):
        return "well-known"
    if path == PATH:
        return "metrics"
    return f"dav:{method_label(method)}"


def method_label(method: str) -> str:
    """The method, if it is one calcard knows; any other word is ``other``."""
    return method if method in DAV_METHODS else "other"


def api_groups(paths: Iterable[str]) -> frozenset[str]:
    """The first segments of the API's route paths (``/api/events/{id}`` -> events)."""
    segments = (p.split("/")[2] for p in paths if p.startswith("/api/"))
    return frozenset(s for s in segments if s and "{" not in s)


def recording_status(send: Send) -> tuple[Send, list[int]]:
    """``send`` that remembers the response's status in the list it returns (500 until
    the application starts a response): what the access log and the counters report."""
    status = [500]

    async def wrapper(message: Message) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]
        await send(message)

    return wrapper, status


class Metrics:
    """Count and time every request; answer ``/metrics`` to the operator's token."""

    def __init__(
        self, app: ASGIApp, db: Database, token: str, paths: Iterable[str], delay: float
    ) -> None:
        self.app = app
        self.token = token.encode()
        self.delay = delay  # CALCARD_AUTH_DELAY, as for every 401: against guessing
        self.groups = api_groups(paths)
        self.collectors = [metrics.QueueCollector(db.engine)]
        metrics.watch_pool(db.engine)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        send_wrapper, status = recording_status(send)
        route = route_group(scope["method"], scope["path"], self.groups)
        try:
            if route == "metrics":
                response = await self.answer(scope)
                await response(scope, receive, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            metrics.HTTP_REQUESTS.labels(method_label(scope["method"]), str(status[0])).inc()
            metrics.HTTP_DURATION.labels(route).observe(time.perf_counter() - started)

    async def answer(self, scope: Scope) -> Response:
        """The scrape: 405 but for GET and HEAD, 401 without the right bearer token."""
        if scope["method"] not in ("GET", "HEAD"):
            return PlainTextResponse("only GET\n", 405, headers={"Allow": "GET, HEAD"})
        scheme, _, given = dict(scope["headers"]).get(b"authorization", b"").partition(b" ")
        # the scheme is case-insensitive (RFC 7235 §2.1); the token is compared in
        # constant time, so its prefix cannot be found by timing
        if scheme.lower() != b"bearer" or not hmac.compare_digest(given.strip(), self.token):
            await asyncio.sleep(self.delay)
            return PlainTextResponse(
                "a bearer token is required\n", 401, headers={"WWW-Authenticate": "Bearer"}
            )
        body = await run_in_threadpool(metrics.exposition, self.collectors)
        return Response(body, media_type=metrics.CONTENT_TYPE)
