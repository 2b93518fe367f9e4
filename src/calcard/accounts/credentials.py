"""Password hashing and a short-lived cache of verified logins.

argon2 is deliberately slow (tens of ms); DAV clients authenticate on every
request, and Radicale turns its own login cache off for custom auth plugins.
The cache key is a salted hash of login and password, so the plain password is
never kept, and a hit is honoured only while the stored hash is unchanged: a
changed password or a revoked app password stops working at once everywhere.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
import threading
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id with OWASP's first profile (m = 19 MiB, t = 2, p = 1; Password Storage Cheat
# Sheet) instead of argon2-cffi's default (RFC 9106's low-memory one: 64 MiB, t = 3, p = 4):
# every verification holds its memory, so the default put 64 MiB on the server's peak
# per login being checked. Stored hashes carry their own parameters and keep verifying.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# At most this many hashes computed at once: the memory of logins checked together
# stays bounded (a burst of new connections waits its turn instead).
_running = threading.BoundedSemaphore(4)
_SALT = os.urandom(16)
CACHE_SECONDS = 60
_cache: dict[str, tuple[float, str]] = {}  # key -> (expires, stored hash)
_lock = threading.Lock()


def hash_password(password: str) -> str:
    with _running:
        return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        with _running:
            return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def dummy_hash() -> str:
    """A hash to verify against when a login does not exist, so that a wrong
    login takes as long as a wrong password and answers reveal nothing."""
    return hash_password(secrets.token_urlsafe(16))


def new_app_password() -> str:
    """Four groups of six characters: easy to type on a phone, 120 bits."""
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(6)) for _ in range(4))


def _key(login: str, password: str) -> str:
    return hashlib.sha256(_SALT + login.encode() + b"\0" + password.encode()).hexdigest()


def cached(login: str, password: str) -> str | None:
    """The stored hash that verified these credentials recently, if any."""
    with _lock:
        hit = _cache.get(_key(login, password))
    if hit is None or hit[0] < time.monotonic():
        return None
    return hit[1]


def remember(login: str, password: str, stored_hash: str) -> None:
    now = time.monotonic()
    with _lock:
        if len(_cache) > 10_000:
            for key in [k for k, v in _cache.items() if v[0] < now]:
                del _cache[key]
        _cache[_key(login, password)] = (now + CACHE_SECONDS, stored_hash)
