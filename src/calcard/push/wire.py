"""The XML of WebDAV-Push (draft "Push for WebDAV", sections Subscription Registration,
Push Message, and the Web Push transport's Subscription Registration).

Reads a ``push-register`` body into a ``Registration`` and writes the
``push-message`` sent to subscribers. A bad subscription is refused with the
draft's precondition name in the refusal's details (``precondition``), which
the DAV adapter answers as ``403`` with ``D:error``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from xml.sax.saxutils import escape

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException

from calcard.core.errors import Kind, Refusal
from calcard.core.times import as_utc
from calcard.push.vapid import b64url, b64url_decode

NS = "https://bitfire.at/webdav-push"
DAV = "DAV:"
INVALID_SUBSCRIPTION = "invalid-subscription"
PUSH_NOT_AVAILABLE = "push-not-available"
NO_SUPPORTED_TRIGGER = "no-supported-trigger"
CONTENT_ENCODING = "aes128gcm"  # RFC 8291 §4; what a body without content-encoding means
MAX_RESOURCE_LENGTH = 2000


def _p(name: str) -> str:
    return f"{{{NS}}}{name}"


def refused(precondition: str, message: str) -> Refusal:
    """A 403 with the draft's precondition ``precondition`` (Response section)."""
    return Refusal(message, Kind.FORBIDDEN, {"precondition": precondition})


@dataclass(frozen=True)
class Registration:
    """A ``push-register`` request: the Web Push subscription and the expiry asked for."""

    push_resource: str
    p256dh: str  # the user agent's P-256 ECDH key, base64url as sent
    auth: str  # the 16-byte auth secret, base64url as sent
    expires: datetime | None


def is_push_register(body: bytes) -> bool:
    """Whether a POST body may be a ``push-register`` request (``parse_register`` decides)."""
    return b"push-register" in body


def parse_register(body: bytes) -> Registration:
    """The registration a ``push-register`` body asks for, or a Refusal.

    Lenient as the draft wants: ``content-encoding`` and ``trigger`` may be missing
    (DAVx5 before 4.5.20 sends neither: aes128gcm and content updates are meant); a
    trigger is downgraded to what is supported (content updates at depth 1) and
    only a trigger naming nothing supported is refused; an unreadable ``expires``
    is ignored (the server's default applies).
    """
    try:
        root = DefusedET.fromstring(body)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise Refusal(f"the push-register body is not readable XML: {exc}") from exc
    if root.tag != _p("push-register"):
        raise Refusal("the body's root element is not push-register")
    subscriptions = root.findall(_p("subscription"))
    if len(subscriptions) != 1:
        raise refused(INVALID_SUBSCRIPTION, "a push-register holds exactly one subscription")
    web_push = subscriptions[0].findall(_p("web-push-subscription"))
    if len(web_push) != 1 or len(subscriptions[0]) != 1:
        raise refused(INVALID_SUBSCRIPTION, "the subscription must be one web-push-subscription")
    _check_triggers(root.findall(_p("trigger")))
    subscription = web_push[0]
    encoding = (subscription.findtext(_p("content-encoding")) or CONTENT_ENCODING).strip()
    if encoding != CONTENT_ENCODING:
        raise refused(INVALID_SUBSCRIPTION, f"only {CONTENT_ENCODING} message encryption is sent")
    return Registration(
        push_resource=_text(subscription, "push-resource"),
        p256dh=checked_key(_text(subscription, "subscription-public-key"), subscription),
        auth=checked_auth(_text(subscription, "auth-secret")),
        expires=_expires(root.findtext(_p("expires"))),
    )


def _text(element: ET.Element, name: str) -> str:
    found = element.findall(_p(name))
    value = (found[0].text or "").strip() if len(found) == 1 else ""
    if not value:
        raise refused(INVALID_SUBSCRIPTION, f"the subscription needs exactly one {name}")
    return value


def checked_key(value: str, subscription: ET.Element | None = None) -> str:
    """``value`` if it is a P-256 public key, uncompressed, base64url (RFC 8291 §3.2), in
    its canonical form (padding past the data decodes too, but is not kept: the column
    holds 87 characters). cryptography is imported here, when a key comes (vapid.py)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    if subscription is not None:
        kind = subscription.find(_p("subscription-public-key")).get("type", "p256dh")  # type: ignore[union-attr]  # _text found it
        if kind != "p256dh":
            raise refused(INVALID_SUBSCRIPTION, f"unknown subscription key type {kind!r}")
    try:
        point = b64url_decode(value)
        if len(point) != 65 or point[0] != 4:
            raise ValueError("not an uncompressed point")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise refused(INVALID_SUBSCRIPTION, "the subscription public key is no P-256 key") from exc
    return b64url(point)


def checked_auth(value: str) -> str:
    """``value`` if it is a 16-byte auth secret, base64url (RFC 8291 §3.2), canonical."""
    try:
        secret = b64url_decode(value)
    except ValueError:
        secret = b""
    if len(secret) != 16:
        raise refused(INVALID_SUBSCRIPTION, "the auth secret must be 16 bytes, base64url")
    return b64url(secret)


def _check_triggers(triggers: list[ET.Element]) -> None:
    """Refuse a trigger element that asks for nothing calcard sends (content updates)."""
    if len(triggers) > 1:
        raise refused(NO_SUPPORTED_TRIGGER, "a push-register holds one trigger")
    if triggers and triggers[0].find(_p("content-update")) is None:
        raise refused(NO_SUPPORTED_TRIGGER, "calcard pushes content updates (depth 1) only")


def _expires(value: str | None) -> datetime | None:
    """An IMF-fixdate (RFC 9110 §5.6.7) as UTC; None when absent or unreadable."""
    if not value or not value.strip():
        return None
    try:
        moment = parsedate_to_datetime(value.strip())
        return as_utc(moment) if moment.tzinfo else None
    except (TypeError, ValueError, IndexError, OverflowError):  # past year 9999 in UTC too
        return None


def push_message(topic: str, sync_token: str | None) -> bytes:
    """The ``push-message`` of a content update with the new sync token (Push Message);
    without one for a collection that was removed (it has no token any more)."""
    token = f"<D:sync-token>{escape(sync_token)}</D:sync-token>" if sync_token else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<P:push-message xmlns:P="{NS}" xmlns:D="{DAV}">'
        f"<P:topic>{escape(topic)}</P:topic>"
        f"<P:content-update>{token}</P:content-update>"
        "</P:push-message>"
    ).encode()
