"""Organizations: members, roles, product access and workgroups.

Every rule (who may change whom, the last legal representative) is enforced
by the service layer; these endpoints only pass the caller along as actor.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from calcard import accounts
from calcard.accounts import workgroups
from calcard.core.catalogs import N_
from calcard.core.db import org_key
from calcard.core.errors import Refusal
from calcard.web.api.common import ApiContext, Call, endpoint
from calcard.web.api.me import membership_json


def _write(call: Call, login: str = ""):
    """A write transaction locking the organization (``org_key``) and the member changed."""
    member = accounts.normalize_login(login) if login else ""
    return call.write(org_key(call.params["org"]), *([member] if member else []))


def list_members(call: Call) -> dict:
    """Members of an organization with role and product access (not for externals)."""
    with call.read() as s:
        found = accounts.members(s, call.params["org"], actor=call.login)
    return {"members": [membership_json(m) for m in found]}


def add_member(call: Call) -> dict:
    """Add a member: a new login (with a password) is active at once; an existing login
    is invited ("status": "pending") and becomes a member only when it accepts."""
    with _write(call, call.field("login")) as s:
        user = accounts.add_user(
            s,
            call.field("login"),
            call.params["org"],
            call.field("role"),
            call.optional("password", str, ""),
            email=call.optional("email", str, ""),
            name=call.optional("name", str, ""),
            actor=call.login,
        )
        return {
            "login": user.login,
            "org": call.params["org"],
            "role": call.body["role"],
            "status": accounts.membership_status(s, user.login, call.params["org"]),
        }


def change_member(call: Call) -> dict:
    """Change a member's role and/or product access (calendar, contacts)."""
    org, login = call.params["org"], call.params["login"]
    role = call.optional("role", str)
    calendar = call.optional("calendar", bool)
    contacts = call.optional("contacts", bool)
    if role is None and calendar is None and contacts is None:
        raise Refusal(N_("give role, calendar or contacts"))
    with _write(call, login) as s:
        if role is not None:
            accounts.set_role(s, login, org, role, actor=call.login)
        if calendar is not None or contacts is not None:
            accounts.set_product_access(s, login, org, calendar, contacts, actor=call.login)
        return membership_json(accounts.member(s, org, login))


def remove_member(call: Call) -> dict:
    """Remove a member (or withdraw a pending invitation), or leave the organization when
    the login is the caller's own."""
    login, org = call.params["login"], call.params["org"]
    with _write(call, login) as s:
        if not accounts.withdraw_invitation(s, login, org, actor=call.login):
            accounts.remove_user(s, login, org, actor=call.login)
    return {"removed": call.params["login"], "org": call.params["org"]}


def list_groups(call: Call) -> dict:
    """The organization's workgroups and their members."""
    with call.read() as s:
        found = workgroups.list_workgroups(s, call.params["org"], actor=call.login)
    return {"workgroups": [{"name": g.name, "members": g.members} for g in found]}


def create_group(call: Call) -> dict:
    """Create a workgroup (legal representatives and administrators)."""
    with _write(call) as s:
        group = workgroups.create(s, call.params["org"], call.field("name"), actor=call.login)
    return {"name": group.name, "members": group.members}


def delete_group(call: Call) -> dict:
    """Delete a workgroup; shares to it end with it."""
    with _write(call) as s:
        workgroups.delete(s, call.params["org"], call.params["name"], actor=call.login)
    return {"deleted": call.params["name"]}


def add_group_member(call: Call) -> dict:
    """Put a member of the organization into a workgroup."""
    p = call.params
    with _write(call) as s:
        workgroups.add_member(s, p["org"], p["name"], p["login"], actor=call.login)
    return {"workgroup": p["name"], "added": p["login"]}


def remove_group_member(call: Call) -> dict:
    """Take a member out of a workgroup."""
    p = call.params
    with _write(call) as s:
        workgroups.remove_member(s, p["org"], p["name"], p["login"], actor=call.login)
    return {"workgroup": p["name"], "removed": p["login"]}


def get_language(call: Call) -> dict:
    """The organization's default language for its members ("" when none: English)."""
    with call.read() as s:
        return {"language": accounts.org_language(s, call.params["org"], actor=call.login)}


def put_language(call: Call) -> dict:
    """Set the default language (legal representatives and administrators)."""
    wanted = call.optional("language", str)
    if wanted is None:
        raise Refusal(N_("body field 'language' must be a string (\"\" resets)"))
    with _write(call) as s:
        chosen = accounts.set_org_language(s, call.params["org"], wanted, actor=call.login)
    return {"language": chosen}


def routes(ctx: ApiContext) -> list[Route]:
    member = {
        "type": "object",
        "required": ["login", "role"],
        "properties": {
            "login": {"type": "string"},
            "role": {"type": "string", "enum": list(accounts.ROLES)},
            "password": {"type": "string", "description": "needed for a new login"},
            "email": {"type": "string"},
            "name": {"type": "string"},
        },
    }
    change = {
        "type": "object",
        "properties": {
            "role": {"type": "string", "enum": list(accounts.ROLES)},
            "calendar": {"type": "boolean"},
            "contacts": {"type": "boolean"},
        },
    }
    group = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
    language = {
        "type": "object",
        "required": ["language"],
        "properties": {"language": {"type": "string", "description": '"de", ...; "" resets'}},
    }
    base = "/api/orgs/{org}"
    admin: dict[str, Any] = {"devices": False}  # managing an organization: not with an app password
    return [
        endpoint(ctx, "GET", f"{base}/members", list_members),
        endpoint(ctx, "POST", f"{base}/members", add_member, body=member, status=201, **admin),
        endpoint(ctx, "PATCH", f"{base}/members/{{login}}", change_member, body=change, **admin),
        endpoint(ctx, "DELETE", f"{base}/members/{{login}}", remove_member, **admin),
        endpoint(ctx, "GET", f"{base}/language", get_language),
        endpoint(ctx, "PUT", f"{base}/language", put_language, body=language, **admin),
        endpoint(ctx, "GET", f"{base}/workgroups", list_groups),
        endpoint(ctx, "POST", f"{base}/workgroups", create_group, body=group, status=201, **admin),
        endpoint(ctx, "DELETE", f"{base}/workgroups/{{name}}", delete_group, **admin),
        endpoint(
            ctx, "PUT", f"{base}/workgroups/{{name}}/members/{{login}}", add_group_member, **admin
        ),
        endpoint(
            ctx,
            "DELETE",
            f"{base}/workgroups/{{name}}/members/{{login}}",
            remove_group_member,
            **admin,
        ),
    ]
