"""The web calendar: pages and static files under /web/, FullCalendar from node_modules.

The UI is a few static HTML pages (calendar, login, contacts, settings, trash) and plain
ES modules that talk to the JSON API with the session cookie, so there is no
build step and no server-side rendering. static/ holds pages/ (one entry module per
page), components/, lib/, css/ and icons/; every file in it is part of the app shell
the service worker (sw.js, next to the pages) caches. FullCalendar, Luxon and FullCalendar's Luxon
plugin (which lets the calendar show the account's time zone) are installed by npm
(``package.json`` at the project root) and served from ``node_modules`` under
/web/vendor/, never copied into the repository; a built wheel carries a copy
(setup.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from calcard import accounts
from calcard.accounts import sessions
from calcard.core import catalogs
from calcard.core.catalogs import N_
from calcard.web.api.common import SESSION_COOKIE, ApiContext

HERE = Path(__file__).parent
PREFIX = "/web/"
SECURITY_HEADERS = {
    # FullCalendar injects its CSS (and its icon font as a data: URL) at run time.
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# The npm packages' browser builds (vendor.json, which setup.py copies into the wheel):
# name under /web/vendor/ -> directory in node_modules, and the scripts app.html loads.
_PACKAGES = json.loads((HERE / "vendor.json").read_text())["packages"]
VENDOR = {p["name"]: p["directory"] for p in _PACKAGES}
VENDOR_SCRIPTS = tuple(f"{p['name']}/{script}" for p in _PACKAGES for script in p["scripts"])
BUNDLED = HERE / "vendor"  # where a built wheel carries them, laid out as in node_modules


def find_node_modules(configured: str = "") -> Path | None:
    """node_modules with every vendor script: from the setting, the copy an installed
    wheel carries, or next to the source tree."""
    candidates = [Path(configured)] if configured else []
    candidates += [BUNDLED, *(parent / "node_modules" for parent in HERE.parents)]
    for base in candidates:
        if all(_vendor_file(base, script).is_file() for script in VENDOR_SCRIPTS):
            return base
    return None


def _vendor_file(node_modules: Path, script: str) -> Path:
    name, _, rest = script.partition("/")
    return node_modules / VENDOR[name] / rest


class BrowserRedirect:
    """Send browsers that open the server root to the web UI; DAV clients pass through.

    A browser asks for ``text/html`` with a plain GET; DAV clients use PROPFIND
    and friends, and their GETs do not ask for HTML.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/"
            and scope["method"] in ("GET", "HEAD")
            and b"text/html" in dict(scope["headers"]).get(b"accept", b"")
        ):
            await RedirectResponse(PREFIX, status_code=302)(scope, receive, send)
            return
        await self.app(scope, receive, send)


MANIFEST = json.loads((HERE / "manifest.webmanifest").read_text())
MANIFEST_DESCRIPTION = N_("Calendar and contacts of your organization")


def _page(name: str, language: str) -> Response:
    """The page with ``<html lang>`` saying the reader's language, so i18n.js loads that
    catalog and the browser hyphenates and reads it aloud in that language, and its
    manifest link naming the manifest of that language."""
    html = (
        (HERE / name)
        .read_text()
        .replace('<html lang="en">', f'<html lang="{language}">', 1)
        .replace("/web/manifest/en.webmanifest", f"/web/manifest/{language}.webmanifest", 1)
    )
    return Response(html, media_type="text/html", headers=SECURITY_HEADERS)


def manifest(language: str) -> str:
    """The web app manifest in ``language``: what an installed app's launcher and the
    browser's install prompt show (W3C Web Application Manifest, the ``lang`` and
    ``description`` members)."""
    found = {**MANIFEST, "lang": language}
    found["description"] = catalogs.say(language, MANIFEST_DESCRIPTION)
    return json.dumps(found, ensure_ascii=False)


def _in_language(request: Request, render: Callable[[str], str], media_type: str) -> Response:
    """A public file of the ``{language}`` in its path: 404 for a language calcard has no
    catalogs for; revalidated on each use, so a new translation is seen at once."""
    language = request.path_params["language"]
    if language not in catalogs.SUPPORTED:
        return PlainTextResponse("no such language", status_code=404)
    return Response(
        render(language),
        media_type=media_type,
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


def service_worker(node_modules: Path | None) -> str:
    """sw.js with the app shell's files and a version that changes with any of them.

    The shell is every file under static/ (pages/, components/, lib/, css/ and icons/),
    every language's web app manifest and catalog (/web/i18n/<lang>.json, some 25 KB
    each), so a page whose catalog cannot be fetched (offline, a failing network) is
    still in its reader's language. A new version makes browsers install the new worker, which
    fills a fresh cache and drops the old one, so an upgrade never mixes old and new
    files; a changed translation is a new version too.
    """
    static = HERE / "static"
    files = {p.relative_to(static).as_posix(): p for p in static.rglob("*") if p.is_file()}
    shell = [f"{PREFIX}static/{name}" for name in sorted(files)]
    stamp: list[object] = [
        (n, files[n].stat().st_size, files[n].stat().st_mtime_ns) for n in sorted(files)
    ]
    vendor = [(s, _vendor_file(node_modules, s)) for s in VENDOR_SCRIPTS] if node_modules else []
    for script, bundle in vendor:
        shell.append(f"{PREFIX}vendor/{script}")
        stamp.append((str(bundle), bundle.stat().st_size, bundle.stat().st_mtime_ns))
    for language in catalogs.SUPPORTED:
        shell.append(f"{PREFIX}manifest/{language}.webmanifest")  # what each page links to
        stamp.append(manifest(language))  # its translated description too
        if language != catalogs.SOURCE:  # English is the source: i18n.js fetches nothing
            shell.append(f"{PREFIX}i18n/{language}.json")
            stamp.append((language, sorted(catalogs.web_catalog(language).items())))
    version = hashlib.sha256(repr(stamp).encode()).hexdigest()[:16]
    source = (HERE / "sw.js").read_text()
    return source.replace('"__VERSION__"', json.dumps(version)).replace(
        "__SHELL__", json.dumps(shell)
    )


def routes(ctx: ApiContext) -> list[BaseRoute]:
    node_modules = find_node_modules(ctx.settings.node_modules)
    worker = service_worker(node_modules)

    def reader_language(request: Request) -> str | None:
        """The signed-in reader's language (CONTRACT.md "Languages"), None without a session."""
        with ctx.db.transaction() as s:
            found = sessions.find(s, request.cookies.get(SESSION_COOKIE, ""))
            if found is None:
                return None
            return accounts.language(s, found.owner, request.headers.get("accept-language"))

    async def signed_in_page(request: Request, name: str) -> Response:
        language = await run_in_threadpool(reader_language, request)
        if language is None:
            return RedirectResponse(PREFIX + "login", status_code=303)
        return _page(name, language)

    async def app_page(request: Request) -> Response:
        if node_modules is None:
            return PlainTextResponse(
                "The web calendar needs its npm packages: run `npm ci` in the calcard "
                "source tree (scripts/serve does) or set CALCARD_NODE_MODULES.",
                status_code=503,
            )
        return await signed_in_page(request, "app.html")

    async def login_page(request: Request) -> Response:
        return _page("login.html", catalogs.choose(None, request.headers.get("accept-language")))

    async def catalog(request: Request) -> Response:
        """The web calendar's texts in one language (English source -> translation);
        i18n.js loads it for the page's ``<html lang>``. English is the empty catalog."""
        return _in_language(
            request,
            lambda language: json.dumps(catalogs.web_catalog(language), ensure_ascii=False),
            "application/json",
        )

    async def manifest_file(request: Request) -> Response:
        """The manifest a page links to: one per language, public like the app shell."""
        return _in_language(request, manifest, "application/manifest+json")

    def logged_in_page(name: str):
        """A page of its own (contacts, settings, trash) that needs a session."""

        async def page(request: Request) -> Response:
            return await signed_in_page(request, name)

        return page

    async def worker_script(request: Request) -> Response:
        """Served from /web/ so it may control every page under it; never cached itself."""
        return Response(
            worker,
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    found: list[BaseRoute] = [
        Route("/web", lambda request: RedirectResponse(PREFIX, status_code=301)),
        Route(PREFIX, app_page),
        Route(PREFIX + "login", login_page),
        Route(PREFIX + "contacts", logged_in_page("contacts.html")),
        Route(PREFIX + "settings", logged_in_page("settings.html")),
        Route(PREFIX + "trash", logged_in_page("trash.html")),
        Route(PREFIX + "sw.js", worker_script),
        Route(PREFIX + "i18n/{language}.json", catalog),
        Route(PREFIX + "manifest/{language}.webmanifest", manifest_file),
        Mount(PREFIX + "static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    if node_modules is not None:
        found += [
            Mount(f"{PREFIX}vendor/{name}", app=StaticFiles(directory=node_modules / directory))
            for name, directory in VENDOR.items()
        ]
    return found
