"""What every API module shares: context, authentication, JSON errors."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from calcard import accounts, sessions
from calcard.config import Settings
from calcard.db import Database


@dataclass(frozen=True)
class ApiContext:
    db: Database
    settings: Settings


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


SESSION_COOKIE = "calcard_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def authenticated_login(ctx: ApiContext, request: Request, change: bool | None = None) -> str:
    """The caller's login from HTTP Basic credentials (as for DAV) or the web session, or 401.

    A session alone never authorizes a change: unless the request is safe (or
    ``change`` is False) it must carry the session's CSRF token in
    ``X-CSRF-Token``, which a cross-site page cannot read. Pass ``change=True``
    for a GET that changes something. Call from a sync endpoint: verification
    is deliberately slow (argon2) and runs in Starlette's thread pool there.
    """
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            login, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            login, password = "", ""
        with ctx.db.transaction() as s:
            user = accounts.authenticate(s, login, password)
        if user:
            return user
    elif request.cookies.get(SESSION_COOKIE):
        return _session_login(
            ctx, request, request.method not in SAFE_METHODS if change is None else change
        )
    raise ApiError(401, "authentication required")


def _session_login(ctx: ApiContext, request: Request, change: bool) -> str:
    with ctx.db.transaction() as s:
        row = sessions.find(s, request.cookies[SESSION_COOKIE])
        if row is None:
            raise ApiError(401, "your session has ended; log in again")
        if change and not sessions.csrf_matches(row, request.headers.get(CSRF_HEADER, "")):
            raise ApiError(403, "missing or wrong CSRF token; reload the page")
        return row.owner


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    # The web UI gets no Basic challenge, or the browser would pop up its own login box.
    browser = SESSION_COOKIE in request.cookies or CSRF_HEADER in request.headers
    challenge = exc.status == 401 and not browser
    headers = {"WWW-Authenticate": 'Basic realm="calcard"'} if challenge else None
    return JSONResponse({"error": exc.message}, status_code=exc.status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code)


api_error_handlers = {ApiError: _api_error, HTTPException: _http_error}


def query_param(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise ApiError(400, f"missing query parameter {name!r}")
    return value


async def json_body(request: Request) -> dict:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError(400, f"invalid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "expected a JSON object")
    return body
