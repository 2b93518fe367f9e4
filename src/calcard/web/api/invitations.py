"""The caller's invitations to join organizations: list, accept, decline.

An organization's manager who adds an existing login only invites it
(calcard.accounts.add_user); the membership begins when the user accepts here.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from calcard import accounts
from calcard.core.catalogs import N_
from calcard.core.db import org_key
from calcard.web.api.common import ApiContext, Call, endpoint
from calcard.web.api.me import iso, membership_json


def list_invitations(call: Call) -> dict:
    """Invitations waiting for the caller's answer: organization, role, who invited, when."""
    with call.read() as s:
        found = accounts.invitations_of(s, call.login)
    return {
        "invitations": [
            {
                "id": i.id,
                "org": i.org,
                "role": i.role,
                "invited_by": i.invited_by,
                "created_at": iso(i.created_at),
            }
            for i in found
        ]
    }


def _write(call: Call, number: int):
    """A write transaction locking the caller and the inviting organization: joining
    changes its members, as its managers' changes do (orgs.py)."""
    with call.read() as s:
        org = next((i.org for i in accounts.invitations_of(s, call.login) if i.id == number), "")
    return call.write(org_key(org) if org else None)


def accept(call: Call) -> dict:
    """Accept an invitation: from now on the caller is a member of that organization."""
    number = call.path_id(N_("no invitation {id!r}"))
    with _write(call, number) as s:
        return membership_json(accounts.accept_invitation(s, call.login, number))


def decline(call: Call) -> dict:
    """Decline an invitation; the organization never sees anything of the caller's."""
    number = call.path_id(N_("no invitation {id!r}"))
    with _write(call, number) as s:
        org = accounts.decline_invitation(s, call.login, number)
    return {"declined": int(call.params["id"]), "org": org}


def routes(ctx: ApiContext) -> list[Route]:
    empty = {"type": "object"}
    # Joining an organization is managing the account: not with an app password (a
    # device's stolen secret must not make its owner a member anywhere; issue 14, 9).
    person: dict[str, Any] = {"body": empty, "devices": False}
    return [
        endpoint(ctx, "GET", "/api/me/invitations", list_invitations),
        endpoint(ctx, "POST", "/api/me/invitations/{id}/accept", accept, **person),
        endpoint(ctx, "POST", "/api/me/invitations/{id}/decline", decline, **person),
    ]
