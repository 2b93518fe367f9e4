"""An organization's logo and colors: read by anyone (the login page), changed by its
legal representatives and administrators."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from calcard.accounts import branding
from calcard.core.catalogs import N_
from calcard.core.db import org_key
from calcard.core.errors import Kind, Refusal
from calcard.web.api.common import ApiContext, Call, endpoint

BASE = "/api/orgs/{org}"
# The logo is only ever an image: no sniffing, no scripts, no framing.
LOGO_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "public, max-age=3600",
}


def _json(found: branding.Branding) -> dict:
    version = int(found.updated_at.timestamp())
    logo = f"/api/orgs/{quote(found.org, safe='')}/logo?v={version}" if found.logo_type else None
    return {
        "org": found.org,
        "accent": found.accent,
        "background": found.background,
        "logo": logo,
    }


def show(call: Call) -> dict:
    """An organization's logo URL and colors (no login: its login page shows them).

    An organization without branding and a name that is no organization get the
    same empty answer, so this tells nobody which organizations exist."""
    with call.read() as s:
        found = branding.get(s, call.params["org"])
    if found is None:
        return {"org": call.params["org"], "accent": "", "background": "", "logo": None}
    return _json(found)


def set_colors(call: Call) -> dict:
    """Set the accent and background colors ("#rrggbb", or "" for the default)."""
    with call.write(org_key(call.params["org"])) as s:
        found = branding.set_colors(
            s,
            call.params["org"],
            call.optional("accent", str, ""),
            call.optional("background", str, ""),
            actor=call.login,
        )
    return _json(found)


def logo(call: Call) -> Response:
    """The organization's logo (no login)."""
    with call.read() as s:
        data, media_type = branding.logo(s, call.params["org"])
    return Response(data, media_type=media_type, headers=LOGO_HEADERS)


def remove_logo(call: Call) -> dict:
    """Remove the logo."""
    with call.write(org_key(call.params["org"])) as s:
        found = branding.remove_logo(s, call.params["org"], actor=call.login)
    return _json(found)


async def _logo_bytes(request: Request) -> bytes:
    """The uploaded logo, refused (415, 413) before more than the limit is read."""
    if not request.headers.get("content-type", "").startswith("image/"):
        raise Refusal(
            N_("send the logo as an image (Content-Type image/png, ...)"), Kind.UNSUPPORTED
        )
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > branding.MAX_LOGO_BYTES:
            limit = branding.MAX_LOGO_BYTES // 1024
            raise Refusal(
                N_("the logo is larger than {limit} KB"), Kind.TOO_LARGE, values={"limit": limit}
            )
    return bytes(data)


def upload_logo(call: Call) -> dict:
    """Upload the logo as the raw body: a PNG, JPEG, GIF or WebP of at most 256 KB."""
    with call.write(org_key(call.params["org"])) as s:
        found = branding.set_logo(s, call.params["org"], call.upload, actor=call.login)
    return _json(found)


def routes(ctx: ApiContext) -> list[Route]:
    colors = {
        "type": "object",
        "properties": {
            "accent": {"type": "string", "pattern": "^(#[0-9a-fA-F]{6})?$"},
            "background": {"type": "string", "pattern": "^(#[0-9a-fA-F]{6})?$"},
        },
    }
    # Managing an organization (devices=False): not with an app password.
    return [
        endpoint(ctx, "GET", f"{BASE}/branding", show, auth=False),
        endpoint(ctx, "PUT", f"{BASE}/branding", set_colors, body=colors, devices=False),
        endpoint(ctx, "GET", f"{BASE}/logo", logo, auth=False),
        endpoint(
            ctx,
            "PUT",
            f"{BASE}/logo",
            upload_logo,
            upload=_logo_bytes,
            types=("image/*",),
            devices=False,
        ),
        endpoint(ctx, "DELETE", f"{BASE}/logo", remove_logo, devices=False),
    ]
