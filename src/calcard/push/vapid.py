"""The deployment's VAPID key pair (RFC 8292), kept in the database.

Generated once, on first use, as a ``server_secrets`` row, so every node signs
with the same key and the key advertised in ``P:vapid-public-key`` (which DAVx5
binds its UnifiedPush subscription to) never changes under a client. Only the
private scalar is stored; the public key is derived from it. Each serving process
makes the key as it starts (core.serversecrets).

The cryptography libraries are imported when first needed: a server that never
meets a push client does not carry them (issue 16's memory bound).
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from calcard.core import serversecrets
from calcard.core.db import Database

if TYPE_CHECKING:
    from py_vapid import Vapid02

KEY_NAME = "vapid-private-key"
TOKEN_SECONDS = 12 * 3600  # RFC 8292 §2: at most 24 hours ahead


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Base64url with or without padding (RFC 4648 §5); ValueError when it is not."""
    if not text or any(c not in _ALPHABET for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


# The order of P-256's group (SEC 2 §2.4.2): a private key is a scalar in [1, n - 1].
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _new_private() -> str:
    """A new private scalar, drawn without the cryptography libraries (start-up makes
    it; they load with the first push)."""
    return b64url((secrets.randbelow(P256_ORDER - 1) + 1).to_bytes(32, "big"))


def make_key(db: Database) -> None:
    """Make the key pair unless it exists (a serving process's start)."""
    serversecrets.ensure(db, KEY_NAME, _new_private)


def signer(s: Session) -> Vapid02:
    """The signing key; ``sub`` is ours to choose (mailto: of CALCARD_MAIL_FROM), so
    py_vapid's strict check of it is off."""
    from py_vapid import Vapid02

    key = Vapid02.from_raw(serversecrets.stored(s, KEY_NAME, _new_private).encode("ascii"))
    key.conf = {"no-strict": True}
    return key


def public_key(s: Session) -> str:
    """The public key, uncompressed P-256 point (65 bytes), base64url: what
    ``P:vapid-public-key`` and the browser's ``applicationServerKey`` carry."""
    from cryptography.hazmat.primitives import serialization

    point = signer(s).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


def authorization(key: Vapid02, push_resource: str, contact: str) -> str:
    """The ``Authorization: vapid t=…, k=…`` header for a message to ``push_resource``
    (RFC 8292 §3): ``aud`` its origin, ``exp`` 12 hours ahead, ``sub`` the contact."""
    parts = urlsplit(push_resource)
    claims = {
        "aud": f"{parts.scheme}://{parts.netloc}",
        "exp": int(time.time()) + TOKEN_SECONDS,
        "sub": contact,
    }
    return key.sign(claims)["Authorization"]
