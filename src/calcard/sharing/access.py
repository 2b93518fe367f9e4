"""One door for access decisions (DESIGN.md, rule 6).

Every entry point asks :func:`decide` (or :func:`require`) whether a principal
may do an action to a collection or an item: the DAV rights plugin (whose
Radicale permission letters are derived here, :func:`dav_letters`), the DAV
storage plugin (collection properties, deleting or replacing a collection),
the JSON API's services (events, tasks, contacts, calendars, shares, public
links, free/busy settings), import/export, birthdays and trash restore.

A principal is a login, ``None`` for the operator (the CLI) or ``""`` for
anonymous. Its relation to a collection is one of: the owner, a ``read`` or
``read-write`` sharee (directly, through a workgroup or organization-wide;
through the owner's path or the sharee's alias path), the operator, anonymous,
or none. The rules:

- read: the owner, any sharee, the operator;
- write (the items: create, change, delete, move): the owner and read-write
  sharees, never into a subscribed holiday calendar (the server writes it);
- create (a new collection): the owner of the home, with both products;
- change-properties, delete-collection, share, publish: the owner (and the
  operator) only. A sharee uses a collection's items; the collection itself,
  its name, color, resource type and who sees it, stay the owner's.

Existence is hidden from whoever may not read (RFC 4918 §9.6 leaves the
choice; a 404 tells a stranger nothing): their refusal is of kind NOT_FOUND,
everyone else's FORBIDDEN with the reason (calcard.core.errors).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from calcard import accounts, sharing, store
from calcard.core.catalogs import N_
from calcard.core.errors import Kind, Refusal
from calcard.core.models import HolidaySubscription
from calcard.store import inbox

READ = "read"
WRITE = "write"
CREATE = "create"
CHANGE_PROPERTIES = "change-properties"
DELETE_COLLECTION = "delete-collection"
SHARE = "share"
PUBLISH = "publish"
ACTIONS = (READ, WRITE, CREATE, CHANGE_PROPERTIES, DELETE_COLLECTION, SHARE, PUBLISH)

OWNER = "owner"
READER = "read"
WRITER = "read-write"
OPERATOR = "operator"
ANONYMOUS = "anonymous"
NONE = "none"

_OWNER_ONLY = {
    CHANGE_PROPERTIES: N_(
        "only its owner can change the properties of a shared calendar or address book"
    ),
    DELETE_COLLECTION: N_("only its owner can delete a shared calendar or address book"),
    SHARE: N_("only the owner of a collection can share it"),
    PUBLISH: N_("only the owner of a calendar can publish it"),
}


@dataclass(frozen=True)
class Decision:
    """The door's answer, with what it found on the way (callers need not look again)."""

    action: str
    path: str  # the sanitized collection path asked about
    relation: str  # owner | read | read-write | operator | anonymous | none
    readable: bool  # may the principal know the collection exists
    collection: store.CollectionData | None = None
    shared: sharing.SharedCollection | None = None  # reached through a sharee's alias
    allowed: bool = False
    template: str = ""  # why not, English with ``{path}`` (marked N_), said in a language

    @property
    def reason(self) -> str:
        """Why not, in English (the DAV answer's body, logs)."""
        return self.template.format(path=self.path)

    def raise_if_refused(self) -> Decision:
        """A NOT_FOUND refusal for who may not read, else FORBIDDEN with the reason."""
        if self.allowed:
            return self
        if not self.readable:
            raise Refusal(
                N_("no calendar or address book at /{path}/"),
                Kind.NOT_FOUND,
                values={"path": self.path},
            )
        raise Refusal(self.template, Kind.FORBIDDEN, values={"path": self.path})


def collection_path(path: str) -> str:
    """The collection part of a sanitized collection or item path (``owner/name``)."""
    return "/".join(path.strip("/").split("/")[:2])


def decide(s: Session, principal: str | None, action: str, path: str) -> Decision:
    """May ``principal`` do ``action`` to the collection (or item) at ``path``?"""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    subject = _subject(s, principal, path)
    allowed, reason = _rule(s, principal, action, subject)
    return Decision(action, *subject.fields(), allowed=allowed, template=reason)


def require(s: Session, principal: str | None, action: str, path: str) -> Decision:
    """:func:`decide`, raising a NOT_FOUND or FORBIDDEN Refusal on a refusal."""
    return decide(s, principal, action, path).raise_if_refused()


def may(s: Session, principal: str | None, action: str, path: str) -> bool:
    return decide(s, principal, action, path).allowed


def may_hear_of_removal(s: Session, principal: str, collection: store.CollectionData) -> bool:
    """Whether ``principal`` may be told that ``collection``, now in the trash, is gone
    (a WebDAV-Push registration's last message). The trashed collection is at no path,
    so ``decide`` cannot answer: its owner may, and whom the shares it keeps for a
    restore still name, with the product; who lost access before may not."""
    if collection.owner == principal:
        level: str | None = OWNER
    else:
        level = sharing.share_level(s, principal, collection.id)
    return level is not None and _product_allowed(s, principal, collection.tag)


def stored(s: Session, principal: str | None, action: str, path: str) -> Decision:
    """:func:`decide` for the API's paths, which name stored collections only: a
    sharee's alias (a DAV discovery path) counts as not found there, so the
    API's writes always take the owner's lock (``store.owner_of`` of the path)."""
    decision = decide(s, principal, action, path)
    if decision.shared is None:
        return decision
    return Decision(action, decision.path, NONE, False, template=N_("no calendar at /{path}/"))


@dataclass(frozen=True)
class _Subject:
    path: str
    relation: str
    collection: store.CollectionData | None
    shared: sharing.SharedCollection | None

    @property
    def readable(self) -> bool:
        return self.relation in (OWNER, READER, WRITER, OPERATOR) and self.collection is not None

    def fields(
        self,
    ) -> tuple[str, str, bool, store.CollectionData | None, sharing.SharedCollection | None]:
        return self.path, self.relation, self.readable, self.collection, self.shared


def _subject(s: Session, principal: str | None, path: str) -> _Subject:
    """What the path names and how the principal stands to it (one lookup per question)."""
    clean = collection_path(path)
    found = sharing.collection_at(s, clean) if "/" in clean else None
    data, shared = found if found else (None, None)
    return _Subject(clean, _relation(s, principal, clean, data, shared), data, shared)


def _relation(
    s: Session,
    principal: str | None,
    path: str,
    data: store.CollectionData | None,
    shared: sharing.SharedCollection | None,
) -> str:
    if principal is None:
        return OPERATOR
    if not principal:
        return ANONYMOUS
    if data is None:
        return NONE
    if shared is not None:  # an alias lives in one sharee's home, for them alone
        level = shared.access if store.owner_of(path) == principal else None
    elif data.owner == principal:
        level = OWNER
    else:
        level = sharing.share_level(s, principal, data.id)
    if level is None or not _product_allowed(s, principal, data.tag):
        return NONE
    return level


def _product_allowed(s: Session, login: str, tag: str) -> bool:
    """Calendars (and schedule boxes) need the calendar product, address books contacts."""
    access = accounts.product_access(s, login)
    allowed = {"VCALENDAR": access.calendar, "VADDRESSBOOK": access.contacts}
    allowed |= {kind: access.calendar for kind in inbox.KINDS}
    return allowed.get(tag, True)


def _rule(s: Session, principal: str | None, action: str, subject: _Subject) -> tuple[bool, str]:
    path, relation, data = subject.path, subject.relation, subject.collection
    if action == CREATE:
        return _may_create(s, principal, path, data)
    if data is None or not subject.readable:
        return False, N_("no calendar or address book at /{path}/")
    if action == READ:
        return True, ""
    if action == WRITE:
        if relation not in (OWNER, WRITER, OPERATOR):
            return False, N_("the calendar or address book /{path}/ is read-only for you")
        if not writable(s, data.id):
            return False, N_("a subscribed holiday calendar is read-only: the server updates it")
        return True, ""
    if relation in (OWNER, OPERATOR):
        return True, ""
    return False, _OWNER_ONLY[action]


def _may_create(
    s: Session, principal: str | None, path: str, data: store.CollectionData | None
) -> tuple[bool, str]:
    """A new collection in one's own home; not knowing its kind yet, only someone
    with both products may create either kind."""
    if data is not None:
        return False, N_("/{path}/ exists already")
    if principal is None or (principal and path == principal):
        return True, ""  # the operator; or one's own home (Radicale makes a missing one)
    if not principal or "/" not in path or store.owner_of(path) != principal:
        return False, N_("collections are created in one's own home only")
    if sharing.alias_root(path) == path:
        return False, N_("that name is kept for calendars shared with you")
    products = accounts.product_access(s, principal)
    if not (products.calendar and products.contacts):
        return False, N_("you have no access to calendars or address books")
    return True, ""


_HOLIDAY_SUBSCRIPTION = (
    select(HolidaySubscription.id)
    .where(HolidaySubscription.collection_id == bindparam("collection_id"))
    .limit(1)
)  # built once: asked on every DAV request


def writable(s: Session, collection_id: int) -> bool:
    """False for a subscribed holiday calendar: only the server writes it."""
    return s.scalar(_HOLIDAY_SUBSCRIPTION, {"collection_id": collection_id}) is None


def dav_letters(s: Session, login: str, path: str) -> str:
    """Radicale's permission letters for ``login`` on a sanitized path, from the door.

    R/W read/write a principal (``W`` one's own home only), r/w a collection's
    items, and ``d`` forbids deleting the collection (Radicale 3.9 with
    ``permit_delete_collection``): sharees. Changing a collection's properties is
    refused by the storage plugin, which asks the door with its reason.
    """
    if not login:
        return ""
    if not path:
        return "R"
    owner, _, rest = path.partition("/")
    if "/" in rest:
        return ""  # items take their collection's permissions
    if not rest:
        return "RW" if owner == login else ""
    subject = _subject(s, login, path)
    if subject.collection is None:
        return "rw" if _may_create(s, login, subject.path, None)[0] else ""
    if not subject.readable:
        return ""
    letters = "r" + ("w" if _rule(s, login, WRITE, subject)[0] else "")
    return letters if _rule(s, login, DELETE_COLLECTION, subject)[0] else letters + "d"
