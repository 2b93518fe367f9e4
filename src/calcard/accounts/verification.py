"""Verifying a new account e-mail address by a signed link mailed to it.

An address a user types in stays *pending* (``User.email_pending``) until its
owner follows the link: only ``User.email``, a verified address, is matched by
scheduling, free/busy and reminders, so claiming a colleague's or partner's
address gains nothing. The link is signed with the server's link key
(calcard.links) and names the account, the address and an expiry; it is
shown as a page on GET and acts on POST only, since mail scanners follow
links (the same rule as the invitation answer links, calcard.api.rsvp).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from calcard.core import links, mailqueue
from calcard.core.catalogs import N_, say
from calcard.core.config import load_settings
from calcard.core.errors import Kind, Refusal
from calcard.core.models import User, as_id
from calcard.core.times import utcnow

VALID_FOR = timedelta(days=3)
FIELDS = ("u", "a", "e", "sig")
PATH = "/api/verify-email"


class LinkRefused(Refusal):
    """A verification link that cannot be used (forged, expired or superseded): the
    page behind the link answers it, not the JSON API."""

    def __init__(self, message: str) -> None:
        super().__init__(message, Kind.FORBIDDEN)
        self.source = message  # English, marked with N_: the page says it in its language


def _purpose(user_id: int, address: str, expires: int) -> str:
    return f"verify-email:{user_id}:{address.lower()}:{expires}"


def link(s: Session, user: User, now: datetime, base_url: str | None = None) -> str:
    """The signed URL that verifies ``user.email_pending`` for ``user``."""
    expires = int((now + VALID_FOR).timestamp())
    address = user.email_pending
    params = {
        "u": user.id,
        "a": address,
        "e": expires,
        "sig": links.sign(s, _purpose(user.id, address, expires)),
    }
    base = (base_url or load_settings().link_url).rstrip("/")
    return f"{base}{PATH}?{urlencode(params)}"


def send(s: Session, user: User, language: str) -> None:
    """Queue the verification mail to the pending address (in the caller's transaction),
    in the account's ``language``."""
    url = link(s, user, utcnow())
    text = say(
        language,
        "Someone, hopefully you, asked to use this address for the calcard account "
        "“{login}”.\n\nTo confirm, open this link and press the button:\n{link}\n\n"
        "The link works for {days} days. If this was not you, ignore this mail: "
        "nothing changes.",
        login=user.login,
        link=url,
        days=VALID_FOR.days,
    )
    subject = say(language, "Confirm your e-mail address")
    mailqueue.enqueue(s, user.login, user.email_pending, subject, text)


def link_owner(s: Session, params: dict[str, str]) -> str | None:
    """Whose account a link verifies (to lock before the write), if it names one."""
    user_id = as_id(params.get("u", ""))
    user = s.get(User, user_id) if user_id is not None else None
    return user.login if user else None


@dataclass(frozen=True)
class PendingAddress:
    user: User
    address: str


def open_link(s: Session, params: dict[str, str], now: datetime) -> PendingAddress:
    """Check a link's signature, expiry and that it names the account's pending address."""
    try:
        user_id, address, expires = int(params["u"]), params["a"], int(params["e"])
    except (KeyError, ValueError) as exc:
        incomplete = N_("This link is incomplete; open the whole link from the mail.")
        raise LinkRefused(incomplete) from exc
    if not links.verify(s, _purpose(user_id, address, expires), params.get("sig", "")):
        raise LinkRefused(N_("This link is not valid."))
    if now.timestamp() > expires:
        raise LinkRefused(N_("This link has expired; set the address again to get a new one."))
    user = s.get(User, user_id)
    if user is None or not address or user.email_pending.lower() != address.lower():
        raise LinkRefused(N_("This link is no longer valid: the account asks for another address."))
    return PendingAddress(user, user.email_pending)
