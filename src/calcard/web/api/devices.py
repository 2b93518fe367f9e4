"""Setting up phones and desktops: the DAV URLs, a QR code of the account URL, and an
Apple configuration profile carrying a fresh app password."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.responses import Response
from starlette.routing import Route

from calcard import accounts
from calcard.core.catalogs import say
from calcard.web import appleprofile, qrcodes
from calcard.web.api.common import ApiContext, Call, endpoint, public_url


def _base(call: Call) -> str:
    return public_url(call.request, call.ctx.settings)


def setup(call: Call) -> dict:
    """What a DAV client needs: server URL, account URL (also as a QR code) and login."""
    with call.read() as s:
        login = accounts.get_user(s, call.login).login
    account = f"{_base(call)}/{login}/"
    return {
        "login": login,
        "dav_url": f"{_base(call)}/",
        "account_url": account,
        "qr": qrcodes.svg_data_uri(account),
    }


def apple_profile(call: Call) -> Response:
    """An Apple .mobileconfig with CalDAV and CardDAV accounts and a new app password
    (listed with the other app passwords, revocable)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    with call.write() as s:
        login = accounts.get_user(s, call.login).login
        language = accounts.language(s, login, call.request.headers.get("accept-language"))
        label = call.optional("label", str) or say(
            language, "Apple device profile {stamp}", stamp=stamp
        )
        password = accounts.add_app_password(s, login, label[:200])
    profile = appleprofile.build(_base(call), login, password, language)
    return Response(
        profile,
        media_type=appleprofile.MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="calcard-{login}.mobileconfig"',
            "Cache-Control": "no-store",
        },
    )


def routes(ctx: ApiContext) -> list[Route]:
    label = {"type": "object", "properties": {"label": {"type": "string"}}}
    return [
        endpoint(ctx, "GET", "/api/me/devices", setup),
        endpoint(ctx, "POST", "/api/me/apple-profile", apple_profile, body=label, devices=False),
    ]
