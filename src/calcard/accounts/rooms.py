"""Rooms: bookable resources (CUTYPE=ROOM) of an organization, each with a calendar.

A room is a principal of its own (``room-<slug>``) that cannot log in, so its
calendar is stored, shared and queried like anyone's.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from calcard import accounts, store
from calcard.accounts import credentials
from calcard.core.catalogs import N_
from calcard.core.errors import Kind, Refusal
from calcard.core.models import Membership, Room, User

MANAGERS = ("legal-representative", "administrator")


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not slug:
        raise Refusal(N_("a room needs a name with letters or digits"))
    return slug[:50]


def is_room(s: Session, user_id: int) -> bool:
    """Whether the account is a room's (its principal's calendar-user-type is ROOM,
    RFC 6638 §2.4.2), not a person's."""
    return s.scalar(select(Room.id).where(Room.user_id == user_id)) is not None


def create_room(
    s: Session, org_name: str, name: str, capacity: int | None = None, actor: str | None = None
) -> User:
    """Only the organization's legal representatives and administrators create rooms."""
    org = accounts.get_org(s, org_name)
    if actor is not None:
        role = s.scalar(
            select(Membership.role)
            .join(User, User.id == Membership.user_id)
            .where(User.login == accounts.normalize_login(actor), Membership.org_id == org.id)
        )
        if role not in MANAGERS:
            raise Refusal(
                N_("only a legal representative or an administrator adds rooms"), Kind.FORBIDDEN
            )
    login = f"room-{_slug(name)}"
    if s.scalar(select(User.id).where(User.login == login)):
        raise Refusal(N_("a room or user {login!r} already exists"), values={"login": login})
    user = User(
        login=login,
        name=name,
        email=f"{login}@rooms.calcard.invalid",
        password_hash=credentials.hash_password(secrets.token_urlsafe(32)),
    )
    s.add(user)
    s.flush()
    s.add(Room(org_id=org.id, user_id=user.id, name=name, capacity=capacity))
    store.create_collection(
        s,
        f"{login}/calendar",
        {
            "tag": "VCALENDAR",
            "D:displayname": name,
            "C:supported-calendar-component-set": "VEVENT",
        },
    )
    return user


def list_rooms(s: Session, org_name: str, actor: str | None = None) -> list[dict]:
    """The organization's rooms, for the people who may book them (``may_book`` in
    calcard.scheduling): members, not externals. Outsiders learn no room names; free/busy
    of a room they know is answered by calcard.freebusy on its own terms."""
    org = accounts.get_org(s, org_name)
    if actor is not None and accounts.role_of(s, actor, org) in (None, "external"):
        raise Refusal(
            N_("only members of {org_name!r} (not externals) see its rooms"),
            Kind.FORBIDDEN,
            values={"org_name": org_name},
        )
    rows = s.execute(
        select(Room.name, Room.capacity, User.login, User.email)
        .join(User, User.id == Room.user_id)
        .where(Room.org_id == org.id)
        .order_by(Room.name)
    ).all()
    return [
        {
            "name": r.name,
            "capacity": r.capacity,
            "login": r.login,
            "email": r.email,
            "calendar": f"/{r.login}/calendar/",
        }
        for r in rows
    ]
