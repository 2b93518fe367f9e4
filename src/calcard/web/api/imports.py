"""Background imports for the web UI: upload a file, then poll the job's progress.

``POST /api/import-jobs?name=FILE[&into=PATH]`` takes the raw .ics or .vcf
body (``CALCARD_MAX_BODY_SIZE`` applies), refuses a wrong target or a file of
another kind at once, and answers 202 with the job; ``GET
/api/import-jobs/{id}`` answers its progress from the database, on any node.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from calcard.core.errors import Kind, Refusal
from calcard.store import StoreError
from calcard.transfer import importexport, importjobs
from calcard.web.api.common import ApiContext, accepts, authenticated_login

# What browsers and clients send a .ics or .vcf file as ("" and octet-stream: the
# file's type is unknown and ?name= or ?kind= says which it is).
UPLOAD_TYPES = (
    "text/calendar",
    "text/vcard",
    "text/x-vcard",
    "text/directory",
    "application/octet-stream",
    "",
)


def _kind(request: Request) -> str:
    """The file kind from ?kind=, the file name or the media type, or 415."""
    named = request.query_params.get("kind", "")
    for hint in ("." + named if named else "", request.query_params.get("name", "")):
        if hint:
            try:
                return importexport.kind_of(hint)
            except StoreError:
                continue
    try:
        return importexport.kind_of(request.headers.get("content-type", ""))
    except StoreError as exc:
        raise Refusal("only .ics and .vcf files can be imported", Kind.UNSUPPORTED) from exc


def routes(ctx: ApiContext) -> list[Route]:
    def begin(request: Request, login: str, kind: str, spooled: Path, size: int) -> JSONResponse:
        into = request.query_params.get("into") or None
        try:
            with ctx.db.transaction() as s:
                if importjobs.running(s, login):
                    raise Refusal("an import of yours is still running; wait for it", Kind.CONFLICT)
            with spooled.open("rb") as file:
                target = importjobs.check(ctx.db, login, file, kind, into)
        except Refusal:
            spooled.unlink(missing_ok=True)
            raise
        name = request.query_params.get("name") or f"upload{kind}"
        upload = importjobs.Upload(spooled, kind, target, name, size)
        job_id = importjobs.start(ctx.db, login, upload)
        with ctx.db.transaction() as s:
            return JSONResponse(importjobs.get(s, login, job_id), status_code=202)

    async def create(request: Request) -> JSONResponse:
        """Start importing the .ics or .vcf body (?name=FILE, ?into=PATH): 202 with the job."""
        login = await run_in_threadpool(authenticated_login, ctx, request)
        kind = _kind(request)
        size = 0
        with tempfile.NamedTemporaryFile(prefix="calcard-import-", delete=False) as out:
            spooled = Path(out.name)
            try:
                async for chunk in request.stream():
                    out.write(chunk)
                    size += len(chunk)
            except BaseException:
                spooled.unlink(missing_ok=True)
                raise
        return await run_in_threadpool(begin, request, login, kind, spooled, size)

    def show(request: Request) -> JSONResponse:
        """An import job's progress: status, bytes read, counts, skipped entries with reasons."""
        login = authenticated_login(ctx, request)
        with ctx.db.transaction() as s:
            return JSONResponse(importjobs.get(s, login, request.path_params["id"]))

    return [
        accepts(Route("/api/import-jobs", create, methods=["POST"]), *UPLOAD_TYPES),
        Route("/api/import-jobs/{id}", show),
    ]
