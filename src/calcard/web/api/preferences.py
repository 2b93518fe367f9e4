"""The settings page's preferences: time zone, week start, language, default calendar,
reminder channels."""

from __future__ import annotations

from dataclasses import asdict

from starlette.routing import Route

from calcard.calendar import preferences
from calcard.web.api.common import ApiContext, Call, endpoint


def show(call: Call) -> dict:
    """The caller's preferences. ``week_start`` is the chosen day, else
    (``week_start_chosen`` false) the first day of the week in the caller's language."""
    with call.read() as s:
        return asdict(preferences.get(s, call.login, call.request.headers.get("accept-language")))


def change(call: Call) -> dict:
    """Change some of the caller's preferences; a bad value refuses the whole change.
    ``"week_start": null`` forgets a chosen day: the week starts as the language starts
    it (as a JSON merge patch removes a member, RFC 7396)."""
    with call.write() as s:
        found = preferences.update(
            s,
            call.login,
            timezone=call.optional("timezone", str),
            week_start=call.optional("week_start", int),
            default_calendar=call.optional("default_calendar", str),
            email=call.optional("email", str),
            chat_webhook=call.optional("chat_webhook", str),
            language=call.optional("language", str),
            automatic_week_start="week_start" in call.body and call.body["week_start"] is None,
            accept_language=call.request.headers.get("accept-language"),
        )
    return asdict(found)


def routes(ctx: ApiContext) -> list[Route]:
    body = {
        "type": "object",
        "properties": {
            "timezone": {"type": "string", "description": "IANA name, e.g. Europe/Zurich"},
            "week_start": {
                "type": ["integer", "null"],
                "minimum": 0,
                "maximum": 6,
                "description": "0: Sunday ... 6: Saturday; null: the language's (automatic)",
            },
            "default_calendar": {"type": "string", "description": "a writable calendar path or ''"},
            "email": {"type": "string"},
            "chat_webhook": {"type": "string", "description": "http(s) URL or ''"},
            "language": {"type": "string", "description": "en, de, fr, it, es or '' (automatic)"},
        },
    }
    return [
        endpoint(ctx, "GET", "/api/me/preferences", show),
        endpoint(ctx, "PATCH", "/api/me/preferences", change, body=body, devices=False),
    ]
