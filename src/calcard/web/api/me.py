"""The caller's account: organizations (and switching), the password, app passwords and
two-factor authentication. (A person's contact details: calcard.web.api.users.)"""

from __future__ import annotations

import time
from datetime import datetime

from starlette.routing import Route

from calcard import accounts
from calcard.accounts import logins, twofactor
from calcard.core.catalogs import N_
from calcard.core.errors import Kind, Refusal
from calcard.core.times import as_utc
from calcard.web import qrcodes
from calcard.web.api.common import ApiContext, Call, endpoint

CODE = {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}}}


def iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value else None


def membership_json(m: accounts.MembershipInfo) -> dict:
    return {
        "org": m.org,
        "plan": m.plan,
        "login": m.login,
        "name": m.name,
        "email": m.email,
        "role": m.role,
        "calendar": m.calendar,
        "contacts": m.contacts,
        "status": m.status,
    }


def me(call: Call) -> dict:
    """The caller, their organizations and the current one."""
    with call.read() as s:
        user = accounts.get_user(s, call.login)
        current = accounts.current_org(s, call.login)
        return {
            "login": user.login,
            "name": user.name,
            "email": user.email,
            "email_pending": user.email_pending,
            "timezone": user.timezone,
            "chat_webhook": user.chat_webhook,
            "two_factor": user.totp_enabled,
            "current_org": current.name if current else None,
            "organizations": [membership_json(m) for m in accounts.memberships_of(s, call.login)],
        }


def switch(call: Call) -> dict:
    """Switch the current organization (the caller must belong to it)."""
    with call.write() as s:
        org = accounts.switch_org(s, call.login, call.field("org"))
        return {"current_org": org.name}


def list_app_passwords(call: Call) -> dict:
    """The caller's live app passwords: label, created, last used (never the secret)."""
    with call.read() as s:
        found = accounts.list_app_passwords(s, call.login)
    return {
        "app_passwords": [
            {
                "id": p.id,
                "label": p.label,
                "created_at": iso(p.created_at),
                "last_used_at": iso(p.last_used_at),
            }
            for p in found
        ]
    }


def add_app_password(call: Call) -> dict:
    """Create an app password for DAV clients; the password is shown only in this answer."""
    with call.write() as s:
        secret = accounts.add_app_password(s, call.login, call.field("label"))
        created = accounts.list_app_passwords(s, call.login)[-1]
    return {"id": created.id, "label": created.label, "password": secret}


def revoke_app_password(call: Call) -> dict:
    """Revoke an app password; it stops working at once on every server process."""
    number = call.path_id(N_("no app password {id!r}"))
    with call.write() as s:
        accounts.revoke_app_password(s, call.login, number)
    return {"revoked": number}


def change_password(call: Call) -> dict:
    """Change the caller's password: ``current`` must be right, ``new`` has at least 8
    characters. The caller's other web sessions end; app passwords stay valid.

    A wrong current password answers 403, changes nothing and counts as a failed
    login (throttling, calcard.logins), so a stolen session cannot guess it freely.
    """
    current, new = call.field("current"), call.field("new")
    try:
        with call.write() as s:
            accounts.change_password(s, call.login, current, new, call.caller.session_token)
    except Refusal as refused:
        if refused.kind is Kind.FORBIDDEN:  # the current password was wrong
            _record_failure(call)
        raise
    return {"changed": True}


def _record_failure(call: Call) -> None:
    address = call.request.client.host if call.request.client else "unknown"
    with call.write() as s:
        logins.record_failure(s, call.login, address)
    time.sleep(call.ctx.settings.auth_delay)


def begin_2fa(call: Call) -> dict:
    """Start TOTP enrollment: the secret, its otpauth:// URI and that URI as a QR code
    (an SVG data URI)."""
    with call.write() as s:
        enrollment = twofactor.begin(s, call.login)
    return {
        "secret": enrollment.secret,
        "uri": enrollment.uri,
        "qr": qrcodes.svg_data_uri(enrollment.uri),
    }


def confirm_2fa(call: Call) -> dict:
    """Turn 2FA on with a current code; from then on DAV accepts only app passwords.
    The caller's other web sessions end (they were opened without the second factor)."""
    with call.write() as s:
        twofactor.confirm(s, call.login, call.field("code"), call.caller.session_token)
    return {"two_factor": True}


def disable_2fa(call: Call) -> dict:
    """Turn 2FA off; needs a current code."""
    with call.write() as s:
        twofactor.disable(s, call.login, call.field("code"))
    return {"two_factor": False}


def routes(ctx: ApiContext) -> list[Route]:
    org = {"type": "object", "required": ["org"], "properties": {"org": {"type": "string"}}}
    label = {"type": "object", "required": ["label"], "properties": {"label": {"type": "string"}}}
    password = {
        "type": "object",
        "required": ["current", "new"],
        "properties": {
            "current": {"type": "string"},
            "new": {"type": "string", "minLength": accounts.MIN_PASSWORD},
        },
    }
    return [
        endpoint(ctx, "GET", "/api/me", me),
        endpoint(ctx, "PUT", "/api/me/current-org", switch, body=org),
        endpoint(ctx, "GET", "/api/me/app-passwords", list_app_passwords),
        endpoint(
            ctx,
            "POST",
            "/api/me/app-passwords",
            add_app_password,
            body=label,
            status=201,
            devices=False,
        ),
        endpoint(ctx, "DELETE", "/api/me/app-passwords/{id}", revoke_app_password, devices=False),
        endpoint(ctx, "POST", "/api/me/password", change_password, body=password, devices=False),
        endpoint(ctx, "POST", "/api/me/2fa", begin_2fa, body={"type": "object"}, devices=False),
        endpoint(ctx, "POST", "/api/me/2fa/confirm", confirm_2fa, body=CODE, devices=False),
        endpoint(ctx, "POST", "/api/me/2fa/disable", disable_2fa, body=CODE, devices=False),
    ]
