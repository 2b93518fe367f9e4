"""What every API module shares: context, authentication, JSON errors."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from calcard import accounts
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


def authenticated_login(ctx: ApiContext, request: Request) -> str:
    """The caller's login from HTTP Basic credentials (as for DAV), or 401.

    Call from a sync endpoint: verification is deliberately slow (argon2) and
    runs in Starlette's thread pool there.
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
    raise ApiError(401, "authentication required")


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": 'Basic realm="calcard"'} if exc.status == 401 else None
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
