"""What every API module shares: context, authentication, the refusal handler, endpoints.

Every route is declared with ``endpoint(...)``, the only way: the handler is a
plain sync function of a ``Call`` (run in the thread pool, since password
checks are deliberately slow) that reads and writes through ``call.read()`` and
``call.write(...)`` and refuses by raising ``calcard.core.errors.Refusal``. The
declaration carries what the OpenAPI document says about it (summary from the
handler's docstring, path parameters, the request body's JSON schema), so the
document cannot drift from the routes.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from calcard import accounts
from calcard.accounts import logins, sessions
from calcard.core import catalogs
from calcard.core.catalogs import N_, Message, OneOf
from calcard.core.config import Settings
from calcard.core.db import (
    RETRY_AFTER_SECONDS,
    UNAVAILABLE,
    Database,
    describe,
    unavailable,
)
from calcard.core.errors import Kind, Refusal
from calcard.core.models import as_id
from calcard.web.api import errors

OTP_HEADER = "x-calcard-otp"
logger = logging.getLogger("calcard.api")


@dataclass(frozen=True)
class ApiContext:
    db: Database
    settings: Settings


SESSION_COOKIE = "calcard_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        login, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:  # binascii.Error, UnicodeDecodeError, non-ASCII (UnicodeEncodeError)
        return None
    return login, password


PASSWORD = "password"  # HTTP Basic with the account password (and a code under 2FA)
APP_PASSWORD = "app-password"  # HTTP Basic with an app password: a device
SESSION = "session"  # the web session cookie (opened with the account password)
NOT_WITH_APP_PASSWORD = N_(
    "an app password is for a device's calendar and contacts; "
    "log in with your account password to do this"
)


@dataclass(frozen=True)
class Caller:
    """Who calls and how they proved it (``kind``: PASSWORD, APP_PASSWORD or SESSION;
    ``session_token`` is the session cookie's value, for "end my other sessions")."""

    login: str
    kind: str
    session_token: str = ""

    @property
    def app_password(self) -> bool:
        return self.kind == APP_PASSWORD


def authenticate(
    ctx: ApiContext, request: Request, change: bool | None = None, devices: bool = True
) -> Caller:
    """The caller from HTTP Basic credentials (as for DAV) or the web session, or 401.

    Basic: throttling and the 2FA rule apply as for DAV; a 2FA user may also
    send the account password with a current code in the X-Calcard-OTP header.
    Session: it never authorizes a change alone: unless the request is safe (or
    ``change`` is False) it must carry the session's CSRF token in
    ``X-CSRF-Token``, which a cross-site page cannot read. Pass ``change=True``
    for a GET that changes something. ``devices=False`` refuses (403) an app
    password: app passwords are for devices and may not manage the account
    (app passwords, password, 2FA, e-mail, organizations), so a stolen one
    cannot outlive its revocation. Call from a sync endpoint: verification
    is deliberately slow (argon2) and runs in Starlette's thread pool there.
    """
    given = _basic_credentials(request)
    if given is not None:
        verdict = logins.attempt(
            ctx.db,
            given[0],
            given[1],
            request.client.host if request.client else None,
            otp=request.headers.get(OTP_HEADER, ""),
            base_delay=ctx.settings.auth_delay,
        )
        if not verdict.ok:
            time.sleep(verdict.delay)
            raise Refusal(verdict.reason, Kind.UNAUTHORIZED)
        caller = Caller(verdict.login or "", APP_PASSWORD if verdict.app_password else PASSWORD)
        _known_reader(request, caller.login)
        if caller.kind == APP_PASSWORD and not devices:
            raise Refusal(NOT_WITH_APP_PASSWORD, Kind.FORBIDDEN)
        return caller
    if request.cookies.get(SESSION_COOKIE):
        change = request.method not in SAFE_METHODS if change is None else change
        token = request.cookies[SESSION_COOKIE]
        return Caller(_session_login(ctx, request, change), SESSION, token)
    raise Refusal(N_("authentication required"), Kind.UNAUTHORIZED)


def authenticated_login(
    ctx: ApiContext, request: Request, change: bool | None = None, devices: bool = True
) -> str:
    """The caller's login (see ``authenticate``), for routes that need no more."""
    return authenticate(ctx, request, change, devices).login


def _session_login(ctx: ApiContext, request: Request, change: bool) -> str:
    with ctx.db.transaction() as s:
        row = sessions.find(s, request.cookies[SESSION_COOKIE])
        if row is None:
            raise Refusal(N_("your session has ended; log in again"), Kind.UNAUTHORIZED)
        _known_reader(request, row.owner)
        if change and not sessions.csrf_matches(row, request.headers.get(CSRF_HEADER, "")):
            raise Refusal(N_("missing or wrong CSRF token; reload the page"), Kind.FORBIDDEN)
        return row.owner


READER = "calcard_reader"  # request.state: who authenticated, for a refusal's language


def _known_reader(request: Request, login: str) -> None:
    """Remember who proved who they are: a refusal from here on is said in their language
    (``reader_language``), with no query until one is answered."""
    setattr(request.state, READER, login)


def reader_language(db: Database, request: Request) -> str:
    """The language a refusal is answered in (CONTRACT.md "Languages"): the caller's once
    known (their setting, else ``Accept-Language``, else their organization's default;
    a live session cookie names them too, for a refusal before authentication), else
    ``Accept-Language``, else English. Asked only when a refusal is answered, so no
    request that succeeds pays for it; a vanished account or an unavailable database
    gives the header's language, never a 500 for a 4xx."""
    accept = request.headers.get("accept-language")
    login = getattr(request.state, READER, "")
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if not login and not cookie:  # nobody to look up: no connection for a cheap refusal
        return catalogs.choose(None, accept)
    try:
        with db.transaction() as s:
            if not login:
                found = sessions.find(s, cookie)
                login = found.owner if found else ""
            if login:
                return accounts.language(s, login, accept)
    except (ValueError, DBAPIError, PoolTimeout):  # a Refusal, unreadable settings, outage
        pass
    return catalogs.choose(None, accept)


async def answer_refusal(db: Database, request: Request, refusal: Refusal) -> JSONResponse:
    """``errors.answer`` in the reader's language; the web UI (a session cookie or a
    CSRF header) gets no Basic challenge."""
    browser = SESSION_COOKIE in request.cookies or CSRF_HEADER in request.headers
    language = await run_in_threadpool(reader_language, db, request)
    return errors.answer(refusal, challenge=not browser, language=language)


# Starlette's own refusals (its router's 405 for a method a path does not take, its
# static files' 404), said in the reader's language instead of its English status phrase.
HTTP_REASONS = {
    404: N_("not found"),
    405: N_("the method {method} is not allowed here"),
}


async def _http_error(db: Database, request: Request, exc: HTTPException) -> JSONResponse:
    """Starlette's HTTPException as JSON, in the reader's language (``reader_language``:
    no connection unless someone is named) when it is one of HTTP_REASONS, with its
    headers (a 405's Allow, RFC 9110 §15.5.6)."""
    template = HTTP_REASONS.get(exc.status_code)
    if template is None:
        text = exc.detail
    else:
        language = await run_in_threadpool(reader_language, db, request)
        text = catalogs.say(language, template, method=request.method)
    return JSONResponse({"error": text}, status_code=exc.status_code, headers=exc.headers)


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    """An unavailable database is a 503 (``db.unavailable``); any other error stays a bug.
    Its text is in the language of ``Accept-Language``: the caller's setting is in the
    database that is not there."""
    if not unavailable(error):
        raise error
    logger.warning(
        "database unavailable during %s %s: %s", request.method, request.url.path, describe(error)
    )
    language = catalogs.choose(None, request.headers.get("accept-language"))
    return JSONResponse(
        {"error": UNAVAILABLE.said(language)},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def error_handlers(ctx: ApiContext) -> dict[Any, Callable[[Request, Exception], Awaitable]]:
    """The app's exception handlers: any refusal, the service layer's or a route's, is
    answered by ``answer_refusal``; Starlette's own by ``_http_error``; an unavailable
    database by a 503."""

    async def refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Refusal)
        return await answer_refusal(ctx.db, request, exc)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return await _http_error(ctx.db, request, exc)

    return {
        Refusal: refused,
        HTTPException: http_error,
        DBAPIError: _database_error,
        PoolTimeout: _database_error,
    }


def query_param(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise Refusal(N_("missing query parameter {name!r}"), values={"name": name})
    return value


def query_number(request: Request, name: str, default: int = 0) -> int:
    """A whole-number query parameter (an id or counter), ``default`` when absent, or 400."""
    value = request.query_params.get(name)
    if not value:
        return default
    number = as_id(value)
    if number is None:
        raise Refusal(
            N_("query parameter {name!r} must be a whole number, not {value!r}"),
            values={"name": name, "value": value},
        )
    return number


@dataclass
class Call:
    """One API request as a handler sees it."""

    ctx: ApiContext
    request: Request
    login: str  # "" for endpoints without authentication
    params: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)
    caller: Caller = Caller("", "")  # how the login authenticated; kind "" without
    upload: Any = None  # what the route's ``upload`` reader made of a raw body

    def field(self, name: str, kind: type = str) -> Any:
        """A required body field of the given type, or 400."""
        value = self.body.get(name)
        if not isinstance(value, kind) or (kind is str and not value):
            raise Refusal(
                N_("body field {name!r} must be a non-empty {type}"),
                values={"name": name, "type": kind.__name__},
            )
        return value

    def optional(self, name: str, kind: type, default: Any = None) -> Any:
        value = self.body.get(name, default)
        if value is not None and not isinstance(value, kind):
            raise Refusal(
                N_("body field {name!r} must be a {type}"),
                values={"name": name, "type": kind.__name__},
            )
        return value

    def query(self, name: str) -> str:
        """A required query parameter, or 400."""
        return query_param(self.request, name)

    def path_id(self, missing: str, name: str = "id") -> int:
        """A row id from the path, or 404 saying ``missing`` (a template with ``{id!r}``, the
        whole sentence so it translates; models.as_id says why not int())."""
        number = as_id(self.params[name])
        if number is None:
            raise Refusal(missing, Kind.NOT_FOUND, values={"id": self.params[name]})
        return number

    def language(self, s: Session) -> str:
        """The caller's language for what an answer says besides a refusal (an import's
        report): their setting, else ``Accept-Language``, else their organization's."""
        return accounts.language(s, self.login, self.request.headers.get("accept-language"))

    def read(self):
        """A read transaction."""
        return self.ctx.db.transaction()

    def write(self, *owners: str | None):
        """A write transaction holding the locks of the caller and of ``owners``.

        Writes are serialized per owner (core.db.lock_owners), as DAV and the CLI
        do: a login for a person's own data (their calendars, settings, app
        passwords), ``org_key(name)`` for an organization's members, roles,
        workgroups, rooms and branding. So two people's writes never queue on
        each other, while two writes to the same data (the same calendar, the same
        organization's last legal representative) still run one after the other.
        Empty owners (no login on a signed link's route, no owner found) lock nothing.
        """
        keys = [key for key in (self.login, *owners) if key]
        return self.ctx.db.transaction(write=True, owners=keys)


Handler = Callable[[Call], Any]
Reader = Callable[[Request], Awaitable[Any]]


MAX_JSON_DEPTH = 32  # far deeper than any real body
_SURROGATE = re.compile("[\ud800-\udfff]")


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not a JSON number (RFC 8259 §6)")


def _check_json(value: Any) -> None:
    """Refuse what parses but no endpoint can store or answer with: nesting deeper than
    MAX_JSON_DEPTH, and strings with NUL (PostgreSQL text refuses it) or a lone surrogate
    (not Unicode text, RFC 8259 §8.2). Iterative, so depth itself cannot overflow."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise Refusal(
                N_("the body nests deeper than {limit} levels"),
                values={"limit": MAX_JSON_DEPTH},
            )
        if isinstance(node, dict):
            pending.extend((k, depth) for k in node)
            pending.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            pending.extend((v, depth + 1) for v in node)
        elif isinstance(node, str) and ("\x00" in node or _SURROGATE.search(node)):
            raise Refusal(N_("the body has a NUL character or a lone surrogate in a string"))


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw, parse_constant=_not_json)
    except RecursionError as exc:  # nesting deep enough to exhaust the C parser's stack
        raise Refusal(
            N_("the body nests deeper than {limit} levels"),
            values={"limit": MAX_JSON_DEPTH},
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refusal(N_("the body is not JSON: {error}"), values={"error": str(exc)}) from exc
    if not isinstance(body, dict):
        raise Refusal(N_("the body must be a JSON object"))
    _check_json(body)
    return body


def _open_call(
    ctx: ApiContext, request: Request, auth: bool, devices: bool, body: dict[str, Any]
) -> Call:
    caller = authenticate(ctx, request, devices=devices) if auth else Caller("", "")
    return Call(ctx, request, caller.login, dict(request.path_params), body, caller)


def endpoint(
    ctx: ApiContext,
    method: str,
    path: str,
    handler: Handler,
    body: dict[str, Any] | None = None,
    auth: bool = True,
    status: int = 200,
    devices: bool = True,
    upload: Reader | None = None,
    types: tuple[str, ...] = (),
    responses: dict[str, str] | None = None,
) -> Route:
    """The one way an API route is declared: a sync handler of a ``Call`` returning
    JSON-able data (answered with ``status``) or a Response, documented for OpenAPI.

    ``body``: the JSON body's schema; the body is parsed (400 if it is no JSON
    object) before authentication. ``devices=False``: not with an app password
    (403), for what manages the account itself (see ``authenticate``). ``upload``
    reads a raw body instead (a file, a form) *after* authentication, so nobody
    unknown makes us read one; ``types`` are the media types it takes (``guard``;
    "image/*" matches a family, "" a body without a Content-Type). ``responses``
    documents answers besides success and refusals (status: description). Handlers run in
    the thread pool: password checks are deliberately slow.
    """

    async def run(request: Request) -> Response:
        data = await _json_body(request) if body is not None else {}
        call = await run_in_threadpool(_open_call, ctx, request, auth, devices, data)
        if upload is not None:
            call.upload = await upload(request)
        result = await run_in_threadpool(handler, call)
        if isinstance(result, Response):
            return result
        return JSONResponse(result, status_code=status)

    route = Route(path, run, methods=[method])
    if types:
        route.body_types = types  # type: ignore[attr-defined]  # read by guard
    route.openapi = {  # type: ignore[attr-defined]  # read by api.openapi
        "method": method.lower(),
        "summary": (handler.__doc__ or path).strip().splitlines()[0],
        "description": (handler.__doc__ or "").strip(),
        "body": body,
        "auth": auth,
        "devices": devices,
        "status": status,
        "params": re.findall(r"{(\w+)(?::\w+)?}", path),
        "responses": responses or {},
    }
    return route


async def form_fields(request: Request) -> dict[str, str]:
    """A posted form's fields as text (the pages behind links in mails post one)."""
    return {k: str(v) for k, v in (await request.form()).items()}


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"  # the mail links\' pages post a plain form
DEFAULT_PORTS = {"http": 80, "https": 443}


def guard(route: Route, ctx: ApiContext) -> Route:
    """Put ``request_refusal`` in front of a route (every /api route passes through it)."""
    inner: ASGIApp = route.app
    types: tuple[str, ...] = getattr(route, "body_types", (JSON,))

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        refusal = request_refusal(request, ctx.settings, types)
        if refusal is not None:
            await (await answer_refusal(ctx.db, request, refusal))(scope, receive, send)
            return
        await inner(scope, receive, send)

    route.app = app
    return route


def request_refusal(
    request: Request, settings: Settings, body_types: tuple[str, ...] = (JSON,)
) -> Refusal | None:
    """Why a changing request is refused before anything reads it, or None.

    However the caller authenticates (Basic credentials are sent by browsers
    too), a change must not come from another site: a foreign ``Origin`` or
    ``Sec-Fetch-Site: cross-site`` (Fetch Metadata) is refused with 403. A body
    must be JSON (415 otherwise) unless the route declared its raw types: the
    content types a cross-site form can send without a CORS preflight
    (text/plain, form encodings) never reach a JSON endpoint.
    """
    if request.method in SAFE_METHODS:
        return None
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        return Refusal(N_("cross-site requests may not change anything"), Kind.FORBIDDEN)
    origin = request.headers.get("origin")
    if origin is not None and not _own_origin(origin, request, settings):
        return Refusal(
            N_("requests from {origin} may not change anything here"),
            Kind.FORBIDDEN,
            values={"origin": origin},
        )
    if _has_body(request) and not _allowed_type(_media_type(request), body_types):
        wanted = OneOf(tuple(t or Message(N_("no Content-Type")) for t in body_types))
        return Refusal(N_("send the body as {wanted}"), Kind.UNSUPPORTED, values={"wanted": wanted})
    return None


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return "transfer-encoding" in request.headers or (length is not None and length != "0")


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _allowed_type(media_type: str, body_types: tuple[str, ...]) -> bool:
    for allowed in body_types:
        if allowed.endswith("/*") and media_type.startswith(allowed[:-1]):
            return True
        if media_type == allowed:
            return True
    return False


def _origin_parts(scheme: str, netloc: str) -> tuple[str, int | None] | None:
    """(host, port) of an origin or Host header, the port defaulting by scheme; None if bad."""
    try:
        parts = urlsplit(f"//{netloc}")
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    return (parts.hostname, port) if parts.hostname else None


def public_url(request: Request, settings: Settings) -> str:
    """The server's URL for links shown in pages: ``CALCARD_BASE_URL`` when set, else the
    scheme and host the browser reached (the ``Host`` header; the scheme is uvicorn's,
    which takes ``X-Forwarded-Proto`` only from ``FORWARDED_ALLOW_IPS``)."""
    if settings.base_url:
        return settings.base_url.rstrip("/")
    return f"{request.url.scheme}://{request.headers.get('host') or request.url.netloc}"


def _own_origin(origin: str, request: Request, settings: Settings) -> bool:
    """Whether ``origin`` (RFC 6454) is this server's: the public URL's or the Host reached.

    Against the Host header the scheme is the origin's own, so a TLS-terminating
    proxy in front (plain HTTP behind it) does not look foreign.
    """
    given = urlsplit(origin)
    if given.scheme not in DEFAULT_PORTS:
        return False  # "null" (sandboxed pages, privacy-sensitive contexts) and the like
    mine = _origin_parts(given.scheme, given.netloc)
    base = urlsplit(settings.base_url)
    if mine is None:
        return False
    if base.scheme == given.scheme and _origin_parts(base.scheme, base.netloc) == mine:
        return True
    return _origin_parts(given.scheme, request.headers.get("host", "")) == mine
