"""GET /api/health: is the database reachable."""

from __future__ import annotations

from sqlalchemy import text
from starlette.responses import JSONResponse
from starlette.routing import Route

from calcard.web.api.common import ApiContext, Call, endpoint


def health(call: Call) -> dict | JSONResponse:
    """Whether the database answers (503 when it does not), for load balancers."""
    engine = call.ctx.db.engine
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
        return JSONResponse({"status": "error", "database": str(exc)[:200]}, status_code=503)
    return {"status": "ok", "database": engine.dialect.name}


def routes(ctx: ApiContext) -> list[Route]:
    return [endpoint(ctx, "GET", "/api/health", health, auth=False)]
