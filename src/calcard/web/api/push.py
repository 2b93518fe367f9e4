"""Push subscriptions: the VAPID key, a browser's Web Push subscription, the caller's
subscriptions (phones' WebDAV-Push registrations and browsers) and unsubscribing.

``DELETE /api/push/registrations/{token}`` is also the WebDAV-Push registration URL
a DAV client got in ``Location`` (draft "Push for WebDAV", Subscription Removal):
it takes the same credentials DAV does, and removes only the caller's own.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from calcard.core.catalogs import N_
from calcard.core.errors import Kind, Refusal
from calcard.core.times import utcnow
from calcard.push import subscriptions, vapid, wire
from calcard.web.api.common import ApiContext, Call, endpoint
from calcard.web.api.me import iso

REGISTRATION = subscriptions.REGISTRATION_PATH + "{token}"
LABEL_LIMIT = 200


def key(call: Call) -> dict:
    """The server's VAPID public key (base64url), the browser's applicationServerKey."""
    with call.read() as s:
        return {"key": vapid.public_key(s)}


def subscribe_browser(call: Call) -> dict:
    """Subscribe this browser (a Push API subscription) to the caller's reminders and
    invitation notices; the same endpoint again renews it."""
    keys = call.field("keys", dict)
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not isinstance(p256dh, str) or not isinstance(auth, str):
        raise Refusal(N_("body field 'keys' needs the strings 'p256dh' and 'auth'"))
    wanted = wire.Registration(
        push_resource=call.field("endpoint"),
        p256dh=wire.checked_key(p256dh),
        auth=wire.checked_auth(auth),
        expires=None,
    )
    label = (call.optional("label", str) or "Browser")[:LABEL_LIMIT]
    with call.write() as s:
        done = subscriptions.register_browser(
            s, call.login, wanted, label, call.ctx.settings.outbound_allow, utcnow()
        )
    return {"token": done.token, "expires_at": iso(done.expires_at), "created": done.created}


def list_subscriptions(call: Call) -> dict:
    """The caller's push subscriptions: devices' WebDAV-Push registrations and browsers."""
    with call.read() as s:
        found = subscriptions.list_for(s, call.login, utcnow())
    return {
        "subscriptions": [
            {
                "token": f.token,
                "kind": f.kind,
                "path": f"/{f.path}/" if f.path else None,
                "service": f.service,
                "label": f.label,
                "created_at": iso(f.created_at),
                "expires_at": iso(f.expires_at),
                "sent_at": iso(f.sent_at),
                "last_error": f.last_error,
            }
            for f in found
        ]
    }


def unsubscribe(call: Call) -> Response:
    """Remove one of the caller's push subscriptions (204); another's is not found (404)."""
    with call.write() as s:
        removed = subscriptions.remove(s, call.login, call.params["token"], utcnow())
    if not removed:
        raise Refusal(N_("no such push subscription of yours"), Kind.NOT_FOUND)
    return Response(status_code=204)


def routes(ctx: ApiContext) -> list[Route]:
    browser = {
        "type": "object",
        "required": ["endpoint", "keys"],
        "properties": {
            "endpoint": {"type": "string"},
            "keys": {
                "type": "object",
                "properties": {"p256dh": {"type": "string"}, "auth": {"type": "string"}},
            },
            "label": {"type": "string"},
        },
    }
    return [
        endpoint(ctx, "GET", "/api/push/key", key),
        endpoint(ctx, "GET", "/api/push/subscriptions", list_subscriptions),
        endpoint(ctx, "POST", "/api/push/browser", subscribe_browser, body=browser),
        endpoint(ctx, "DELETE", REGISTRATION, unsubscribe, responses={"204": "removed"}),
    ]
