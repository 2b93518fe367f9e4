"""Answer links in invitation mails: work without an account, signed, expiring.

GET shows the choice (mail scanners that follow links change nothing); the
buttons POST the answer.
"""

from __future__ import annotations

from html import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from calcard import itip, links, scheduling
from calcard.api.common import ApiContext
from calcard.models import utcnow

FIELDS = ("c", "h", "a", "e", "sig")
LABELS = {"ACCEPTED": "Accept", "TENTATIVE": "Maybe", "DECLINED": "Decline"}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<meta name='viewport' content='width=device-width'></head><body>"
        f"<h1>{escape(title)}</h1>{body}</body></html>",
        status_code=status,
    )


def routes(ctx: ApiContext) -> list[Route]:
    def show(request: Request) -> HTMLResponse:
        """The answer page behind an invitation's signed link."""
        params = {k: request.query_params.get(k, "") for k in FIELDS}
        with ctx.db.transaction() as s:
            purpose = _purpose(params)
            if purpose is None or not links.verify(s, purpose, params["sig"]):
                return _page("Invalid link", "<p>This answer link is not valid.</p>", 403)
        hidden = "".join(
            f"<input type='hidden' name='{k}' value='{escape(v)}'>" for k, v in params.items()
        )
        buttons = "".join(
            f"<button name='answer' value='{value}'>{label}</button> "
            for value, label in LABELS.items()
        )
        return _page(
            "Your answer", f"<form method='post' action='/api/rsvp'>{hidden}{buttons}</form>"
        )

    async def answer(request: Request) -> HTMLResponse:
        """Record the answer chosen on that page."""
        form = await request.form()
        params = {k: str(form.get(k, "")) for k in FIELDS}
        choice = str(form.get("answer", "")).upper()
        return await run_in_threadpool(_apply, ctx, params, choice)

    found = [Route("/api/rsvp", show), Route("/api/rsvp", answer, methods=["POST"])]
    for route in found:
        route.public = True  # type: ignore[attr-defined]  (signed links, no login)
    return found


def _purpose(params: dict[str, str]) -> str | None:
    try:
        return scheduling.rsvp_purpose(
            int(params["c"]), params["h"], params["a"].lower(), int(params["e"])
        )
    except ValueError:
        return None


def _apply(ctx: ApiContext, params: dict[str, str], choice: str) -> HTMLResponse:
    with ctx.db.transaction() as s:
        owner = scheduling.link_owner(s, params)
    try:
        with ctx.db.transaction(write=True, owners=[owner] if owner else []) as s:
            title, organizer = scheduling.answer_link(s, params, choice, utcnow())
    except PermissionError as exc:
        return _page("Answer not recorded", f"<p>{escape(str(exc))}</p>", 403)
    word = itip.words("en").get(choice, choice.lower())
    return _page(
        "Thank you",
        f"<p>You have {escape(word)} “{escape(title)}”; {escape(organizer)} is told.</p>",
    )
