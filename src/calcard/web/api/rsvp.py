"""Answer links in invitation mails: work without an account, signed, expiring.

GET shows the event and the choice (mail scanners that follow links change
nothing); the buttons POST the answer. Both pages speak the organizer's
language, the one the invitation mail was written in (calcard.itip.WORDS).
"""

from __future__ import annotations

from html import escape

from starlette.responses import HTMLResponse
from starlette.routing import Route

from calcard import scheduling
from calcard.core.times import utcnow
from calcard.scheduling import itip
from calcard.web.api import errors
from calcard.web.api.common import FORM, ApiContext, Call, endpoint, form_fields

FIELDS = ("c", "h", "a", "e", "sig")
BUTTONS = {"ACCEPTED": "accept", "TENTATIVE": "maybe", "DECLINED": "decline"}


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


def _refused(title_key: str, refusal: scheduling.LinkRefused) -> HTMLResponse:
    title = itip.words(refusal.language)[title_key]
    body = f"<p>{escape(refusal.message)}</p>"
    return page(refusal.language, title, body, errors.status(refusal))


def show(call: Call) -> HTMLResponse:
    """The answer page behind an invitation's signed link."""
    params = {k: call.request.query_params.get(k, "") for k in FIELDS}
    try:
        with call.read() as s:
            event = scheduling.open_link(s, params, utcnow())
    except scheduling.LinkRefused as refusal:
        return _refused("your_answer", refusal)
    w = itip.words(event.language)
    title, lines = event.title_and_lines
    hidden = "".join(
        f"<input type='hidden' name='{k}' value='{escape(v)}'>" for k, v in params.items()
    )
    buttons = "".join(
        f"<button name='answer' value='{value}'>{escape(w[label])}</button> "
        for value, label in BUTTONS.items()
    )
    details = "".join(f"<p>{escape(line)}</p>" for line in lines)
    return page(
        event.language,
        w["your_answer"],
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
            event = scheduling.answer_link(s, params, choice, utcnow())
    except scheduling.LinkRefused as refusal:
        return _refused("not_recorded", refusal)
    w = itip.words(event.language)
    title, _ = event.title_and_lines
    done = w["answered"].format(answer=w[choice], title=title, organizer=event.organizer)
    return page(event.language, w["thanks"], f"<p>{escape(done)}</p>")


def routes(ctx: ApiContext) -> list[Route]:
    """Signed links: no login."""
    return [
        endpoint(ctx, "GET", "/api/rsvp", show, auth=False),
        endpoint(
            ctx, "POST", "/api/rsvp", answer, auth=False, upload=form_fields, types=(FORM,)
        ),
    ]
