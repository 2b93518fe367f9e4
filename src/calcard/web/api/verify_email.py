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
from calcard.core.errors import Kind, Refusal
from calcard.core.times import utcnow
from calcard.web.api import errors
from calcard.web.api.common import FORM, ApiContext, Call, endpoint, form_fields


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>"
        "<meta name='viewport' content='width=device-width'></head><body>"
        f"<h1>{escape(title)}</h1>{body}</body></html>",
        status_code=status,
    )


def _refused(refusal: Refusal) -> HTMLResponse:
    return _page(
        "E-mail address not verified", f"<p>{escape(refusal.message)}</p>", errors.status(refusal)
    )


def show(call: Call) -> HTMLResponse:
    """The page behind a verification link: what would be verified, and the button."""
    params = {k: call.request.query_params.get(k, "") for k in verification.FIELDS}
    try:
        with call.read() as s:
            pending = verification.open_link(s, params, utcnow())
            login, address = pending.user.login, pending.address
    except verification.LinkRefused as refusal:
        return _refused(refusal)
    hidden = "".join(
        f"<input type='hidden' name='{k}' value='{escape(v)}'>" for k, v in params.items()
    )
    return _page(
        "Confirm your e-mail address",
        f"<p>Use <strong>{escape(address)}</strong> for the calcard account "
        f"<strong>{escape(login)}</strong>?</p>"
        f"<form method='post' action='{verification.PATH}'>{hidden}"
        "<button type='submit'>Confirm this address</button></form>",
    )


def confirm(call: Call) -> HTMLResponse:
    """Verify the address named by the link (the button of that page)."""
    params = {k: call.upload.get(k, "") for k in verification.FIELDS}
    with call.read() as s:
        owner = verification.link_owner(s, params)
    try:
        with call.write(owner) as s:
            user = accounts.verify_email(s, params)
            address = user.email
    except verification.LinkRefused as refusal:
        return _refused(refusal)
    except Refusal as taken:
        if taken.kind is not Kind.CONFLICT:  # another account verified the address first
            raise
        return _refused(taken)
    return _page(
        "E-mail address verified",
        f"<p>{escape(address)} is now the address of your calcard account: reminders, "
        "invitations and answers use it from now on.</p>",
    )


def routes(ctx: ApiContext) -> list[Route]:
    """Signed links: no login."""
    return [
        endpoint(ctx, "GET", verification.PATH, show, auth=False),
        endpoint(
            ctx, "POST", verification.PATH, confirm, auth=False, upload=form_fields, types=(FORM,)
        ),
    ]
