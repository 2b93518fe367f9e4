"""Shares: who a collection is shared with, at which access, and where sharees see it.

Who may do what with a collection is decided by ``sharing.access`` (the one door),
which asks this module for a principal's share level.

A collection shared with a user appears in the sharee's home under an alias
path, ``<sharee>/shared-<owner>-<name>``, so DAV clients find it by normal
discovery; reads and writes through the alias go to the owner's collection
(same sync tokens), with the access the share grants. The owner's path keeps
working for the sharee too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from calcard import accounts, store
from calcard.core.catalogs import N_
from calcard.core.errors import Kind, Refusal
from calcard.core.models import (
    Collection,
    Membership,
    Organization,
    Share,
    User,
    Workgroup,
    WorkgroupMember,
)
from calcard.store import push

ACCESS_LEVELS = ("read", "read-write")
TARGET_KINDS = ("user", "group", "org")
NOT_SHARED = {  # one sentence per kind of sharee, so each translates whole
    "user": N_("{path!r} is not shared with user {name!r}"),
    "group": N_("{path!r} is not shared with group {name!r}"),
    "org": N_("{path!r} is not shared with org {name!r}"),
}
ALIAS_PREFIX = "shared-"


@dataclass(frozen=True)
class SharedCollection:
    """A collection as a sharee sees it in their home."""

    alias: str  # sanitized path in the sharee's home
    collection: store.CollectionData
    access: str  # read | read-write
    owner_name: str

    @property
    def props(self) -> Mapping[str, str]:
        """The owner's properties, the display name naming the owner."""
        props = dict(self.collection.props)
        name = props.get("D:displayname") or self.collection.path.rsplit("/", 1)[-1]
        props["D:displayname"] = f"{name} ({self.owner_name or self.collection.owner})"
        return props


def aimed_at(user: User) -> ColumnElement[bool]:
    """Shares aimed at ``user``: directly, via a workgroup, or via an organization
    where they are not external (externals never get organization-wide shares)."""
    groups = select(WorkgroupMember.workgroup_id).where(WorkgroupMember.user_id == user.id)
    orgs = select(Membership.org_id).where(
        Membership.user_id == user.id, Membership.role != "external"
    )
    return or_(
        (Share.target_kind == "user") & (Share.target_id == user.id),
        (Share.target_kind == "group") & Share.target_id.in_(groups),
        (Share.target_kind == "org") & Share.target_id.in_(orgs),
    )


def share_level(s: Session, login: str, collection_id: int) -> str | None:
    """The best access any share of the collection gives ``login`` (read, read-write),
    or None. Who may do what with it is calcard.access's to say."""
    user = accounts.find_user(s, login)
    if user is None:
        return None
    levels = set(
        s.scalars(select(Share.access).where(Share.collection_id == collection_id, aimed_at(user)))
    )
    return "read-write" if "read-write" in levels else ("read" if levels else None)


def shared_with(s: Session, login: str) -> list[SharedCollection]:
    """Collections others share with ``login``, under their alias paths, best access each."""
    user = accounts.find_user(s, login)
    if user is None:
        return []
    access = accounts.product_access(s, login)
    allowed = {"VCALENDAR": access.calendar, "VADDRESSBOOK": access.contacts}
    best: dict[int, tuple[str, Collection, str]] = {}
    rows = s.execute(
        select(Share.access, Collection, User.name)
        .join(Collection, Collection.id == Share.collection_id)
        .join(User, User.login == Collection.owner)
        .where(Collection.deleted_at.is_(None), Collection.owner != login, aimed_at(user))
        .order_by(Collection.id)
    )
    for level, collection, owner_name in rows:
        if allowed.get(collection.tag) and best.get(collection.id, ("read",))[0] != "read-write":
            best[collection.id] = (level, collection, owner_name)
    found: list[SharedCollection] = []
    taken: set[str] = set()
    for level, collection, owner_name in best.values():
        alias = f"{login}/{ALIAS_PREFIX}{collection.path.replace('/', '-')}"
        if alias in taken:  # owner "a-b" + "c" and owner "a" + "b-c"
            alias = f"{alias}-{collection.id}"
        taken.add(alias)
        found.append(SharedCollection(alias, store.collection_data(collection), level, owner_name))
    return found


def alias_root(path: str) -> str | None:
    """The alias collection part of a sanitized path, if it could be one."""
    parts = path.split("/")
    if len(parts) >= 2 and parts[1].startswith(ALIAS_PREFIX):
        return "/".join(parts[:2])
    return None


def find_alias(s: Session, path: str) -> SharedCollection | None:
    """The shared collection behind an alias collection path in a sharee's home."""
    if alias_root(path) != path:
        return None
    return next((c for c in shared_with(s, store.owner_of(path)) if c.alias == path), None)


def collection_at(
    s: Session, path: str
) -> tuple[store.CollectionData, SharedCollection | None] | None:
    """The collection at a sanitized path: a stored one, or the one a sharee's alias
    stands for, with its share."""
    data = store.get_collection(s, path)
    if data is not None:
        return data, None
    shared = find_alias(s, path)
    return (shared.collection, shared) if shared else None


def _target_id(s: Session, kind: str, name: str, owner_login: str) -> int:
    if kind == "user":
        return accounts.get_user(s, name).id
    if kind == "org":
        return accounts.get_org(s, name).id
    owner = accounts.get_user(s, owner_login)
    group_ids = list(
        s.scalars(
            select(Workgroup.id)
            .join(Membership, Membership.org_id == Workgroup.org_id)
            .where(Workgroup.name == name, Membership.user_id == owner.id)
        )
    )
    if len(group_ids) != 1:
        raise Refusal(
            N_("no single workgroup {name!r} in the organizations of {owner_login!r}"),
            values={"name": name, "owner_login": owner_login},
        )
    return group_ids[0]


def _shareable(s: Session, path: str, actor: str | None) -> store.CollectionData:
    """The collection at ``path``, which only its owner (or the operator) shares."""
    from calcard.sharing import access  # the door builds on this module's share lookups

    collection = store.get_collection(s, path.strip("/"))
    if collection is None or collection.tag not in ("VCALENDAR", "VADDRESSBOOK"):
        raise Refusal(
            N_("no calendar or address book at {path!r}"), Kind.NOT_FOUND, values={"path": path}
        )
    principal = None if actor is None else accounts.normalize_login(actor)
    access.require(s, principal, access.SHARE, collection.path)
    return collection


def _find_share(
    s: Session, collection: store.CollectionData, kind: str, name: str
) -> tuple[int, Share | None]:
    if kind not in TARGET_KINDS:
        raise Refusal(
            N_("share target must be one of {kinds}"), values={"kinds": ", ".join(TARGET_KINDS)}
        )
    target = _target_id(s, kind, name, collection.owner)
    share = s.scalars(
        select(Share).where(
            Share.collection_id == collection.id,
            Share.target_kind == kind,
            Share.target_id == target,
        )
    ).first()
    return target, share


def add_share(
    s: Session, path: str, kind: str, name: str, access: str, actor: str | None = None
) -> None:
    """Share (or change the access of a share of) a collection."""
    if access not in ACCESS_LEVELS:
        raise Refusal(
            N_("access must be one of {levels}"), values={"levels": ", ".join(ACCESS_LEVELS)}
        )
    collection = _shareable(s, path, actor)
    if kind == "user" and accounts.get_user(s, name).login == collection.owner:
        raise Refusal(N_("a collection cannot be shared with its owner"))
    if kind == "org" and accounts.role_of(s, collection.owner, accounts.get_org(s, name)) is None:
        raise Refusal(
            N_("the owner is not a member of {name!r}"), Kind.FORBIDDEN, values={"name": name}
        )
    target, share = _find_share(s, collection, kind, name)
    if share is None:
        s.add(
            Share(
                collection_id=collection.id,
                owner=collection.owner,
                target_kind=kind,
                target_id=target,
                access=access,
            )
        )
    else:
        share.access = access
    s.flush()
    push.collection_changed(s, collection.id)  # subscribers learn; a sharee's access is re-checked


def remove_share(s: Session, path: str, kind: str, name: str, actor: str | None = None) -> None:
    collection = _shareable(s, path, actor)
    _target, share = _find_share(s, collection, kind, name)
    if share is None:
        raise Refusal(NOT_SHARED[kind], Kind.NOT_FOUND, values={"path": path, "name": name})
    s.delete(share)
    s.flush()
    push.collection_changed(s, collection.id)  # the dispatcher drops who may no longer read


@dataclass(frozen=True)
class ShareInfo:
    kind: str
    name: str
    access: str


def list_shares(s: Session, path: str, actor: str | None = None) -> list[ShareInfo]:
    """Who a collection is shared with (the owner's view)."""
    collection = _shareable(s, path, actor)
    shares = s.scalars(select(Share).where(Share.collection_id == collection.id).order_by(Share.id))
    return [ShareInfo(sh.target_kind, _target_name(s, sh), sh.access) for sh in shares]


def _target_name(s: Session, share: Share) -> str:
    model = {"user": User, "group": Workgroup, "org": Organization}[share.target_kind]
    row = s.get(model, share.target_id)
    if isinstance(row, User):
        return row.login
    return row.name if isinstance(row, Workgroup | Organization) else ""
