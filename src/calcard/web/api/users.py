"""A person's contact details: e-mail, chat webhook and time zone, changed only by them."""

from __future__ import annotations

from starlette.routing import Route

from calcard import accounts
from calcard.web.api.common import ApiContext, Call, endpoint


def set_details(call: Call) -> dict:
    """Change one's own e-mail, chat webhook or time zone (403 for anyone else's: a person's
    details are theirs). A new e-mail address is pending until verified by the mailed link."""
    with call.write(call.params["login"]) as s:
        user = accounts.set_user(
            s,
            call.params["login"],
            email=call.optional("email", str),
            chat_webhook=call.optional("chat_webhook", str),
            timezone=call.optional("timezone", str),
            actor=call.login,
        )
        return {
            "login": user.login,
            "email": user.email,
            "email_pending": user.email_pending,
            "timezone": user.timezone,
        }


def routes(ctx: ApiContext) -> list[Route]:
    details = {
        "type": "object",
        "properties": {
            "email": {"type": "string"},
            "chat_webhook": {"type": "string"},
            "timezone": {"type": "string"},
        },
    }
    return [
        endpoint(ctx, "PATCH", "/api/users/{login}", set_details, body=details, devices=False),
    ]
