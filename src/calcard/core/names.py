"""Names in URL paths: percent-encoded UTF-8 on the wire, text in the store.

A client percent-encodes the UTF-8 bytes of a name (RFC 3986 §2.1, §2.5); the
stored name (a collection path, an item href) is the decoded text, and every
href calcard answers with is that text percent-encoded again as UTF-8
(RFC 4918 §8.3), so a name comes back byte for byte. What cannot be a name is
refused with 400 before any route sees it (calcard.web's URL guard): escapes
that are not UTF-8, an encoded ``/`` (``%2F``, RFC 3986 §7.3), dot segments,
and control or other non-printing characters (Unicode category C, the rule
Radicale applies too); a path longer than the store keeps gets 414.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from calcard.core.catalogs import N_
from calcard.core.errors import Kind, Refusal

MAX_PATH = 1000  # characters: collections.path and items.href are String(1000)


class BadName(Refusal):
    """A request path or Destination that names nothing calcard can store, with the
    HTTP status it is answered with (a template, so the JSON API says it in its
    reader's language; DAV answers in English)."""

    def __init__(
        self, reason: str, status: int = 400, values: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(reason, Kind.INVALID, values=values)
        self.status = status


def decode(raw: bytes) -> str:
    """The text of a percent-encoded path (as on the request line), or BadName."""
    if b"%2f" in raw.lower():
        raise BadName(N_("a name cannot contain '/' (%2F)"))
    try:
        text = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise BadName(N_("the path's percent-escapes are not UTF-8 (RFC 3986 §2.5)")) from None
    check(text)
    return text


def check(text: str) -> None:
    """BadName unless every segment of the decoded path ``text`` can be a stored name."""
    if len(text) > MAX_PATH:
        raise BadName(N_("the path is longer than {limit} characters"), 414, {"limit": MAX_PATH})
    for segment in text.split("/"):
        if segment in (".", ".."):
            raise BadName(N_("a path cannot contain '.' or '..' segments"))
        if any(unicodedata.category(c).startswith("C") for c in segment):
            raise BadName(N_("a name cannot contain control or other non-printing characters"))


def destination(value: str, here: str) -> str:
    """The decoded path of a MOVE Destination (RFC 4918 §10.3) on this server, whose
    authority is ``here`` ("host:port").

    The URI is split into scheme, authority and path before any escape is
    decoded, so an encoded ``?``, ``#`` or ``;`` stays part of the name. A
    malformed URI gets 400; another server's 502 (RFC 4918 §9.9.4).
    """
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise BadName(N_("the Destination header is not a URI")) from None
    if parts.netloc:
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadName(N_("the Destination header is not an http(s) URI"))
        default = 443 if parts.scheme == "https" else 80
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6
        if f"{host}:{port or default}" != here.lower():
            raise BadName(N_("the Destination is on another server"), 502)
    elif parts.scheme or not parts.path.startswith("/"):
        raise BadName(N_("the Destination header is not an absolute path or URI"))
    try:
        return decode(parts.path.encode("ascii"))
    except UnicodeEncodeError:
        raise BadName(N_("the Destination header is not percent-encoded (RFC 3986 §2.1)")) from None
