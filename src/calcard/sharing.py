"""Who may do what on a collection path: ownership, product access and shares.

Returns Radicale-style permission letters so the rights plugin stays a thin
adapter, but knows nothing of Radicale itself: R/W read/write a principal,
r/w read/write a calendar or address book, d forbids deleting the collection.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from calcard import accounts, store
from calcard.models import Collection, Membership, Share, User, Workgroup, WorkgroupMember

ACCESS_LEVELS = ("read", "read-write")
TARGET_KINDS = ("user", "group", "org")


def permissions(s: Session, login: str, path: str) -> str:
    """Permission letters of ``login`` on the sanitized ``path`` (no slashes)."""
    if not login:
        return ""
    if not path:
        return "R"
    owner, _, rest = path.partition("/")
    if "/" in rest:
        return ""  # items take their collection's permissions
    if owner == login:
        return "RW" if not rest else _own_collection(s, login, path)
    return _shared(s, login, path) if rest else ""


def _own_collection(s: Session, login: str, path: str) -> str:
    access = accounts.product_access(s, login)
    collection = store.get_collection(s, path)
    if collection is None:
        # Not created yet: only someone with both products may create either kind.
        return "rw" if access.calendar and access.contacts else ""
    allowed = {"VCALENDAR": access.calendar, "VADDRESSBOOK": access.contacts}
    return "rw" if allowed.get(collection.tag, True) else ""


def _shares_reaching(user_id: int):
    """Shares that reach a user directly, through a workgroup, or org-wide (not externals)."""
    groups = select(WorkgroupMember.workgroup_id).where(WorkgroupMember.user_id == user_id)
    orgs = select(Membership.org_id).where(
        Membership.user_id == user_id, Membership.role != "external"
    )
    return (
        select(Collection, Share.access)
        .join(Share, Collection.id == Share.collection_id)
        .where(
            Collection.deleted_at.is_(None),
            or_(
                (Share.target_kind == "user") & (Share.target_id == user_id),
                (Share.target_kind == "group") & Share.target_id.in_(groups),
                (Share.target_kind == "org") & Share.target_id.in_(orgs),
            ),
        )
    )


def shared_with(s: Session, login: str) -> list[tuple[store.CollectionData, str]]:
    """Every collection shared with ``login`` and the best access it has, by path."""
    user = s.scalars(select(User).where(User.login == login)).first()
    if user is None:
        return []
    best: dict[str, tuple[store.CollectionData, str]] = {}
    for collection, access in s.execute(_shares_reaching(user.id)):
        if collection.owner == login:
            continue
        if collection.path not in best or access == "read-write":
            best[collection.path] = (store.collection_data(collection), access)
    return [best[p] for p in sorted(best)]


def _shared(s: Session, login: str, path: str) -> str:
    """The best access any share of ``path`` gives ``login`` (none for externals on org shares)."""
    user = s.scalars(select(User).where(User.login == login)).first()
    if user is None:
        return ""
    levels = {
        access for _, access in s.execute(_shares_reaching(user.id).where(Collection.path == path))
    }
    if "read-write" in levels:
        return "rwd"
    return "r" if levels else ""


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
        raise accounts.AccountError(
            f"no single workgroup {name!r} in the organizations of {owner_login!r}"
        )
    return group_ids[0]


def _shareable(s: Session, path: str) -> store.CollectionData:
    collection = store.get_collection(s, path.strip("/"))
    if collection is None or not collection.tag:
        raise accounts.AccountError(f"no calendar or address book at {path!r}")
    return collection


def add_share(s: Session, path: str, kind: str, name: str, access: str) -> None:
    """Share (or change the access of a share of) a collection."""
    if kind not in TARGET_KINDS or access not in ACCESS_LEVELS:
        raise accounts.AccountError(f"share target must be {TARGET_KINDS}, access {ACCESS_LEVELS}")
    collection = _shareable(s, path)
    target = _target_id(s, kind, name, collection.owner)
    if kind == "user" and accounts.get_user(s, name).login == collection.owner:
        raise accounts.AccountError("a collection cannot be shared with its owner")
    share = s.scalars(
        select(Share).where(
            Share.collection_id == collection.id,
            Share.target_kind == kind,
            Share.target_id == target,
        )
    ).first()
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


def remove_share(s: Session, path: str, kind: str, name: str) -> None:
    collection = _shareable(s, path)
    target = _target_id(s, kind, name, collection.owner)
    share = s.scalars(
        select(Share).where(
            Share.collection_id == collection.id,
            Share.target_kind == kind,
            Share.target_id == target,
        )
    ).first()
    if share is None:
        raise accounts.AccountError(f"{path!r} is not shared with {kind} {name!r}")
    s.delete(share)
    s.flush()
