"""GET /api/health: is the database reachable."""

from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from calcard.web.api.common import ApiContext


def routes(ctx: ApiContext) -> list[Route]:
    def health(request: Request) -> JSONResponse:
        try:
            with ctx.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
            return JSONResponse({"status": "error", "database": str(exc)[:200]}, status_code=503)
        return JSONResponse({"status": "ok", "database": ctx.db.engine.dialect.name})

    route = Route("/api/health", health)
    route.public = True  # type: ignore[attr-defined]  # no login: monitors
    return [route]
