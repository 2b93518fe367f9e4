"""TOTP two-factor authentication (RFC 6238) for the web login.

Once it is on, DAV and Basic-auth API calls accept only app passwords for the
user (see ``calcard.logins``): a phone's stored password must not bypass the
second factor. Codes are accepted once (the last used time step is kept).
Turning it on ends the user's other web sessions: they were opened without
the second factor.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from calcard import accounts
from calcard.accounts import sessions
from calcard.core.catalogs import N_
from calcard.core.errors import Kind, Refusal
from calcard.core.models import User

ISSUER = "calcard"
DRIFT_STEPS = 1  # accept the previous and next 30-second code too (phone clock drift)


@dataclass(frozen=True)
class Enrollment:
    secret: str
    uri: str  # otpauth:// URI for a QR code


def begin(s: Session, login: str) -> Enrollment:
    """Start (or restart) enrollment; 2FA is on only after ``confirm``."""
    user = accounts.get_user(s, login)
    if user.totp_enabled:
        raise Refusal(N_("two-factor authentication is already on; disable it first"))
    user.totp_secret = pyotp.random_base32()
    user.totp_last_step = 0
    s.flush()
    uri = pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.login, issuer_name=ISSUER)
    return Enrollment(user.totp_secret, uri)


def confirm(s: Session, login: str, code: str, keep_session: str = "") -> None:
    """Turn 2FA on once the user proves their authenticator shows the right code.

    Every other web session of the user ends (``keep_session`` is the cookie of
    the one making the change): whoever opened them had no second factor.
    """
    user = accounts.get_user(s, login)
    if user.totp_enabled:
        raise Refusal(N_("two-factor authentication is already on"))
    if not user.totp_secret:
        raise Refusal(N_("start two-factor enrollment first"))
    if not verify_totp(s, login, code):
        raise Refusal(N_("wrong or expired code"))
    user.totp_enabled = True
    sessions.end_others(s, user.id, keep_session)
    s.flush()


def disable(s: Session, login: str, code: str | None) -> None:
    """Turn 2FA off: the user needs a current code; the operator (code None) does not."""
    user = accounts.get_user(s, login)
    if not user.totp_enabled:
        raise Refusal(N_("two-factor authentication is not on"))
    if code is not None and not verify_totp(s, login, code):
        raise Refusal(N_("wrong or expired code"), Kind.FORBIDDEN)
    user.totp_enabled = False
    user.totp_secret = ""
    user.totp_last_step = 0
    s.flush()


def is_on(s: Session, login: str) -> bool:
    return bool(
        s.scalar(select(User.totp_enabled).where(User.login == accounts.normalize_login(login)))
    )


def verify_totp(s: Session, login: str, code: str, now: float | None = None) -> bool:
    """Whether ``code`` is the user's current code; a code is accepted only once."""
    user = accounts.get_user(s, login)
    if not user.totp_secret or not code:
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now = time.time() if now is None else now
    current = int(now // totp.interval)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step > user.totp_last_step and hmac.compare_digest(
            totp.generate_otp(step), code.strip()
        ):
            user.totp_last_step = step
            s.flush()
            return True
    return False
