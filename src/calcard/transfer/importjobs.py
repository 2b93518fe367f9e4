"""Imports from the web UI as background jobs whose progress any node can report.

An upload of thousands of entries takes minutes, longer than a request should
wait. The node that receives the file checks its start and its target, spools
it to a temporary file and runs the streaming importer (``importexport``) in a
thread; after every stored batch the job row in the database gets the bytes
read and the counts so far, so a progress poll answered by any process (or
machine) sees it move. A job whose process ended mid-way stops moving: after
``STALE`` without a heartbeat it is reported as failed, keeping what was stored.

Its report is read later, by whoever polls it, in their language: each skipped
entry's reason and the error are kept as ``catalogs.Message`` JSON (template and
values) and said when the job is read. A job kept before that holds plain English
texts, which are shown as they are.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from calcard import accounts
from calcard.core.catalogs import N_, SOURCE, Message
from calcard.core.db import Database
from calcard.core.errors import Kind
from calcard.core.models import ImportJob
from calcard.core.times import as_utc, utcnow
from calcard.store import StoreError, ical
from calcard.transfer import importexport

log = logging.getLogger("calcard.import")
MAX_REASONS = 1000  # skipped entries listed with their reason; the rest are only counted
STALE = timedelta(minutes=10)  # no stored batch for this long: the job's process is gone
KEEP = timedelta(days=7)  # finished jobs are forgotten after this
HEAD_BYTES = 64 * 1024  # enough of the start of a file to judge its kind
INTERNAL = Message(N_("the import stopped on an internal error; what was stored is kept"))
CUT_OFF = Message(N_("the import stopped (its server process ended); what was stored is kept"))


@dataclass(frozen=True)
class Upload:
    """A spooled upload, checked and ready to import."""

    path: Path
    kind: str
    target: str  # collection path, no slashes around
    filename: str
    size: int


def check(db: Database, login: str, file: BinaryIO, kind: str, into: str | None) -> str:
    """The target collection's path, after refusing a wrong target or a file of another kind.

    Raises StoreError with the reason before any job exists, so a bad file
    stores nothing and the caller hears why at once.
    """
    with db.transaction() as s:
        collection = importexport.target(s, login, kind, into)
    file.seek(0)
    head = file.read(HEAD_BYTES).decode("utf-8-sig", errors="replace")
    file.seek(0)
    importexport.check_start(kind, head)
    return collection.path


def start(db: Database, login: str, upload: Upload) -> str:
    """Record the job and run it in a thread of this process; returns the job id."""
    job_id = uuid.uuid4().hex
    with db.transaction(write=True) as s:
        login = accounts.get_user(s, login).login
        s.execute(
            delete(ImportJob).where(
                ImportJob.owner == login, ImportJob.created_at < utcnow() - KEEP
            )
        )
        s.add(
            ImportJob(
                id=job_id,
                owner=login,
                target=upload.target,
                filename=upload.filename[:255],
                size=upload.size,
            )
        )
    worker = threading.Thread(
        target=run, args=(db, job_id, login, upload), name=f"import-{job_id}", daemon=True
    )
    worker.start()
    return job_id


def run(db: Database, job_id: str, login: str, upload: Upload) -> None:
    """Import the spooled file, recording progress per batch and the outcome at the end."""
    try:
        with upload.path.open("rb") as raw:
            lines = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace")

            def progress(done: int, summary: importexport.ImportSummary) -> None:
                _record(db, job_id, summary, entries=done, position=raw.tell())

            summary = importexport.import_lines(
                db, login, upload.kind, lines, "/" + upload.target + "/", progress
            )
        _record(db, job_id, summary, status="done", position=upload.size)
    except (StoreError, ical.ParseError) as exc:
        _fail(db, job_id, exc.reason)
    except Exception:  # noqa: BLE001 - the job must end with a status, whatever happened
        log.exception("import job %s failed", job_id)
        _fail(db, job_id, INTERNAL)
    finally:
        upload.path.unlink(missing_ok=True)


def _record(
    db: Database,
    job_id: str,
    summary: importexport.ImportSummary,
    status: str = "running",
    **progress: int,
) -> None:
    with db.transaction(write=True) as s:
        job = s.get(ImportJob, job_id)
        if job is None:
            return
        job.added, job.updated = summary.added, summary.updated
        job.skipped_count = len(summary.skipped)
        job.skipped = json.dumps([reason.as_json() for reason in summary.skipped[:MAX_REASONS]])
        for name, value in progress.items():
            setattr(job, name, value)
        job.status, job.heartbeat_at = status, utcnow()
        if status != "running":
            job.finished_at = job.heartbeat_at


def _fail(db: Database, job_id: str, reason: Message) -> None:
    with db.transaction(write=True) as s:
        job = s.get(ImportJob, job_id)
        if job is not None:
            job.status, job.finished_at = "failed", utcnow()
            job.error = json.dumps(reason.as_json())


def get(
    s: Session, login: str, job_id: str, language: str = SOURCE, now: datetime | None = None
) -> dict:
    """The caller's job as JSON, its reasons and error said in ``language``; someone
    else's, or none, is not found."""
    job = s.get(ImportJob, job_id)
    if job is None or job.owner.lower() != login.lower():
        raise StoreError(N_("no import job {id!r}"), Kind.NOT_FOUND, values={"id": job_id})
    return _json(job, now or utcnow(), language)


def _kept(text: str) -> Message:
    """The Message a job's ``error`` keeps as JSON; a plain text (a job of before)."""
    try:
        return Message.kept(json.loads(text) if text.startswith("{") else text)
    except ValueError:
        return Message(text)


def _json(job: ImportJob, now: datetime, language: str) -> dict:
    status, error = job.status, _kept(job.error).said(language) if job.error else ""
    if status == "running" and now - as_utc(job.heartbeat_at) > STALE:
        status, error = "failed", CUT_OFF.said(language)
    return {
        "id": job.id,
        "target": f"/{job.target}/",
        "filename": job.filename,
        "status": status,
        "size": job.size,
        "position": job.position,
        "entries": job.entries,
        "added": job.added,
        "updated": job.updated,
        "skipped_count": job.skipped_count,
        "skipped": [
            {"reason": Message.kept(reason).said(language)} for reason in json.loads(job.skipped)
        ],
        "error": error,
        "created_at": as_utc(job.created_at).isoformat(),
        "finished_at": as_utc(job.finished_at).isoformat() if job.finished_at else None,
    }


def running(s: Session, login: str) -> bool:
    """Whether the user has a job still moving (one at a time per user)."""
    now = utcnow()
    jobs = s.scalars(
        select(ImportJob).where(ImportJob.owner == login, ImportJob.status == "running")
    )
    return any(now - as_utc(job.heartbeat_at) <= STALE for job in jobs)
