"""Background imports for the web UI: upload a file, then poll the job's progress.

``POST /api/import-jobs?name=FILE[&into=PATH]`` takes the raw .ics or .vcf
body (``CALCARD_MAX_BODY_SIZE`` applies), refuses a wrong target or a file of
another kind at once, and answers 202 with the job; ``GET
/api/import-jobs/{id}`` answers its progress from the database, on any node.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from calcard.core.catalogs import N_
from calcard.core.errors import Kind, Refusal
from calcard.store import StoreError
from calcard.transfer import importexport, importjobs
from calcard.web.api.common import ApiContext, Call, endpoint

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
        raise Refusal(N_("only .ics and .vcf files can be imported"), Kind.UNSUPPORTED) from exc


@dataclass(frozen=True)
class Spooled:
    """An uploaded body in a temporary file (the job reads it after this request ends)."""

    kind: str
    path: Path
    size: int


async def _spool(request: Request) -> Spooled:
    """The body in a temporary file, its kind checked first (415 before reading it)."""
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
    return Spooled(kind, spooled, size)


def create(call: Call) -> JSONResponse:
    """Start importing the .ics or .vcf body (?name=FILE, ?into=PATH): 202 with the job."""
    upload: Spooled = call.upload
    into = call.request.query_params.get("into") or None
    try:
        with call.read() as s:
            if importjobs.running(s, call.login):
                raise Refusal(N_("an import of yours is still running; wait for it"), Kind.CONFLICT)
        with upload.path.open("rb") as file:
            target = importjobs.check(call.ctx.db, call.login, file, upload.kind, into)
    except Refusal:
        upload.path.unlink(missing_ok=True)
        raise
    name = call.request.query_params.get("name") or f"upload{upload.kind}"
    job = importjobs.Upload(upload.path, upload.kind, target, name, upload.size)
    job_id = importjobs.start(call.ctx.db, call.login, job)
    with call.read() as s:
        started = importjobs.get(s, call.login, job_id, call.language(s))
    return JSONResponse(started, status_code=202)


def show(call: Call) -> dict:
    """An import job's progress: status, bytes read, counts, skipped entries with reasons
    (said in the caller's language, as the error)."""
    with call.read() as s:
        return importjobs.get(s, call.login, call.params["id"], call.language(s))


def routes(ctx: ApiContext) -> list[Route]:
    return [
        endpoint(ctx, "POST", "/api/import-jobs", create, upload=_spool, types=UPLOAD_TYPES),
        endpoint(ctx, "GET", "/api/import-jobs/{id}", show),
    ]
