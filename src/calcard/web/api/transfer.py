"""Import (POST a whole .ics or .vcf body) and export (a streamed file) over HTTP."""

from __future__ import annotations

import io
import tempfile

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from calcard.core.catalogs import N_
from calcard.core.errors import Kind, Refusal
from calcard.store import StoreError
from calcard.transfer import importexport
from calcard.web.api.common import ApiContext, Call, endpoint
from calcard.web.api.imports import UPLOAD_TYPES

MEDIA_TYPE = {".ics": "text/calendar; charset=utf-8", ".vcf": "text/vcard; charset=utf-8"}
SPOOL_BYTES = 1_000_000  # bodies above this go to a temporary file, not memory


def _kind(request: Request) -> str:
    named = request.query_params.get("kind") or request.headers.get("content-type", "")
    try:
        return importexport.kind_of("." + named if named in ("ics", "vcf") else named)
    except StoreError as exc:
        wanted = N_("send text/calendar or text/vcard (or ?kind=ics|vcf)")
        raise Refusal(wanted, Kind.UNSUPPORTED) from exc


async def _spool(request: Request) -> tuple[str, tempfile.SpooledTemporaryFile[bytes]]:
    """The body's kind (415 before reading it) and the body, spooled (memory, then disk)."""
    kind = _kind(request)
    body = tempfile.SpooledTemporaryFile(SPOOL_BYTES)
    async for chunk in request.stream():
        body.write(chunk)
    body.seek(0)
    return kind, body


def import_(call: Call) -> dict:
    """Import a whole .ics or .vcf body (?into=PATH): the summary of what was added,
    updated and skipped (each reason in the caller's language)."""
    kind, body = call.upload
    with body:
        lines = io.TextIOWrapper(body, encoding="utf-8-sig", errors="replace")
        into = call.request.query_params.get("into")
        summary = importexport.import_lines(call.ctx.db, call.login, kind, lines, into)
    with call.read() as s:
        return summary.as_json(call.language(s))


def export(call: Call) -> StreamingResponse:
    """A calendar (.ics) or address book (.vcf) as a file, streamed (?path=)."""
    found = importexport.export(call.ctx.db, call.query("path"), call.login)
    name = found.collection.path.replace("/", "-") + found.suffix
    return StreamingResponse(
        found.chunks,
        media_type=MEDIA_TYPE[found.suffix],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def routes(ctx: ApiContext) -> list[Route]:
    return [
        endpoint(ctx, "POST", "/api/import", import_, upload=_spool, types=UPLOAD_TYPES),
        endpoint(ctx, "GET", "/api/export", export),
    ]
