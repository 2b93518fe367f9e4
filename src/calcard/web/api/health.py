"""GET /api/health (liveness) and GET /api/ready (readiness), for load balancers and
orchestrators; both without authentication.

Liveness touches nothing but this process: a process that answers is alive, and
restarting it would not bring back a database that is down. Readiness says
whether this node should get traffic: the database answers and its schema is at
the migrations' head. Neither answer carries an exception's text (a connection
string may hold a password), only a fixed reason.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse
from starlette.routing import Route

from calcard.web.api.common import ApiContext, Call, endpoint

log = logging.getLogger("calcard.health")


def health(call: Call) -> dict:
    """Liveness: this process answers (200); the database is not asked."""
    return {"status": "ok", "database": call.ctx.db.engine.dialect.name}


def ready(call: Call) -> dict | JSONResponse:
    """Readiness: the database answers and its schema is at the migrations' head
    (200), else 503 with the reason."""
    try:
        current, heads = call.ctx.db.revisions()
    except SQLAlchemyError as exc:
        log.warning("not ready: the database does not answer (%s)", type(exc).__name__)
        return not_ready("the database does not answer")
    if current != heads:
        return not_ready(
            "the database schema is not at the migrations' head",
            database=sorted(current),
            code=sorted(heads),
        )
    return {"status": "ready", "database": call.ctx.db.engine.dialect.name}


def not_ready(reason: str, **details: list[str]) -> JSONResponse:
    return JSONResponse({"status": "not ready", "reason": reason, **details}, status_code=503)


def routes(ctx: ApiContext) -> list[Route]:
    return [
        endpoint(ctx, "GET", "/api/health", health, auth=False),
        endpoint(
            ctx,
            "GET",
            "/api/ready",
            ready,
            auth=False,
            responses={"503": 'not ready: {"status": "not ready", "reason": ...}'},
        ),
    ]
