"""Answer links in invitation mails: work without an account, signed, expiring.

GET shows the event and the choice (mail scanners that follow links change
nothing); the buttons POST the answer. Both pages speak the visitor's browser's
language (Accept-Language), else the organizer's, the one the invitation mail was
written in (calcard.core.catalogs).
"""

from __future__ import annotations

from html import escape

from starlette.responses import HTMLResponse
from starlette.routing import Route

from calcard import scheduling
from calcard.core.catalogs import N_, say
from calcard.core.times import utcnow
from calcard.scheduling import itip
from calcard.web.api import errors
from calcard.web.api.common import FORM, ApiContext, Call, endpoint, form_fields

FIELDS = ("c", "h", "a", "e", "sig")
BUTTONS = {"ACCEPTED": N_("Accept"), "TENTATIVE": N_("Maybe"), "DECLINED": N_("Decline")}


# The pages behind links in mails: nothing loads, nothing frames them, and their
# one form may post only back here.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the link's signature stays here
    "Cache-Control": "no-store",
}


def page(language: str, title: str, body: str, status: int = 200) -> HTMLResponse:
    """A small page for a link in a mail (``body`` is HTML the caller escaped)."""
    return HTMLResponse(
        f"<!doctype html><html lang='{escape(language)}'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>"
        f"<meta name='viewport' content='width=device-width'></head><body>"
        f"<h1>{escape(title)}</h1>{body}</body></html>",
        status_code=status,
        headers=PAGE_HEADERS,
    )


def _refused(title: str, refusal: scheduling.LinkRefused) -> HTMLResponse:
    body = f"<p>{escape(refusal.message)}</p>"
    return page(refusal.language, say(refusal.language, title), body, errors.status(refusal))


def show(call: Call) -> HTMLResponse:
    """The answer page behind an invitation's signed link."""
    params = {k: call.request.query_params.get(k, "") for k in FIELDS}
    try:
        with call.read() as s:
            event = scheduling.open_link(s, params, utcnow(), _accepted(call))
    except scheduling.LinkRefused as refusal:
        return _refused(N_("Your answer"), refusal)
    language = event.language
    title, lines = event.title_and_lines
    hidden = "".join(
        f"<input type='hidden' name='{k}' value='{escape(v)}'>" for k, v in params.items()
    )
    buttons = "".join(
        f"<button name='answer' value='{value}'>{escape(say(language, label))}</button> "
        for value, label in BUTTONS.items()
    )
    details = "".join(f"<p>{escape(line)}</p>" for line in lines)
    return page(
        language,
        say(language, "Your answer"),
        f"<h2>{escape(title)}</h2>{details}"
        f"<form method='post' action='/api/rsvp'>{hidden}{buttons}</form>",
    )


def answer(call: Call) -> HTMLResponse:
    """Record the answer chosen on that page (it writes into the organizer's calendar)."""
    form: dict[str, str] = call.upload
    params = {k: form.get(k, "") for k in FIELDS}
    choice = form.get("answer", "").upper()
    with call.read() as s:
        owner = scheduling.link_owner(s, params)
    try:
        with call.write(owner) as s:
            event = scheduling.answer_link(s, params, choice, utcnow(), _accepted(call))
    except scheduling.LinkRefused as refusal:
        return _refused(N_("Answer not recorded"), refusal)
    language = event.language
    title, _ = event.title_and_lines
    done = say(language, itip.ANSWERED[choice], title=title, organizer=event.organizer)
    return page(language, say(language, "Thank you"), f"<p>{escape(done)}</p>")


def _accepted(call: Call) -> str | None:
    return call.request.headers.get("accept-language")


def routes(ctx: ApiContext) -> list[Route]:
    """Signed links: no login."""
    return [
        endpoint(ctx, "GET", "/api/rsvp", show, auth=False),
        endpoint(
            ctx, "POST", "/api/rsvp", answer, auth=False, upload=form_fields, types=(FORM,)
        ),
    ]
