"""Organizations, users, memberships, roles, product access and credentials.

The invariants live here so that no entry point (CLI, API, DAV) can break them
(DESIGN.md, Accounts).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from calcard import credentials, store
from calcard.models import AppPassword, Membership, Organization, User

ROLES = ("legal-representative", "administrator", "collaborator", "external")
LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
RESERVED_LOGINS = frozenset({"api", "web"})  # their paths belong to the web app, not DAV


@dataclass(frozen=True)
class Plan:
    max_calendars: int | None
    max_addressbooks: int | None
    retention_days: int


PLANS = {
    "free": Plan(max_calendars=1, max_addressbooks=1, retention_days=7),
    "plus": Plan(max_calendars=None, max_addressbooks=None, retention_days=30),
    "team": Plan(max_calendars=None, max_addressbooks=None, retention_days=30),
}

DEFAULT_COLLECTIONS = {
    "calendar": {
        "tag": "VCALENDAR",
        "D:displayname": "Calendar",
        "C:supported-calendar-component-set": "VEVENT,VTODO,VJOURNAL",
    },
    "contacts": {"tag": "VADDRESSBOOK", "D:displayname": "Contacts"},
}


class AccountError(ValueError):
    """A refused account change; the message is shown to the operator as is."""


@dataclass(frozen=True)
class Access:
    calendar: bool
    contacts: bool


def normalize_login(login: str) -> str:
    return login.strip().lower()


def get_org(s: Session, name: str) -> Organization:
    org = s.scalars(select(Organization).where(Organization.name == name)).first()
    if org is None:
        raise AccountError(f"no organization named {name!r}")
    return org


def get_user(s: Session, login: str) -> User:
    user = s.scalars(select(User).where(User.login == normalize_login(login))).first()
    if user is None:
        raise AccountError(f"no user with login {login!r}")
    return user


def create_org(s: Session, name: str, plan: str = "free") -> Organization:
    if plan not in PLANS:
        raise AccountError(f"unknown plan {plan!r} (choose {', '.join(PLANS)})")
    if not name.strip():
        raise AccountError("an organization needs a name")
    if s.scalars(select(Organization).where(Organization.name == name)).first():
        raise AccountError(f"organization {name!r} already exists")
    org = Organization(name=name, plan=plan)
    s.add(org)
    s.flush()
    return org


def _membership(s: Session, org: Organization, user: User) -> Membership | None:
    return s.scalars(
        select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id)
    ).first()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (choose {', '.join(ROLES)})")


def add_user(
    s: Session,
    login: str,
    org_name: str,
    role: str,
    password: str,
    email: str = "",
    name: str = "",
) -> User:
    """Create a user (or add an existing login to another organization).

    A new user gets a default calendar and address book right away, so a phone
    set up before the first web login finds them.
    """
    _check_role(role)
    org = get_org(s, org_name)
    canonical = normalize_login(login)
    if not LOGIN_RE.match(canonical):
        raise AccountError(
            f"invalid login {login!r}: use letters, digits, '.', '_' or '-' (max 63)"
        )
    if canonical in RESERVED_LOGINS:
        raise AccountError(f"the login {canonical!r} is reserved")
    user = s.scalars(select(User).where(User.login == canonical)).first()
    if user is None:
        if len(password) < 8:
            raise AccountError("the password must have at least 8 characters")
        user = User(
            login=canonical,
            email=email,
            name=name,
            password_hash=credentials.hash_password(password),
        )
        s.add(user)
        s.flush()
        for slug, props in DEFAULT_COLLECTIONS.items():
            store.create_collection(s, f"{canonical}/{slug}", props)
    elif _membership(s, org, user) is not None:
        raise AccountError(f"{canonical!r} is already a member of {org_name!r}")
    s.add(Membership(org_id=org.id, user_id=user.id, role=role))
    s.flush()
    return user


def _legal_representatives(s: Session, org: Organization) -> int:
    return (
        s.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.org_id == org.id, Membership.role == "legal-representative")
        )
        or 0
    )


def _require_membership(
    s: Session, login: str, org_name: str
) -> tuple[Organization, User, Membership]:
    org = get_org(s, org_name)
    user = get_user(s, login)
    membership = _membership(s, org, user)
    if membership is None:
        raise AccountError(f"{user.login!r} is not a member of {org_name!r}")
    return org, user, membership


def _guard_last_legal_representative(s: Session, org: Organization, membership: Membership) -> None:
    if membership.role == "legal-representative" and _legal_representatives(s, org) <= 1:
        raise AccountError(
            f"the last legal representative of {org.name!r} cannot be removed or demoted; "
            "appoint another one first"
        )


def remove_user(s: Session, login: str, org_name: str) -> None:
    """End a membership; a user left in no organization is deleted, data to trash."""
    org, user, membership = _require_membership(s, login, org_name)
    _guard_last_legal_representative(s, org, membership)
    s.delete(membership)
    s.flush()
    if s.scalar(select(func.count()).select_from(Membership).where(Membership.user_id == user.id)):
        return
    home = store.get_collection(s, user.login)
    if home is not None:
        store.delete_collection(s, home, actor="admin")
    s.delete(user)
    s.flush()


def set_role(s: Session, login: str, org_name: str, role: str, actor: str | None = None) -> None:
    """Change a role; ``actor`` None is the operator at the CLI."""
    _check_role(role)
    org, _user, membership = _require_membership(s, login, org_name)
    if role == "legal-representative" and actor is not None:
        _, _, actor_membership = _require_membership(s, actor, org_name)
        if actor_membership.role != "legal-representative":
            raise AccountError("only a legal representative can appoint a legal representative")
    if role != membership.role:
        _guard_last_legal_representative(s, org, membership)
    membership.role = role
    s.flush()


def set_user(
    s: Session,
    login: str,
    email: str | None = None,
    chat_webhook: str | None = None,
    timezone: str | None = None,
) -> User:
    user = get_user(s, login)
    if email is not None:
        user.email = email
    if chat_webhook is not None:
        if chat_webhook and not re.match(r"^https?://", chat_webhook):
            raise AccountError("the chat webhook must be an http(s) URL")
        user.chat_webhook = chat_webhook
    if timezone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise AccountError(f"unknown time zone {timezone!r}") from exc
        user.timezone = timezone
    s.flush()
    return user


def get_settings(s: Session, login: str) -> dict:
    """Per-user preferences (birthday sources, reminders, ...) as a JSON object."""
    return json.loads(get_user(s, login).settings or "{}")


def update_settings(s: Session, login: str, changes: dict) -> dict:
    user = get_user(s, login)
    settings = {**json.loads(user.settings or "{}"), **changes}
    user.settings = json.dumps(settings, sort_keys=True)
    s.flush()
    return settings


def add_app_password(s: Session, login: str, label: str) -> str:
    """Create an app password and return it in clear (shown once)."""
    user = get_user(s, login)
    if not label.strip():
        raise AccountError("an app password needs a label")
    secret = credentials.new_app_password()
    s.add(
        AppPassword(user_id=user.id, label=label, password_hash=credentials.hash_password(secret))
    )
    s.flush()
    return secret


def set_product_access(
    s: Session, login: str, org_name: str, calendar: bool, contacts: bool
) -> None:
    """Which products (calendar, contacts) a member may use in this organization."""
    _org, _user, membership = _require_membership(s, login, org_name)
    membership.calendar_access = calendar
    membership.contacts_access = contacts
    s.flush()


def _hashes(s: Session, user: User) -> list[str]:
    """The account password's hash first, then the live app passwords'."""
    app_hashes = s.scalars(
        select(AppPassword.password_hash).where(
            AppPassword.user_id == user.id, AppPassword.revoked_at.is_(None)
        )
    )
    return [user.password_hash, *app_hashes]


def authenticate(s: Session, login: str, password: str) -> str | None:
    """The canonical login for valid credentials, else None."""
    canonical = normalize_login(login)
    user = s.scalars(select(User).where(User.login == canonical)).first()
    if user is None or not password:
        credentials.verify_password(credentials.dummy_hash(), password)  # same time as a miss
        return None
    hashes = _hashes(s, user)
    if credentials.cached(canonical, password) in hashes:
        return canonical
    for stored in hashes:
        if credentials.verify_password(stored, password):
            credentials.remember(canonical, password, stored)
            return canonical
    return None


def product_access(s: Session, login: str) -> Access:
    rows = s.execute(
        select(Membership.calendar_access, Membership.contacts_access)
        .join(User, User.id == Membership.user_id)
        .where(User.login == normalize_login(login))
    ).all()
    return Access(calendar=any(r[0] for r in rows), contacts=any(r[1] for r in rows))


def retention_days(s: Session, login: str) -> int:
    """The longest retention among the user's organizations' plans."""
    plans = s.scalars(
        select(Organization.plan)
        .join(Membership, Membership.org_id == Organization.id)
        .join(User, User.id == Membership.user_id)
        .where(User.login == normalize_login(login))
    )
    return max((PLANS[p].retention_days for p in plans), default=PLANS["free"].retention_days)
