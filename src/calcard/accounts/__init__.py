"""Organizations, users, memberships, roles, product access and credentials.

The invariants live here so that no entry point (CLI, API, DAV) can break them
(DESIGN.md, Accounts).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session, aliased

from calcard import store
from calcard.accounts import belongings, credentials, sessions, verification
from calcard.core import catalogs, mailqueue
from calcard.core.catalogs import N_, say
from calcard.core.db import address_key, lock_owners
from calcard.core.errors import Kind, Refusal
from calcard.core.models import (
    AppPassword,
    Membership,
    Organization,
    OrgInvitation,
    PushSubscription,
    User,
    Workgroup,
    WorkgroupMember,
)
from calcard.core.times import as_utc, utcnow, valid_zone
from calcard.store import busy, inbox

LAST_USED_STEP = timedelta(minutes=1)
ROLES = ("legal-representative", "administrator", "collaborator", "external")
# How mails name a role (the role itself is a stored keyword).
ROLE_NAMES = {
    "legal-representative": N_("legal representative"),
    "administrator": N_("administrator"),
    "collaborator": N_("collaborator"),
    "external": N_("external"),
}
LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
RESERVED_LOGINS = frozenset({"api", "web", "metrics"})  # their paths are the web app's, not DAV


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


MANAGERS = ("legal-representative", "administrator")


@dataclass(frozen=True)
class Access:
    calendar: bool
    contacts: bool


def normalize_login(login: str) -> str:
    return login.strip().lower()


def get_org(s: Session, name: str) -> Organization:
    org = s.scalars(select(Organization).where(Organization.name == name)).first()
    if org is None:
        raise Refusal(N_("no organization named {name!r}"), Kind.NOT_FOUND, values={"name": name})
    return org


# Built once: every DAV request reads the user, their secrets and their access.
_USER = select(User).where(User.login == bindparam("login"))
_LIVE_APP_PASSWORDS = select(AppPassword.id, AppPassword.password_hash).where(
    AppPassword.user_id == bindparam("user_id"), AppPassword.revoked_at.is_(None)
)
_ACCESS = (
    select(Membership.calendar_access, Membership.contacts_access)
    .join(User, User.id == Membership.user_id)
    .where(User.login == bindparam("login"))
)


def find_user(s: Session, login: str) -> User | None:
    return s.scalars(_USER, {"login": normalize_login(login)}).first()


def get_user(s: Session, login: str) -> User:
    user = find_user(s, login)
    if user is None:
        raise Refusal(N_("no user with login {login!r}"), Kind.NOT_FOUND, values={"login": login})
    return user


def create_org(s: Session, name: str, plan: str = "free") -> Organization:
    if plan not in PLANS:
        raise Refusal(
            N_("unknown plan {plan!r} (choose {plans})"),
            values={"plan": plan, "plans": ", ".join(PLANS)},
        )
    if not name.strip():
        raise Refusal(N_("an organization needs a name"))
    if s.scalars(select(Organization).where(Organization.name == name)).first():
        raise Refusal(N_("organization {name!r} already exists"), values={"name": name})
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
        raise Refusal(
            N_("unknown role {role!r} (choose {roles})"),
            values={"role": role, "roles": ", ".join(ROLES)},
        )


def add_user(
    s: Session,
    login: str,
    org_name: str,
    role: str,
    password: str,
    email: str = "",
    name: str = "",
    actor: str | None = None,
) -> User:
    """Create a user, or add (operator) or invite (manager) an existing login.

    A new user gets a default calendar and address book right away, so a phone
    set up before the first web login finds them. ``actor`` None is the
    operator at the CLI; otherwise only a manager of the organization may add,
    and only a legal representative may add a legal representative. A
    manager's address for a new user is pending until verified (the
    operator's counts as verified); it is set once the user is a member, so the
    verification mail is in the organization's default language. An existing
    login is the user's own: a manager only invites it (``membership_status``
    then says "pending") and the user accepts or declines; the operator adds it
    at once.
    """
    _check_role(role)
    org = get_org(s, org_name)
    require_manager(s, actor, org, role)
    canonical = normalize_login(login)
    if not LOGIN_RE.match(canonical):
        raise Refusal(
            N_("invalid login {login!r}: use letters, digits, '.', '_' or '-' (max 63)"),
            values={"login": login},
        )
    if canonical in RESERVED_LOGINS:
        raise Refusal(N_("the login {canonical!r} is reserved"), values={"canonical": canonical})
    user = find_user(s, canonical)
    created = user is None
    if user is None:
        user = _create_user(s, canonical, password, name)
    elif _membership(s, org, user) is not None:
        raise Refusal(
            N_("{canonical!r} is already a member of {org_name!r}"),
            values={"canonical": canonical, "org_name": org_name},
        )
    elif actor is not None:
        _invite(s, org, user, role, actor)
        return user
    invited = _invitation(s, org, user)
    if invited is not None:
        s.delete(invited)  # the operator's add answers it
    s.add(Membership(org_id=org.id, user_id=user.id, role=role))
    s.flush()
    if created:  # a member now: a verification mail is in the organization's language
        _set_email(s, user, email, verified=actor is None)
    return user


def _create_user(s: Session, login: str, password: str, name: str) -> User:
    if len(password) < 8:
        raise Refusal(N_("the password must have at least {count} characters"), values={"count": 8})
    user = User(login=login, name=name, password_hash=credentials.hash_password(password))
    s.add(user)
    s.flush()
    for slug, props in DEFAULT_COLLECTIONS.items():
        store.create_collection(s, f"{login}/{slug}", props)
    inbox.create_boxes(s, login)
    return user


# --- invitations: an existing login joins another organization only by consent ----------


@dataclass(frozen=True)
class InvitationInfo:
    id: int
    org: str
    role: str
    invited_by: str
    created_at: datetime


def _invitation(s: Session, org: Organization, user: User) -> OrgInvitation | None:
    return s.scalars(
        select(OrgInvitation).where(
            OrgInvitation.org_id == org.id, OrgInvitation.user_id == user.id
        )
    ).first()


def _invite(s: Session, org: Organization, user: User, role: str, actor: str) -> None:
    """Ask ``user`` to join ``org``; nothing of theirs is visible there until they accept."""
    if _invitation(s, org, user) is not None:
        raise Refusal(
            N_("{login!r} is already invited to {org!r}"),
            values={"login": user.login, "org": org.name},
        )
    inviter = find_user(s, actor)
    s.add(
        OrgInvitation(
            org_id=org.id, user_id=user.id, role=role, invited_by=inviter.id if inviter else None
        )
    )
    s.flush()
    if user.email:
        spoken = language(s, user.login)
        text = say(
            spoken,
            "{actor} invites you to join the organization “{org}” on calcard as {role}.\n"
            "Accept or decline in the calendar's settings; until you accept, the "
            "organization sees nothing of yours.",
            actor=actor,
            org=org.name,
            role=say(spoken, ROLE_NAMES[role]),
        )
        subject = say(spoken, "Invitation to join {org}", org=org.name)
        mailqueue.enqueue(s, user.login, user.email, subject, text)


def invitations_of(s: Session, login: str) -> list[InvitationInfo]:
    """The invitations waiting for ``login``'s answer, oldest first."""
    user = get_user(s, login)
    inviter = aliased(User)
    rows = s.execute(
        select(OrgInvitation, Organization.name, inviter.login)
        .join(Organization, Organization.id == OrgInvitation.org_id)
        .outerjoin(inviter, inviter.id == OrgInvitation.invited_by)
        .where(OrgInvitation.user_id == user.id)
        .order_by(OrgInvitation.id)
    )
    return [
        InvitationInfo(inv.id, org, inv.role, by or "", inv.created_at) for inv, org, by in rows
    ]


def _own_invitation(s: Session, login: str, invitation_id: int) -> OrgInvitation:
    user = get_user(s, login)
    row = s.get(OrgInvitation, invitation_id)
    if row is None or row.user_id != user.id:
        raise Refusal(
            N_("no invitation {invitation_id} for {login!r}"),
            Kind.NOT_FOUND,
            values={"invitation_id": invitation_id, "login": user.login},
        )
    return row


def accept_invitation(s: Session, login: str, invitation_id: int) -> MembershipInfo:
    """The invited user (or the operator for them) accepts: the membership begins."""
    row = _own_invitation(s, login, invitation_id)
    s.add(Membership(org_id=row.org_id, user_id=row.user_id, role=row.role))
    org = s.get(Organization, row.org_id)
    s.delete(row)
    s.flush()
    return member(s, org.name, login)  # type: ignore[union-attr]  # the invitation's org exists


def decline_invitation(s: Session, login: str, invitation_id: int) -> str:
    """The invited user declines; the invitation is gone. Returns the organization's name."""
    row = _own_invitation(s, login, invitation_id)
    org = s.get(Organization, row.org_id)
    s.delete(row)
    s.flush()
    return org.name  # type: ignore[union-attr]  # the invitation's org exists


def withdraw_invitation(s: Session, login: str, org_name: str, actor: str | None) -> bool:
    """A manager withdraws a pending invitation; False when ``login`` is not invited there."""
    org = get_org(s, org_name)
    user = find_user(s, login)
    row = _invitation(s, org, user) if user is not None else None
    if row is None:
        return False
    require_manager(s, actor, org, row.role)
    s.delete(row)
    s.flush()
    return True


def membership_status(s: Session, login: str, org_name: str) -> str | None:
    """Whether ``login`` is an "active" member of ``org_name``, "pending" (invited) or None."""
    org = get_org(s, org_name)
    user = find_user(s, login)
    if user is None:
        return None
    if _membership(s, org, user) is not None:
        return "active"
    return "pending" if _invitation(s, org, user) is not None else None


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
        raise Refusal(
            N_("{login!r} is not a member of {org_name!r}"),
            Kind.NOT_FOUND,
            values={"login": user.login, "org_name": org_name},
        )
    return org, user, membership


def _guard_last_legal_representative(s: Session, org: Organization, membership: Membership) -> None:
    if membership.role == "legal-representative" and _legal_representatives(s, org) <= 1:
        raise Refusal(
            N_(
                "the last legal representative of {org!r} cannot be removed or demoted; "
                "appoint another one first"
            ),
            values={"org": org.name},
        )


def role_of(s: Session, login: str, org: Organization) -> str | None:
    """The role of ``login`` in ``org``, None when not a member."""
    return s.scalar(
        select(Membership.role)
        .join(User, User.id == Membership.user_id)
        .where(Membership.org_id == org.id, User.login == normalize_login(login))
    )


def require_manager(
    s: Session,
    actor: str | None,
    org: Organization,
    role: str = "",
    refused: str = N_(
        "only a legal representative or an administrator of {org!r} can change members"
    ),
) -> None:
    """Refuse unless ``actor`` manages ``org`` (``refused``: the refusal's whole sentence,
    naming the change, with ``{org!r}``, so it translates);
    touching a legal representative needs one.

    Making, demoting or removing a legal representative is reserved to legal
    representatives, so an administrator cannot take over the organization.
    """
    if actor is None:
        return
    actor_role = role_of(s, actor, org)
    if actor_role not in MANAGERS:
        raise Refusal(refused, Kind.FORBIDDEN, values={"org": org.name})
    if role == "legal-representative" and actor_role != "legal-representative":
        raise Refusal(
            N_("only a legal representative can appoint, demote or remove a legal representative"),
            Kind.FORBIDDEN,
        )


def remove_user(s: Session, login: str, org_name: str, actor: str | None = None) -> None:
    """End a membership; a user left in no organization is deleted with all they own.

    A member may leave by themselves (``actor`` == ``login``); anyone else needs
    to manage the organization. Deleting the user deletes their data for good,
    trash included (``belongings.delete_belongings`` says why), so whoever gets
    the login next starts empty.
    """
    org, user, membership = _require_membership(s, login, org_name)
    if actor is None or normalize_login(actor) != user.login:
        require_manager(s, actor, org, membership.role)
    _guard_last_legal_representative(s, org, membership)
    s.delete(membership)
    groups = select(Workgroup.id).where(Workgroup.org_id == org.id)
    s.execute(
        delete(WorkgroupMember).where(
            WorkgroupMember.user_id == user.id, WorkgroupMember.workgroup_id.in_(groups)
        )
    )
    s.flush()
    if s.scalar(select(func.count()).select_from(Membership).where(Membership.user_id == user.id)):
        return
    lock_owners(s, [user.login])  # no DAV write of theirs lands in the middle
    belongings.delete_belongings(s, user)
    s.delete(user)
    s.flush()


def set_role(s: Session, login: str, org_name: str, role: str, actor: str | None = None) -> None:
    """Change a role; ``actor`` None is the operator at the CLI."""
    _check_role(role)
    org, _user, membership = _require_membership(s, login, org_name)
    touches_legal = "legal-representative" in (role, membership.role)
    require_manager(s, actor, org, "legal-representative" if touches_legal else role)
    if role != membership.role:
        _guard_last_legal_representative(s, org, membership)
    membership.role = role
    s.flush()


def _check_outbound(url: str) -> None:
    """A webhook that resolves to an internal address is refused when set (delivery re-checks)."""
    from calcard.core import outbound
    from calcard.core.config import load_settings

    if not url:
        return
    try:
        outbound.check_url(url, load_settings().outbound_allow)
    except outbound.Refused as exc:
        raise Refusal(N_("the chat webhook must be a public address")) from exc


def set_user(
    s: Session,
    login: str,
    email: str | None = None,
    chat_webhook: str | None = None,
    timezone: str | None = None,
    actor: str | None = None,
) -> User:
    """A person's own details: changed by the user themselves or the operator (actor None).

    Never by a manager or legal representative: whoever sets the e-mail address
    or chat webhook receives the reminders (titles, places) and invitations.
    The user's new address waits for verification; the operator's is verified.
    """
    user = get_user(s, login)
    if actor is not None and normalize_login(actor) != user.login:
        raise Refusal(
            N_("only {login!r} changes their own e-mail, chat webhook and time zone"),
            Kind.FORBIDDEN,
            values={"login": user.login},
        )
    if email is not None:
        _set_email(s, user, email, verified=actor is None)
    if chat_webhook is not None:
        if chat_webhook and (
            len(chat_webhook) > 1000 or not re.fullmatch(r"https?://\S+", chat_webhook)
        ):
            raise Refusal(N_("the chat webhook must be an http(s) URL"))
        if actor is not None:  # a user's (or manager's) change; the operator is trusted
            _check_outbound(chat_webhook)
        user.chat_webhook = chat_webhook
    if timezone is not None:
        if not valid_zone(timezone):
            raise Refusal(N_("unknown time zone {timezone!r}"), values={"timezone": timezone})
        if timezone != user.timezone:
            busy.expire_zoned(s, user.login)
        user.timezone = timezone
    s.flush()
    return user


def get_settings(s: Session, login: str) -> dict:
    """Per-user preferences (birthday sources, reminders, ...) as a JSON object."""
    return json.loads(get_user(s, login).settings or "{}")


def org_language(s: Session, org_name: str, actor: str | None = None) -> str:
    """The organization's default language ("" when it has none: English); its members
    (externals included: it is what their mails may be written in) may read it."""
    org = get_org(s, org_name)
    if actor is not None and role_of(s, actor, org) is None:
        raise Refusal(
            N_("only members of {org!r} see its language"), Kind.FORBIDDEN, values={"org": org.name}
        )
    return org.language or ""


def set_org_language(s: Session, org_name: str, code: str, actor: str | None = None) -> str:
    """Set the organization's default language: its members' language when they chose
    none and their browser names none supported (``language``). "" or English resets
    it; an unsupported code is refused and nothing changes. One door for CLI and API."""
    org = get_org(s, org_name)
    require_manager(
        s,
        actor,
        org,
        refused=N_(
            "only a legal representative or an administrator of {org!r} can change its language"
        ),
    )
    wanted = (code or "").strip().lower()
    if wanted and wanted not in catalogs.SUPPORTED:
        raise Refusal(
            N_("unknown language “{code}”: use one of {languages}"),
            values={"code": code, "languages": ", ".join(catalogs.SUPPORTED)},
        )
    org.language = "" if wanted == catalogs.SOURCE else wanted
    s.flush()
    return org.language


def language(s: Session, login: str, accept_language: str | None = None) -> str:
    """The language ``login`` reads in: their setting, else what their browser accepts
    (``accept_language``, for pages), else their organization's default, else English
    (CONTRACT.md "Languages"). Mails pass no header."""
    org = current_org(s, login)
    setting = get_settings(s, login).get("language")
    return catalogs.choose(setting, accept_language, org.language if org else None)


def update_settings(s: Session, login: str, changes: dict) -> dict:
    user = get_user(s, login)
    settings = {**json.loads(user.settings or "{}"), **changes}
    user.settings = json.dumps(settings, sort_keys=True)
    s.flush()
    return settings


MIN_PASSWORD, MAX_PASSWORD = 8, 1000


def _check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Refusal(
            N_("the password must have at least {count} characters"),
            values={"count": MIN_PASSWORD},
        )
    if len(password) > MAX_PASSWORD:
        raise Refusal(
            N_("the password must have at most {count} characters"),
            values={"count": MAX_PASSWORD},
        )


def set_password(s: Session, login: str, password: str, keep_session: str = "") -> User:
    """Give the user a new account password and end their other web sessions.

    Whoever held another session (a stolen cookie included) must log in again
    with the new password; ``keep_session`` is the cookie of the session making
    the change, if any (the operator at the CLI has none: every session ends).
    App passwords are separate, revocable device credentials and stay valid,
    as on the big providers; the user revokes them one by one.
    """
    user = get_user(s, login)
    _check_new_password(password)
    user.password_hash = credentials.hash_password(password)
    sessions.end_others(s, user.id, keep_session)
    s.flush()
    return user


def change_password(s: Session, login: str, current: str, new: str, keep_session: str = "") -> User:
    """The user's own change: the current account password (never an app password) first."""
    user = get_user(s, login)
    if not credentials.verify_password(user.password_hash, current):
        raise Refusal(N_("the current password is wrong"), Kind.FORBIDDEN)
    return set_password(s, login, new, keep_session)


def add_app_password(s: Session, login: str, label: str) -> str:
    """Create an app password and return it in clear (shown once)."""
    user = get_user(s, login)
    if not label.strip():
        raise Refusal(N_("an app password needs a label"))
    secret = credentials.new_app_password()
    s.add(
        AppPassword(user_id=user.id, label=label, password_hash=credentials.hash_password(secret))
    )
    s.flush()
    return secret


# --- e-mail addresses: unique (case-blind) and verified ---------------------------------


def _check_email(email: str) -> str:
    if email and (len(email) > 320 or not re.fullmatch(r"[^@\s]+@[^@\s]+", email)):
        raise Refusal(N_("{email!r} is not an e-mail address"), values={"email": email})
    return email


def _require_free_address(s: Session, user: User, address: str) -> None:
    """Refuse an address another account holds (verified), any case.

    Locks the address first, so a concurrent claim of it waits for this
    transaction and then sees it taken (a 409, not the unique index's error).
    """
    lock_owners(s, [address_key(address)])
    holder = s.scalar(
        select(User.login).where(User.email_key == address.lower(), User.id != user.id)
    )
    if holder is not None:
        raise Refusal(
            N_("the address {address!r} belongs to another account"),
            Kind.CONFLICT,
            values={"address": address},
        )


def _set_email(s: Session, user: User, email: str, verified: bool) -> None:
    """Set (operator: ``verified``) or ask to verify (the user) an account address.

    Removing one's address needs no proof; the same address (any case) keeps
    the verified one and drops a pending request; any other address waits in
    ``email_pending`` while the verified one stays in use, and a signed link
    is mailed to it (calcard.verification).
    """
    email = _check_email(email.strip())
    if email:
        _require_free_address(s, user, email)
    if verified or not email:
        user.email, user.email_pending = email, ""
    elif email.lower() == user.email_key:
        user.email_pending = ""
    else:
        user.email_pending = email
        s.flush()
        verification.send(s, user, language(s, user.login))
    s.flush()


def verify_email(s: Session, params: dict[str, str]) -> User:
    """Follow a verification link (its POST): the pending address becomes the account's.

    Raises verification.LinkRefused for a bad link, a conflict when another
    account verified the same address first.
    """
    pending = verification.open_link(s, params, utcnow())
    _require_free_address(s, pending.user, pending.address)
    pending.user.email, pending.user.email_pending = pending.address, ""
    s.flush()
    return pending.user


def organizations_of(s: Session, login: str) -> list[Organization]:
    """The user's organizations, oldest membership first."""
    return list(
        s.scalars(
            select(Organization)
            .join(Membership, Membership.org_id == Organization.id)
            .join(User, User.id == Membership.user_id)
            .where(User.login == normalize_login(login))
            .order_by(Membership.id)
        )
    )


def set_product_access(
    s: Session,
    login: str,
    org_name: str,
    calendar: bool | None,
    contacts: bool | None,
    actor: str | None = None,
) -> None:
    """Which products (calendar, contacts) a member may use here; None keeps one as is."""
    org, _user, membership = _require_membership(s, login, org_name)
    require_manager(s, actor, org, membership.role)
    if calendar is not None:
        membership.calendar_access = calendar
    if contacts is not None:
        membership.contacts_access = contacts
    s.flush()


@dataclass(frozen=True)
class Credential:
    """Who logged in and with what: ``app_password_id`` None means the account password."""

    login: str
    app_password_id: int | None
    two_factor: bool


def _live_secrets(s: Session, user: User) -> list[tuple[int | None, str]]:
    """The account password's hash first, then the live app passwords' (id, hash)."""
    rows = s.execute(_LIVE_APP_PASSWORDS, {"user_id": user.id})
    return [(None, user.password_hash), *((r.id, r.password_hash) for r in rows)]


def check_credentials(s: Session, login: str, password: str) -> Credential | None:
    """Which credential of ``login`` the password is, if any (no policy applied here)."""
    canonical = normalize_login(login)
    user = find_user(s, canonical)
    if user is None or not password:
        credentials.verify_password(credentials.dummy_hash(), password)  # same time as a miss
        return None
    secrets = _live_secrets(s, user)
    remembered = credentials.cached(canonical, password)
    found = [i for i, stored in secrets if stored == remembered]
    if not found:
        for secret_id, stored in secrets:
            if credentials.verify_password(stored, password):
                credentials.remember(canonical, password, stored)
                found = [secret_id]
                break
    return Credential(canonical, found[0], user.totp_enabled) if found else None


def authenticate(s: Session, login: str, password: str) -> str | None:
    """The canonical login for valid credentials, else None (no throttling or 2FA policy).

    Entry points that face the network use ``calcard.logins.attempt`` instead.
    """
    found = check_credentials(s, login, password)
    return found.login if found else None


@dataclass(frozen=True)
class AppPasswordInfo:
    id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None


def list_app_passwords(s: Session, login: str) -> list[AppPasswordInfo]:
    """The live app passwords of ``login`` (never their secrets)."""
    user = get_user(s, login)
    rows = s.scalars(
        select(AppPassword)
        .where(AppPassword.user_id == user.id, AppPassword.revoked_at.is_(None))
        .order_by(AppPassword.id)
    )
    return [AppPasswordInfo(r.id, r.label, r.created_at, r.last_used_at) for r in rows]


def revoke_app_password(s: Session, login: str, password_id: int) -> None:
    """Revoke at once: verification only honours hashes of live app passwords."""
    user = get_user(s, login)
    row = s.get(AppPassword, password_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        raise Refusal(
            N_("no app password {password_id} for {login!r}"),
            Kind.NOT_FOUND,
            values={"password_id": password_id, "login": user.login},
        )
    row.revoked_at = utcnow()
    s.execute(  # the device's push registrations end with it
        delete(PushSubscription).where(
            PushSubscription.owner == user.login, PushSubscription.app_password_id == password_id
        )
    )
    s.flush()


def needs_touch(s: Session, password_id: int) -> bool:
    """Whether a use should be recorded: at most once a minute, so DAV stays read-mostly."""
    row = s.get(AppPassword, password_id)
    return row is not None and (
        row.last_used_at is None or as_utc(row.last_used_at) < utcnow() - LAST_USED_STEP
    )


def touch_app_password(s: Session, password_id: int) -> None:
    if needs_touch(s, password_id):
        # needs_touch found the row
        s.get(AppPassword, password_id).last_used_at = utcnow()  # type: ignore[union-attr]
        s.flush()


@dataclass(frozen=True)
class MembershipInfo:
    org: str
    plan: str
    login: str
    name: str
    email: str
    role: str
    calendar: bool
    contacts: bool
    status: str = "active"  # "pending": invited, not a member yet


def _membership_rows(s: Session):
    return (
        select(Organization, User, Membership)
        .join(Membership, Membership.org_id == Organization.id)
        .join(User, User.id == Membership.user_id)
    )


def _info(org: Organization, user: User, m: Membership) -> MembershipInfo:
    return MembershipInfo(
        org.name,
        org.plan,
        user.login,
        user.name,
        user.email,
        m.role,
        m.calendar_access,
        m.contacts_access,
    )


def memberships_of(s: Session, login: str) -> list[MembershipInfo]:
    """Every organization of ``login`` with its role there, oldest first."""
    rows = s.execute(
        _membership_rows(s).where(User.login == normalize_login(login)).order_by(Membership.id)
    )
    return [_info(*r) for r in rows]


def members(s: Session, org_name: str, actor: str | None = None) -> list[MembershipInfo]:
    """The members of an organization; externals see no directory of it."""
    org = get_org(s, org_name)
    if actor is not None and role_of(s, actor, org) in (None, "external"):
        raise Refusal(
            N_("only members of {org_name!r} (not externals) see its members"),
            Kind.FORBIDDEN,
            values={"org_name": org_name},
        )
    rows = s.execute(_membership_rows(s).where(Organization.id == org.id).order_by(User.login))
    return [_info(*r) for r in rows] + _invited(s, org)


def _invited(s: Session, org: Organization) -> list[MembershipInfo]:
    """Pending invitations as the organization sees them: login and role, nothing more."""
    rows = s.execute(
        select(User.login, OrgInvitation.role)
        .join(OrgInvitation, OrgInvitation.user_id == User.id)
        .where(OrgInvitation.org_id == org.id)
        .order_by(User.login)
    )
    return [
        MembershipInfo(org.name, org.plan, login, "", "", role, False, False, "pending")
        for login, role in rows
    ]


def member(s: Session, org_name: str, login: str) -> MembershipInfo:
    """One membership, or a not-found refusal."""
    org, user, membership = _require_membership(s, login, org_name)
    return _info(org, user, membership)


def current_org(s: Session, login: str) -> Organization | None:
    """The organization the user switched to, else their first one."""
    user = get_user(s, login)
    orgs = organizations_of(s, user.login)
    chosen = [o for o in orgs if o.id == user.current_org_id]
    return next(iter(chosen or orgs), None)


def switch_org(s: Session, login: str, org_name: str) -> Organization:
    """Make ``org_name`` the user's current organization (they must belong to it)."""
    org, user, _membership = _require_membership(s, login, org_name)
    user.current_org_id = org.id
    s.flush()
    return org


def plan_of(s: Session, login: str) -> Plan:
    """The most generous plan among the user's organizations."""
    plans = [PLANS[o.plan] for o in organizations_of(s, login)] or [PLANS["free"]]
    return Plan(
        max_calendars=_most(p.max_calendars for p in plans),
        max_addressbooks=_most(p.max_addressbooks for p in plans),
        retention_days=max(p.retention_days for p in plans),
    )


def _most(limits) -> int | None:
    values = list(limits)
    return None if None in values else max(values)


# One sentence per kind and number (a noun slotted into a sentence does not translate).
PLAN_LIMIT = {
    ("VCALENDAR", True): N_(
        "your plan allows {limit} calendar; delete one or move to the plus plan to create another"
    ),
    ("VCALENDAR", False): N_(
        "your plan allows {limit} calendars; delete one or move to the plus plan to create another"
    ),
    ("VADDRESSBOOK", True): N_(
        "your plan allows {limit} address book; "
        "delete one or move to the plus plan to create another"
    ),
    ("VADDRESSBOOK", False): N_(
        "your plan allows {limit} address books; "
        "delete one or move to the plus plan to create another"
    ),
}


def check_new_collection(s: Session, owner: str, tag: str) -> None:
    """Refuse a calendar or address book beyond the plan's limit (free: one each)."""
    plan = plan_of(s, owner)
    limit = {"VCALENDAR": plan.max_calendars, "VADDRESSBOOK": plan.max_addressbooks}.get(tag)
    if limit is None:
        return
    if store.count_collections(s, normalize_login(owner), tag) >= limit:
        over = PLAN_LIMIT[tag, limit <= 1]
        raise Refusal(over, Kind.FORBIDDEN, values={"limit": limit})


def product_access(s: Session, login: str) -> Access:
    rows = s.execute(_ACCESS, {"login": normalize_login(login)}).all()
    return Access(calendar=any(r[0] for r in rows), contacts=any(r[1] for r in rows))


def retention_days(s: Session, login: str) -> int:
    """The longest retention among the user's organizations' plans."""
    return plan_of(s, login).retention_days
