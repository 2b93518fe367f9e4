"""Network logins: credentials, the 2FA rule and failed-login throttling.

Failures are rows in the database, so every process and node sees the same
counts. Throttling slows guessing down and never locks anybody out: every
refusal waits (the base delay from the first failure on), longer the more
recent failures the login has (from any address) and the more the client's
address has (for any login), up to MAX_SLOWDOWN times the base delay. The
right password is never refused for the failures of others: a shared address
(NAT, a proxy) under a password spray, or a login someone is guessing at,
still lets the real user in at once. Every refusal is logged on
``calcard.auth``.

Per-request cost: the check reads the recent failures in one query (with the
credential check, the success path stays a read), and writes only what must
be recorded: a failure, or the clearing of this address's failures after a
success.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, delete, func, or_, select
from sqlalchemy.orm import Session

from calcard import accounts
from calcard.accounts import twofactor
from calcard.core.catalogs import N_
from calcard.core.db import Database
from calcard.core.models import LoginFailure
from calcard.core.times import utcnow

log = logging.getLogger("calcard.auth")

WINDOW = timedelta(minutes=15)
KEEP = timedelta(days=1)
LOGIN_STEP = 3  # each this many recent failures of a login (any address): one more delay
ADDRESS_STEP = 10  # each this many recent failures from an address (any login): one more
MAX_SLOWDOWN = 10  # at most this many times the base delay

WRONG = N_("wrong login or password")
NEEDS_APP_PASSWORD = N_(
    "two-factor authentication is on for this account: "
    "log in with an app password, not the account password"
)
NEEDS_CODE = N_("two-factor code required")
WRONG_CODE = N_("wrong or expired two-factor code")


@dataclass(frozen=True)
class Verdict:
    """The canonical login when accepted, else the reason for the refusal."""

    login: str | None
    reason: str = ""
    delay: float = 0.0  # seconds the caller should wait before answering a refusal
    app_password_id: int | None = None  # accepted with this app password (a device)

    @property
    def ok(self) -> bool:
        return self.login is not None

    @property
    def app_password(self) -> bool:
        """Accepted with an app password, not the account's own."""
        return self.app_password_id is not None


_RECENT_FAILURES = select(
    func.count().filter(LoginFailure.login == bindparam("login")),
    func.count().filter(
        LoginFailure.login == bindparam("login"), LoginFailure.address == bindparam("address")
    ),
    func.count().filter(LoginFailure.address == bindparam("address")),
).where(
    or_(LoginFailure.login == bindparam("login"), LoginFailure.address == bindparam("address")),
    LoginFailure.failed_at > bindparam("since"),
)


@dataclass(frozen=True)
class Recent:
    """Failures within WINDOW: of the login (anywhere), of the pair, of the address."""

    login: int
    pair: int
    address: int

    def slowdown(self, base_delay: float) -> float:
        """The wait for a refusal: the base delay, one more per step, at most MAX_SLOWDOWN."""
        steps = 1 + self.login // LOGIN_STEP + self.address // ADDRESS_STEP
        return base_delay * min(steps, MAX_SLOWDOWN)


def _recent(s: Session, login: str, address: str) -> Recent:
    """The three counts in one read built once (every DAV request pays for it)."""
    params = {"login": login, "address": address, "since": utcnow() - WINDOW}
    row = s.execute(_RECENT_FAILURES, params).one()
    return Recent(row[0], row[1], row[2])


def _decide(
    s: Session, login: str, password: str, otp: str, web: bool
) -> tuple[Verdict, accounts.Credential | None]:
    credential = accounts.check_credentials(s, login, password)
    if web and credential is not None and credential.app_password_id is not None:
        credential = None  # app passwords are for devices; they never open a web session
    if credential is None:
        if web:  # the same answer as for a login that does not exist
            return Verdict(None, WRONG), None
        # Same answer whether or not the password was right: no oracle for it.
        return Verdict(None, NEEDS_APP_PASSWORD if twofactor.is_on(s, login) else WRONG), None
    if credential.two_factor and credential.app_password_id is None and not otp:
        return Verdict(None, NEEDS_CODE if web else NEEDS_APP_PASSWORD), None
    return Verdict(credential.login, app_password_id=credential.app_password_id), (credential)


def record_failure(s: Session, login: str, address: str) -> None:
    s.execute(
        delete(LoginFailure).where(
            LoginFailure.login == login, LoginFailure.failed_at < utcnow() - KEEP
        )
    )
    s.add(LoginFailure(login=login, address=address))
    s.flush()


def _after_success(s: Session, credential: accounts.Credential, address: str, otp: str) -> Verdict:
    """Writes a successful login implies; a 2FA password login must bring a valid code."""
    if credential.two_factor and credential.app_password_id is None:
        if not twofactor.verify_totp(s, credential.login, otp):
            record_failure(s, credential.login, address)
            return Verdict(None, WRONG_CODE)
    if credential.app_password_id is not None:
        accounts.touch_app_password(s, credential.app_password_id)
    s.execute(
        delete(LoginFailure).where(
            LoginFailure.login == credential.login, LoginFailure.address == address
        )
    )
    return Verdict(credential.login, app_password_id=credential.app_password_id)


def _needs_writes(
    s: Session, credential: accounts.Credential, otp: str, pair_failures: int
) -> bool:
    return bool(
        (credential.two_factor and credential.app_password_id is None and otp)
        or (
            credential.app_password_id is not None
            and accounts.needs_touch(s, credential.app_password_id)
        )
        or pair_failures
    )


def attempt(
    db: Database,
    login: str,
    password: str,
    address: str | None,
    otp: str = "",
    base_delay: float = 1.0,
    web: bool = False,
) -> Verdict:
    """Check a network login under the throttling and 2FA rules.

    A refusal comes with the slowdown the caller waits before answering (not
    waited here: Radicale times failed logins and would make every later
    failure as slow as the slowest one).

    Reads in one transaction and writes only when something must be recorded,
    so the common case (a known phone syncing) stays a read. ``otp`` lets a
    2FA user log in with the account password plus a current code.

    ``web`` is the browser login: it takes the account password only (never an
    app password, which would skip the second factor), answers a wrong password
    exactly as an unknown login, and asks for the code (NEEDS_CODE) only once
    the password was right, so the login page can show a second step.
    """
    canonical = accounts.normalize_login(login)
    address = address or "unknown"
    with db.transaction() as s:
        recent = _recent(s, canonical, address)
        verdict, credential = _decide(s, canonical, password, otp, web)
        writes = credential is not None and _needs_writes(s, credential, otp, recent.pair)
    if credential is not None and writes:
        with db.transaction(write=True, owners=[canonical]) as s:
            verdict = _after_success(s, credential, address, otp)
    elif not verdict.ok:
        with db.transaction(write=True, owners=[canonical]) as s:
            record_failure(s, canonical, address)
    if verdict.ok:
        return verdict
    log.warning("login refused for %r from %s: %s", canonical, address, verdict.reason)
    return Verdict(None, verdict.reason, recent.slowdown(base_delay))
