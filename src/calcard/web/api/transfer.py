"""Import (POST a whole .ics or .vcf body) and export (a streamed file) over HTTP."""

from __future__ import annotations

import io
import tempfile

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from calcard.core.errors import Kind, Refusal
from calcard.store import StoreError
from calcard.transfer import importexport
from calcard.web.api.common import ApiContext, accepts, authenticated_login, query_param
from calcard.web.api.imports import UPLOAD_TYPES

MEDIA_TYPE = {".ics": "text/calendar; charset=utf-8", ".vcf": "text/vcard; charset=utf-8"}
SPOOL_BYTES = 1_000_000  # bodies above this go to a temporary file, not memory


def _kind(request: Request) -> str:
    named = request.query_params.get("kind") or request.headers.get("content-type", "")
    try:
        return importexport.kind_of("." + named if named in ("ics", "vcf") else named)
    except StoreError as exc:
        wanted = "send text/calendar or text/vcard (or ?kind=ics|vcf)"
        raise Refusal(wanted, Kind.UNSUPPORTED) from exc


def routes(ctx: ApiContext) -> list[Route]:
    def run_import(request: Request, kind: str, body) -> JSONResponse:
        login = request.state.login
        lines = io.TextIOWrapper(body, encoding="utf-8-sig", errors="replace")
        summary = importexport.import_lines(
            ctx.db, login, kind, lines, request.query_params.get("into")
        )
        return JSONResponse(summary.as_json())

    async def import_(request: Request) -> JSONResponse:
        request.state.login = await run_in_threadpool(authenticated_login, ctx, request)
        kind = _kind(request)
        with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as body:
            async for chunk in request.stream():
                body.write(chunk)
            body.seek(0)
            return await run_in_threadpool(run_import, request, kind, body)

    def export(request: Request) -> StreamingResponse:
        login = authenticated_login(ctx, request)
        path = query_param(request, "path")
        found = importexport.export(ctx.db, path, login)
        name = found.collection.path.replace("/", "-") + found.suffix
        return StreamingResponse(
            found.chunks,
            media_type=MEDIA_TYPE[found.suffix],
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return [
        accepts(Route("/api/import", import_, methods=["POST"]), *UPLOAD_TYPES),
        Route("/api/export", export),
    ]
