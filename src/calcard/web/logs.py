"""Log lines: plain or one JSON object per line (``CALCARD_LOG_FORMAT``), each line
written while serving a request carrying that request's id.

The id comes from the request's ``X-Request-Id`` when that is short and safe (a
proxy's id, so its logs and ours line up), otherwise a fresh one; it is sent back
in the response's ``X-Request-Id``. A context variable carries it to every line
logged for the request: the handlers in the thread pool and the DAV application
run in a copy of the request's context (Starlette, a2wsgi).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
SAFE_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(request_tag)s"

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def incoming_or_new(headers: list[tuple[bytes, bytes]]) -> str:
    """The request's own id if it is at most 64 of ``[A-Za-z0-9._-]``; else a new one.

    Anything else (a newline, a quote, 10 kB) could forge or bloat log lines and
    headers downstream, so it is replaced, not cleaned."""
    for name, value in headers:
        if name == HEADER and SAFE_ID.fullmatch(value):
            return value.decode("ascii")
    return uuid.uuid4().hex


class RequestId:
    """Give each request its id: in the context for the log lines, in the request's
    headers for the application, in the response's headers for the client.

    The context variable is not reset afterwards on purpose: uvicorn runs each
    request in its own task, and its "Exception in ASGI application" line, written
    after the application gave up, should carry the id as well.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_or_new(scope["headers"])
        request_id.set(rid)
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k != HEADER]
        scope["headers"].append((HEADER, rid.encode()))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, rid.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_id)


class RequestIdFilter(logging.Filter):
    """Stamp each record with the current request's id (empty outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = request_id.get()
        record.request_id = rid
        record.request_tag = f" [request {rid}]" if rid else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the
    process id, the request id, the fields a caller passed as
    ``extra={"fields": {...}}`` (the access log's) and the traceback, if any. JSON
    escapes newlines, so no value can start a line of its own."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,  # which worker of `calcard serve --workers N`
        }
        rid = getattr(record, "request_id", "")
        if rid:
            entry["request_id"] = rid
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def log_config(log_format: str) -> dict[str, Any]:
    """The ``logging.config`` of ``calcard serve``: calcard's, uvicorn's and Radicale's
    loggers on stderr, in ``log_format`` ("plain" or "json")."""
    formatter = (
        {"()": f"{__name__}.JsonFormatter"} if log_format == "json" else {"format": PLAIN_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"line": formatter},
        "handlers": {
            "err": {"class": "logging.StreamHandler", "formatter": "line", "filters": ["request"]}
        },
        "loggers": {
            "calcard": {"handlers": ["err"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["err"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "radicale": {"handlers": ["err"], "level": "WARNING", "propagate": False},
        },
    }
