"""One Web Push message (RFC 8030 §5): encrypted (RFC 8291, aes128gcm), VAPID-signed
(RFC 8292), POSTed to the push resource through the outbound guard.

A fresh ephemeral key and salt per message (RFC 8291 §3.4) and a single record
(§4). The push service answers 201; 404 and 410 mean the subscription is gone
(``Outcome.gone``); anything else, or no answer, is a failure to retry.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from calcard.core import outbound
from calcard.core.errors import Refusal
from calcard.push import vapid
from calcard.push.subscriptions import check_push_resource

if TYPE_CHECKING:
    from py_vapid import Vapid02

log = logging.getLogger("calcard.push")
TIMEOUT_SECONDS = 10
RECORD_SIZE = 4096  # RFC 8291 §4: one record; push services accept 4096 bytes


@dataclass(frozen=True)
class Target:
    """Where one subscription's messages go and the keys they are encrypted for."""

    push_resource: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class Outcome:
    ok: bool
    gone: bool = False  # 404 or 410: the subscription is no more
    error: str = ""


def encrypt(target: Target, payload: bytes) -> bytes:
    """``payload`` as an aes128gcm body for the subscriber (RFC 8291 §3.4, RFC 8188 §2).
    The cryptography libraries load with the first message (vapid.py)."""
    import http_ece
    from cryptography.hazmat.primitives.asymmetric import ec

    return http_ece.encrypt(
        payload,
        salt=os.urandom(16),
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=vapid.b64url_decode(target.p256dh),
        auth_secret=vapid.b64url_decode(target.auth),
        version="aes128gcm",
        rs=RECORD_SIZE,
    )


def send(
    target: Target,
    payload: bytes,
    media_type: str,
    key: Vapid02,
    contact: str,
    allow: str,
    ttl: int,
    topic: str = "",
) -> Outcome:
    """POST one message; never raises for what the network or the service does."""
    import http_ece
    import httpx  # with the first outbound request (outbound.client)

    try:
        check_push_resource(target.push_resource, allow)
        body = encrypt(target, payload)
    except (Refusal, ValueError, http_ece.ECEException) as exc:
        return Outcome(ok=False, error=f"not sent: {exc}")
    headers = {
        "Content-Type": media_type,
        "Content-Encoding": "aes128gcm",
        "TTL": str(ttl),
        "Urgency": "normal",
        "Authorization": vapid.authorization(key, target.push_resource, contact),
    }
    if topic:
        headers["Topic"] = topic  # RFC 8030 §5.4: a newer message replaces an undelivered one
    try:
        with outbound.client(allow, TIMEOUT_SECONDS) as http:
            status = http.post(target.push_resource, content=body, headers=headers).status_code
    except (outbound.Refused, httpx.HTTPError, ValueError) as exc:
        # The registrant reads last_error (Settings): the reason, which may name the
        # internal address a host resolves to now, stays in the server's log.
        log.warning("push to %s failed: %s", _service(target), exc)
        return Outcome(ok=False, error="the push service could not be reached")
    if status in (404, 410):
        return Outcome(ok=False, gone=True, error=f"the push service answered {status}")
    if not 200 <= status < 300:
        log.warning("push to %s answered %d", _service(target), status)
        return Outcome(ok=False, error=f"the push service answered {status}")
    return Outcome(ok=True)


def _service(target: Target) -> str:
    """The push service's origin, for logs (the path is the subscription's secret)."""
    parts = urlsplit(target.push_resource)
    return f"{parts.scheme}://{parts.netloc}/..."
