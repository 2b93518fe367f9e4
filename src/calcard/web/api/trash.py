"""The trash over JSON: list what was deleted, restore it, with clashes answered 409."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from calcard import accounts, trash
from calcard.core.errors import Refusal
from calcard.web.api.common import ApiContext, authenticated_login, json_body


def routes(ctx: ApiContext) -> list[Route]:
    def listing(request: Request) -> JSONResponse:
        login = authenticated_login(ctx, request)
        with ctx.db.transaction() as s:
            entries = trash.list_trash(s, login)
            days = accounts.retention_days(s, login)
        return JSONResponse({"trash": [e.as_json() for e in entries], "retention_days": days})

    def restore_sync(request: Request, body: dict) -> JSONResponse:
        login = authenticated_login(ctx, request)
        into, new_uid = body.get("into"), body.get("new_uid", False)
        if (into is not None and not isinstance(into, str)) or not isinstance(new_uid, bool):
            raise Refusal("into must be a path and new_uid true or false")
        with ctx.db.transaction(write=True, owners=[login]) as s:
            restored = trash.restore(s, login, request.path_params["id"], into, new_uid)
        return JSONResponse({"restored": restored.path, "uid": restored.uid})

    async def restore(request: Request) -> JSONResponse:
        has_body = int(request.headers.get("content-length") or 0) > 0
        body = await json_body(request) if has_body else {}
        return await run_in_threadpool(restore_sync, request, body)

    return [
        Route("/api/trash", listing),
        Route("/api/trash/{id}/restore", restore, methods=["POST"]),
    ]
