"""An organization's branding: its logo and colors on its login page and in the app.

Only its legal representatives and administrators change it; anyone may read
it (the login page shows it before anybody has logged in). A logo must decode
as a PNG, JPEG, GIF or WebP image within the size limits: its media type is
the decoded format's, whatever the upload claimed, and SVG (which can carry
scripts) is never accepted.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from calcard import accounts
from calcard.core.catalogs import N_
from calcard.core.errors import Kind, Refusal
from calcard.core.models import Organization, OrgBranding
from calcard.core.times import as_utc, utcnow

MAX_LOGO_BYTES = 256 * 1024
MAX_LOGO_SIDE = 2048  # pixels, either side
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Branding:
    org: str
    accent: str  # "#rrggbb" or "" for the default
    background: str
    logo_type: str  # "" when there is no logo
    updated_at: datetime


def _info(org: Organization, row: OrgBranding) -> Branding:
    return Branding(org.name, row.accent, row.background, row.logo_type, as_utc(row.updated_at))


def _row(s: Session, org_name: str) -> tuple[Organization, OrgBranding] | None:
    try:
        org = accounts.get_org(s, org_name)
    except Refusal as refused:
        if refused.kind is not Kind.NOT_FOUND:
            raise
        return None
    row = s.get(OrgBranding, org.id)
    return (org, row) if row else None


def get(s: Session, org_name: str) -> Branding | None:
    """The organization's branding, None when it has none (or there is no such organization)."""
    found = _row(s, org_name)
    return _info(*found) if found else None


def _editable(s: Session, org_name: str, actor: str | None) -> tuple[Organization, OrgBranding]:
    """The organization's branding row (new if needed), if ``actor`` manages the organization."""
    org = accounts.get_org(s, org_name)
    if actor is not None and accounts.role_of(s, actor, org) not in accounts.MANAGERS:
        raise Refusal(
            N_(
                "only a legal representative or an administrator of {org!r} "
                "can change its logo and colors"
            ),
            Kind.FORBIDDEN,
            values={"org": org.name},
        )
    row = s.get(OrgBranding, org.id)
    if row is None:
        row = OrgBranding(org_id=org.id, accent="", background="", logo_type="")
        s.add(row)
    row.updated_at = utcnow()
    return org, row


def _color(value: str, name: str) -> str:
    if value and not COLOR_RE.match(value):
        raise Refusal(N_("{name} must be a color like #1a2b3c"), values={"name": name})
    return value.lower()


def set_colors(
    s: Session, org_name: str, accent: str, background: str, actor: str | None = None
) -> Branding:
    """Set both colors ("" = the default)."""
    accent, background = _color(accent, "accent"), _color(background, "background")
    org, row = _editable(s, org_name, actor)
    row.accent, row.background = accent, background
    s.flush()
    return _info(org, row)


def image_type(data: bytes) -> str:
    """The media type of a logo, or a Refusal saying why it is not acceptable. Pillow is
    imported here: only an administrator's upload needs it (issue 16's memory bound)."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_LOGO_BYTES:
        raise Refusal(
            N_("the logo is larger than {limit} KB"), values={"limit": MAX_LOGO_BYTES // 1024}
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, (width, height) = image.format, image.size
            if kind in FORMATS and max(width, height) <= MAX_LOGO_SIDE:
                image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise Refusal(N_("the logo is not a readable PNG, JPEG, GIF or WebP")) from exc
    if kind not in FORMATS:
        raise Refusal(N_("the logo must be a PNG, JPEG, GIF or WebP image"))
    if max(width, height) > MAX_LOGO_SIDE:
        raise Refusal(
            N_("the logo must be at most {limit} pixels a side"),
            values={"limit": MAX_LOGO_SIDE},
        )
    return FORMATS[kind]


def set_logo(s: Session, org_name: str, data: bytes, actor: str | None = None) -> Branding:
    media_type = image_type(data)
    org, row = _editable(s, org_name, actor)
    row.logo, row.logo_type = data, media_type
    s.flush()
    return _info(org, row)


def remove_logo(s: Session, org_name: str, actor: str | None = None) -> Branding:
    org, row = _editable(s, org_name, actor)
    row.logo, row.logo_type = None, ""
    s.flush()
    return _info(org, row)


def logo(s: Session, org_name: str) -> tuple[bytes, str]:
    """The logo's bytes and media type, or a not-found refusal (also for an unknown
    organization)."""
    found = _row(s, org_name)
    if found is None or not found[1].logo:
        raise Refusal(N_("no logo"), Kind.NOT_FOUND)
    return found[1].logo, found[1].logo_type
