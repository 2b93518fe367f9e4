"""Log in and out of the web UI: POST/GET/DELETE /api/session.

The login takes JSON only: a cross-site HTML form cannot send
``application/json`` without a CORS preflight we never grant, so nobody can
log a victim's browser into an attacker's account (login CSRF).
"""

from __future__ import annotations

import asyncio

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from calcard import accounts
from calcard.accounts import logins, sessions
from calcard.core.errors import Kind, Refusal
from calcard.web.api.common import (
    SESSION_COOKIE,
    ApiContext,
    authenticated_login,
    json_body,
)

WRONG_CREDENTIALS = "wrong login or password"


def _user_json(ctx: ApiContext, login: str, csrf: str) -> dict:
    with ctx.db.transaction() as s:
        user = accounts.get_user(s, login)
        return {
            "login": user.login,
            "name": user.name,
            "email": user.email,
            "timezone": user.timezone,
            "csrf": csrf,
        }


def _open(
    ctx: ApiContext, login: str, password: str, otp: str, address: str | None
) -> tuple[sessions.Opened | None, logins.Verdict]:
    """Check the login like DAV does (throttling), as a two-step web login when 2FA is on."""
    verdict = logins.attempt(
        ctx.db, login, password, address, otp=otp, base_delay=ctx.settings.auth_delay, web=True
    )
    if not verdict.ok:
        return None, verdict
    with ctx.db.transaction(write=True, owners=[verdict.login]) as s:  # type: ignore[list-item]
        user = accounts.get_user(s, verdict.login)  # type: ignore[arg-type]
        return sessions.open_session(s, user), verdict


def _current(ctx: ApiContext, request: Request) -> tuple[str, str]:
    """(login, csrf) of the request's web session, or 401."""
    login = authenticated_login(ctx, request)
    with ctx.db.transaction() as s:
        row = sessions.find(s, request.cookies.get(SESSION_COOKIE, ""))
    if row is None:
        raise Refusal("no web session", Kind.UNAUTHORIZED)
    return login, row.csrf


def routes(ctx: ApiContext) -> list[Route]:
    async def login(request: Request) -> JSONResponse:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise Refusal("send the login as application/json", Kind.UNSUPPORTED)
        body = await json_body(request)
        name, password = str(body.get("login", "")), str(body.get("password", ""))
        otp = str(body.get("otp", ""))
        address = request.client.host if request.client else None
        opened, verdict = await run_in_threadpool(_open, ctx, name, password, otp, address)
        if opened is None:
            await asyncio.sleep(max(ctx.settings.auth_delay, verdict.delay))
            # No Basic challenge: the browser would answer it with a login box of its own.
            if verdict.reason in (logins.NEEDS_CODE, logins.WRONG_CODE):
                answer = {"error": verdict.reason, "totp_required": True}
            else:
                answer = {"error": WRONG_CREDENTIALS}
            return JSONResponse(answer, status_code=401)
        user = await run_in_threadpool(_user_json, ctx, accounts.normalize_login(name), opened.csrf)
        response = JSONResponse(user)
        response.set_cookie(
            SESSION_COOKIE,
            opened.token,
            max_age=int(sessions.LIFETIME.total_seconds()),
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    def current(request: Request) -> JSONResponse:
        login, csrf = _current(ctx, request)
        return JSONResponse(_user_json(ctx, login, csrf))

    def logout(request: Request) -> JSONResponse:
        _current(ctx, request)  # a DELETE: checks the CSRF token too
        with ctx.db.transaction(write=True) as s:
            sessions.close(s, request.cookies[SESSION_COOKIE])
        response = JSONResponse({"logged_out": True})
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
        return response

    async def dispatch(request: Request) -> JSONResponse:
        if request.method == "POST":
            return await login(request)
        handler = current if request.method == "GET" else logout
        return await run_in_threadpool(handler, request)

    return [Route("/api/session", dispatch, methods=["GET", "POST", "DELETE"])]
