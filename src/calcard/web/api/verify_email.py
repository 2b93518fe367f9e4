"""The e-mail verification link: GET shows a page with a button, its POST verifies.

Mail scanners follow links, so the GET changes nothing (as calcard.api.rsvp).
The link is signed and names the account, so it works without a login: holding
the mailbox is the proof (calcard.verification).
"""

from __future__ import annotations

from html import escape

from starlette.responses import HTMLResponse
from starlette.routing import Route

from calcard import accounts
from calcard.accounts import verification
from calcard.core import catalogs
from calcard.core.catalogs import say
from calcard.core.errors import Kind, Refusal
from calcard.core.times import utcnow
from calcard.web.api import errors
from calcard.web.api.common import FORM, ApiContext, Call, endpoint, form_fields


def _page(language: str, title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang='{escape(language)}'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>"
        "<meta name='viewport' content='width=device-width'></head><body>"
        f"<h1>{escape(title)}</h1>{body}</body></html>",
        status_code=status,
    )


def _language(call: Call) -> str:
    """Opened from a mail, maybe on another device: the browser's language."""
    return catalogs.choose(None, call.request.headers.get("accept-language"))


def _refused(language: str, refusal: Refusal) -> HTMLResponse:
    message = say(language, getattr(refusal, "source", refusal.message))
    title = say(language, "E-mail address not verified")
    return _page(language, title, f"<p>{escape(message)}</p>", errors.status(refusal))


def show(call: Call) -> HTMLResponse:
    """The page behind a verification link: what would be verified, and the button."""
    params = {k: call.request.query_params.get(k, "") for k in verification.FIELDS}
    language = _language(call)
    try:
        with call.read() as s:
            pending = verification.open_link(s, params, utcnow())
            login, address = pending.user.login, pending.address
    except verification.LinkRefused as refusal:
        return _refused(language, refusal)
    hidden = "".join(
        f"<input type='hidden' name='{k}' value='{escape(v)}'>" for k, v in params.items()
    )
    template = escape(say(language, "Use {address} for the calcard account {login}?"))
    strong = "<strong>{}</strong>".format
    question = template.format(address=strong(escape(address)), login=strong(escape(login)))
    confirm_label = say(language, "Confirm this address")
    return _page(
        language,
        say(language, "Confirm your e-mail address"),
        f"<p>{question}</p>"
        f"<form method='post' action='{verification.PATH}'>{hidden}"
        f"<button type='submit'>{escape(confirm_label)}</button></form>",
    )


def confirm(call: Call) -> HTMLResponse:
    """Verify the address named by the link (the button of that page)."""
    params = {k: call.upload.get(k, "") for k in verification.FIELDS}
    language = _language(call)
    with call.read() as s:
        owner = verification.link_owner(s, params)
    try:
        with call.write(owner) as s:
            user = accounts.verify_email(s, params)
            address = user.email
    except verification.LinkRefused as refusal:
        return _refused(language, refusal)
    except Refusal as taken:
        if taken.kind is not Kind.CONFLICT:  # another account verified the address first
            raise
        return _refused(language, taken)
    done = say(
        language,
        "{address} is now the address of your calcard account: reminders, invitations "
        "and answers use it from now on.",
        address=address,
    )
    return _page(
        language, say(language, "E-mail address verified"), f"<p>{escape(done)}</p>"
    )


def routes(ctx: ApiContext) -> list[Route]:
    """Signed links: no login."""
    return [
        endpoint(ctx, "GET", verification.PATH, show, auth=False),
        endpoint(
            ctx, "POST", verification.PATH, confirm, auth=False, upload=form_fields, types=(FORM,)
        ),
    ]
