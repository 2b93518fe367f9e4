"""Who a person may look up: the principal directory behind attendee search.

DAV clients look up attendees as one types (RFC 3744 §9.4 principal-property-search,
used by Apple Calendar, Thunderbird and Evolution). The answer must never be
"everyone on the server": a person finds the members and rooms of the
organizations they belong to (as a member, not an external), the people whose
collections are shared with them, and themselves. Sharing one's own calendar with
a login makes nobody known: anyone may share with any login, unasked. An external
of an organization finds nobody of it through that membership, only through
shares, as the web UI's share dialog does.

Matching is caseless substring matching on the display name, the login or the
verified e-mail address, done in Python so every script folds its case
(SQLite's ``lower`` knows ASCII only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from calcard import accounts
from calcard.core.models import Collection, Membership, Room, Share, User
from calcard.sharing import aimed_at

NAME, ADDRESS = "name", "address"
CONTAINS, STARTS_WITH, EQUALS = "contains", "starts-with", "equals"
MAX_RESULTS = 100


@dataclass(frozen=True)
class Person:
    """One principal as a searcher may see it."""

    login: str
    name: str  # display name: the account's name, else its login
    email: str  # verified address, or ""
    room: bool  # CUTYPE=ROOM (RFC 6638 §2.4.2)


@dataclass(frozen=True)
class Criterion:
    """Match ``text`` caselessly against some fields of a person (any of them): as a
    substring, the start (Apple's ``match-type="starts-with"``) or the whole value."""

    fields: frozenset[str]  # NAME, ADDRESS
    text: str
    how: str = CONTAINS


@dataclass(frozen=True)
class Found:
    people: list[Person]
    truncated: bool  # more matched than MAX_RESULTS


def search(
    s: Session, searcher: str, criteria: Sequence[Criterion], any_of: bool = False
) -> Found:
    """The people ``searcher`` may know that match all (``any_of``: any) criteria.

    No criteria lists everyone the searcher may know. Sorted by display name.
    """
    matching = [
        p
        for p in _known(s, searcher)
        if not criteria or (any if any_of else all)(_matches(p, c) for c in criteria)
    ]
    matching.sort(key=lambda p: (p.name.casefold(), p.login))
    return Found(matching[:MAX_RESULTS], len(matching) > MAX_RESULTS)


def _matches(person: Person, criterion: Criterion) -> bool:
    wanted = criterion.text.casefold()
    values = []
    if NAME in criterion.fields:
        values.append((person.name.casefold(), wanted))
    if ADDRESS in criterion.fields:
        address = wanted.removeprefix("mailto:")
        values += [(person.email.casefold(), address)] if person.email else []
        values.append((person.login, address))
    return any(_fits(value, text, criterion.how) for value, text in values)


def _fits(value: str, wanted: str, how: str) -> bool:
    if how == EQUALS:
        return value == wanted
    return value.startswith(wanted) if how == STARTS_WITH else wanted in value


def _known(s: Session, searcher: str) -> list[Person]:
    """Everyone ``searcher`` may know (see the module docstring), once each."""
    me = accounts.find_user(s, searcher)
    if me is None:
        return []
    orgs = select(Membership.org_id).where(
        Membership.user_id == me.id, Membership.role != "external"
    )
    colleagues = select(Membership.user_id).where(Membership.org_id.in_(orgs))
    rooms = select(Room.user_id).where(Room.org_id.in_(orgs))
    sharing_with_me = select(Collection.owner).join(Share, Share.collection_id == Collection.id)
    sharing_with_me = sharing_with_me.where(aimed_at(me), Collection.deleted_at.is_(None))
    users = s.execute(
        select(User, Room.id)
        .outerjoin(Room, Room.user_id == User.id)
        .where(
            (User.id == me.id)
            | User.id.in_(colleagues)
            | User.id.in_(rooms)
            | User.login.in_(sharing_with_me)
        )
    )
    return [
        Person(user.login, user.name or user.login, user.email, room_id is not None)
        for user, room_id in users
    ]
