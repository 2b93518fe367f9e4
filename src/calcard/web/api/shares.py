"""Sharing calendars and address books, and public read-only .ics links."""

from __future__ import annotations

from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from calcard import accounts, sharing, store
from calcard.core.catalogs import N_
from calcard.sharing import publiclinks
from calcard.transfer import importexport
from calcard.web.api.common import ApiContext, Call, endpoint, public_url
from calcard.web.api.me import iso

COLLECTION = "/api/collections/{path:path}"


def _path(call: Call) -> str:
    return "/" + call.params["path"].strip("/") + "/"


def _write(call: Call):
    """A write transaction locking the collection's owner, as DAV does for its changes."""
    return call.write(store.owner_of(call.params["path"].strip("/")))


def list_shares(call: Call) -> dict:
    """Who the caller's collection is shared with."""
    with call.read() as s:
        found = sharing.list_shares(s, _path(call), actor=call.login)
    return {"shares": [{"kind": f.kind, "name": f.name, "access": f.access} for f in found]}


def put_share(call: Call) -> dict:
    """Share a collection with a user, a workgroup or an organization (or change the access)."""
    kind, name, access = call.field("kind"), call.field("name"), call.field("access")
    with _write(call) as s:
        sharing.add_share(s, _path(call), kind, name, access, actor=call.login)
    return {"kind": kind, "name": name, "access": access}


def delete_share(call: Call) -> dict:
    """Revoke a share; the collection disappears from the sharees' homes."""
    p = call.params
    with _write(call) as s:
        sharing.remove_share(s, _path(call), p["kind"], p["name"], actor=call.login)
    return {"revoked": {"kind": p["kind"], "name": p["name"]}}


def own_collections(call: Call) -> dict:
    """The caller's own calendars and address books: what they can share."""
    kinds = {"VCALENDAR": "calendar", "VADDRESSBOOK": "addressbook"}
    with call.read() as s:
        found = store.child_collections(s, accounts.get_user(s, call.login).login)
    return {
        "collections": [
            {
                "path": f"/{c.path}/",
                "name": c.props.get("D:displayname") or c.path.rsplit("/", 1)[-1],
                "kind": kinds[c.tag],
            }
            for c in found
            if c.tag in kinds
        ]
    }


def shared_with_me(call: Call) -> dict:
    """Collections shared with the caller, with their DAV paths in the caller's home."""
    with call.read() as s:
        found = sharing.shared_with(s, call.login)
    return {
        "shared": [
            {
                "path": f"/{c.alias}/",
                "owner": c.collection.owner,
                "owner_path": f"/{c.collection.path}/",
                "displayname": c.props.get("D:displayname", ""),
                "access": c.access,
            }
            for c in found
        ]
    }


def _link_json(call: Call, link: publiclinks.LinkInfo) -> dict:
    return {
        "id": link.id,
        "path": link.path,
        "created_at": iso(link.created_at),
        "expires_at": iso(link.expires_at),
    }


def list_links(call: Call) -> dict:
    """The live public links of the caller's calendar (their URLs were shown once)."""
    with call.read() as s:
        found = publiclinks.list_links(s, _path(call), actor=call.login)
    return {"public_links": [_link_json(call, link) for link in found]}


def create_link(call: Call) -> dict:
    """Publish a calendar as a secret read-only .ics URL; the URL is shown only in this answer."""
    with _write(call) as s:
        link, token = publiclinks.create(s, _path(call), call.field("expires"), actor=call.login)
    url = f"{public_url(call.request, call.ctx.settings)}/api/public/{token}.ics"
    return {**_link_json(call, link), "url": url}


def revoke_link(call: Call) -> dict:
    """Revoke a public link; its URL stops working at once."""
    number = call.path_id(N_("no public link {id!r}"))
    with _write(call) as s:
        publiclinks.revoke(s, _path(call), number, actor=call.login)
    return {"revoked": number}


def feed(call: Call) -> Response:
    """A published calendar as an .ics feed (no login: the URL is the secret)."""
    with call.read() as s:
        path = publiclinks.feed(s, call.params["token"])
    export = importexport.export(call.ctx.db, path)
    return StreamingResponse(export.chunks, media_type="text/calendar; charset=utf-8")


def routes(ctx: ApiContext) -> list[Route]:
    share = {
        "type": "object",
        "required": ["kind", "name", "access"],
        "properties": {
            "kind": {"type": "string", "enum": list(sharing.TARGET_KINDS)},
            "name": {"type": "string", "description": "login, workgroup or organization name"},
            "access": {"type": "string", "enum": list(sharing.ACCESS_LEVELS)},
        },
    }
    link = {
        "type": "object",
        "required": ["expires"],
        "properties": {"expires": {"type": "string", "enum": list(publiclinks.EXPIRIES)}},
    }
    return [
        endpoint(ctx, "GET", "/api/collections", own_collections),
        endpoint(ctx, "GET", "/api/shared", shared_with_me),
        endpoint(ctx, "GET", "/api/public/{token}.ics", feed, auth=False),
        endpoint(ctx, "GET", f"{COLLECTION}/shares", list_shares),
        endpoint(ctx, "PUT", f"{COLLECTION}/shares", put_share, body=share),
        endpoint(ctx, "DELETE", f"{COLLECTION}/shares/{{kind}}/{{name}}", delete_share),
        endpoint(ctx, "GET", f"{COLLECTION}/public-links", list_links),
        endpoint(ctx, "POST", f"{COLLECTION}/public-links", create_link, body=link, status=201),
        endpoint(ctx, "DELETE", f"{COLLECTION}/public-links/{{id}}", revoke_link),
    ]
