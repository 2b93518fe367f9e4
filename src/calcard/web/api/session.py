"""Log in and out of the web UI: POST/GET/DELETE /api/session.

The login takes JSON only: a cross-site HTML form cannot send
``application/json`` without a CORS preflight we never grant, so nobody can
log a victim's browser into an attacker's account (login CSRF).
"""

from __future__ import annotations

import time

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from calcard import accounts
from calcard.accounts import logins, sessions
from calcard.core import catalogs
from calcard.core.catalogs import N_
from calcard.core.errors import Kind, Refusal
from calcard.web.api import errors
from calcard.web.api.common import SESSION_COOKIE, ApiContext, Call, endpoint

WRONG_CREDENTIALS = N_("wrong login or password")


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
    # verdict.ok: the login is set
    with ctx.db.transaction(write=True, owners=[verdict.login]) as s:  # type: ignore[list-item]
        user = accounts.get_user(s, verdict.login)  # type: ignore[arg-type]
        return sessions.open_session(s, user), verdict


def _csrf(call: Call) -> str:
    """The CSRF token of the request's web session, or 401 (Basic credentials open none)."""
    with call.read() as s:
        row = sessions.find(s, call.request.cookies.get(SESSION_COOKIE, ""))
    if row is None:
        raise Refusal(N_("no web session"), Kind.UNAUTHORIZED)
    return row.csrf


def login(call: Call) -> Response:
    """Log in to the web UI (login, password, and a code when 2FA is on): the session
    cookie and the CSRF token that every change must carry."""
    request = call.request
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise Refusal(N_("send the login as application/json"), Kind.UNSUPPORTED)
    name, password = str(call.body.get("login", "")), str(call.body.get("password", ""))
    otp = str(call.body.get("otp", ""))
    address = request.client.host if request.client else None
    opened, verdict = _open(call.ctx, name, password, otp, address)
    if opened is None:
        time.sleep(max(call.ctx.settings.auth_delay, verdict.delay))
        # No Basic challenge: the browser would answer it with a login box of its own.
        if verdict.reason in (logins.NEEDS_CODE, logins.WRONG_CODE):
            refused = Refusal(verdict.reason, Kind.UNAUTHORIZED, {"totp_required": True})
        else:
            refused = Refusal(WRONG_CREDENTIALS, Kind.UNAUTHORIZED)
        browser = call.request.headers.get("accept-language")
        return errors.answer(refused, language=catalogs.choose(None, browser))
    response = JSONResponse(_user_json(call.ctx, accounts.normalize_login(name), opened.csrf))
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


def current(call: Call) -> dict:
    """The web session's user and its CSRF token."""
    return _user_json(call.ctx, call.login, _csrf(call))


def logout(call: Call) -> JSONResponse:
    """End the web session (a DELETE: it needs the CSRF token too)."""
    _csrf(call)
    with call.write() as s:
        sessions.close(s, call.request.cookies[SESSION_COOKIE])
    response = JSONResponse({"logged_out": True})
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


def routes(ctx: ApiContext) -> list[Route]:
    credentials = {
        "type": "object",
        "properties": {
            "login": {"type": "string"},
            "password": {"type": "string"},
            "otp": {"type": "string", "description": "the current code, when 2FA is on"},
        },
    }
    return [
        endpoint(ctx, "POST", "/api/session", login, body=credentials, auth=False),
        endpoint(ctx, "GET", "/api/session", current),
        endpoint(ctx, "DELETE", "/api/session", logout),
    ]
