"""Radicale storage plugin over calcard.store (SQL).

Radicale objects are built from fully loaded rows so nothing is read after the
request's transaction ends (REPORT renders after unlocking).
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager as ContextManager
from dataclasses import replace
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, unquote

from radicale import item as radicale_item
from radicale import pathutils, storage, types, xmlutils
from radicale.item import filter as radicale_filter

from calcard import accounts, scheduling, sharing, store
from calcard.calendar import saving
from calcard.core import names, times
from calcard.core.errors import Kind, Refusal
from calcard.sharing import SharedCollection, access
from calcard.store import CollectionData, ItemData, inbox
from calcard.store import items as store_items
from calcard_radicale import collectionget, comptype, push, runtime, scheduletag
from calcard_radicale import scheduling as scheduling_dav
from calcard_radicale.runtime import session

SUFFIX = {"VCALENDAR": ".ics", "VADDRESSBOOK": ".vcf"}
# The root has no row and no modification time.
ROOT = CollectionData(id=0, path="", owner="", tag="", props={}, revision=0, updated_at=None)  # type: ignore[arg-type]


def http_date(value) -> str:
    if value is None:
        return "Thu, 01 Jan 1970 00:00:00 GMT"
    return format_datetime(times.as_utc(value), usegmt=True)


def item_data(href: str, item: radicale_item.Item) -> ItemData:
    start, end = item.time_range
    return ItemData(
        href=href,
        uid=item.uid,
        etag=item.etag,
        text=item.serialize(),
        component=item.component_name or "",
        start=start,
        end=end,
    )


def _within(item: ItemData, start: int, end: int) -> bool:
    """An overlapping time range that starts or ends inside [start, end) needs no
    occurrence check (the rule of Radicale's own storage)."""
    return item.start >= start or item.end <= end


def _number(text: str) -> int:
    """A token's number, written as calcard writes it (no sign, space or leading zero)."""
    if str(int(text)) != text:
        raise ValueError(text)
    return int(text)


@types.contextmanager
def _no_guard(path: str, href: str | None) -> Iterator[None]:
    yield


class Collection(storage.BaseCollection):
    """A calendar or address book; through ``shared`` it is a sharee's alias of it."""

    def __init__(self, data: CollectionData, shared: SharedCollection | None = None) -> None:
        self._data = data
        self._shared = shared

    @property
    def path(self) -> str:
        return self._shared.alias if self._shared else self._data.path

    @property
    def etag(self) -> str:
        return f'"{self._data.lineage}{self._data.id}-{self._data.revision}"'

    @property
    def last_modified(self) -> str:
        return http_date(self._data.updated_at)

    def get_meta(self, key: str | None = None) -> Any:
        props = dict(self._shared.props if self._shared else self._data.props)
        if self._box:
            props["tag"] = "VCALENDAR"  # to Radicale: items served as iCalendar, syncable
        return props if key is None else props.get(key)

    @property
    def _box(self) -> str | None:
        """ "inbox" or "outbox" when this is a schedule box (see app.py for how it is shown)."""
        return inbox.kind(self._data)

    def _refuse_box_write(self) -> None:
        if self._box:
            _forbidden(inbox.refusal(self._box))

    def _item(self, data: ItemData) -> radicale_item.Item:
        return radicale_item.Item(
            collection=self,
            href=data.href,
            last_modified=http_date(data.last_modified),
            text=data.text,
            etag=data.etag,
            uid=data.uid,
            name=self.object_name,
            component_name=data.component,
            time_range=(data.start, data.end),
        )

    def content_type(self, data: ItemData) -> str:
        return xmlutils.get_content_type(self._item(data), "utf-8")

    def sync(self, old_token: str = "") -> tuple[str, Iterable[str]]:
        """The hrefs changed since ``old_token`` and the token to come back with.

        With a DAV:limit (synclimit.py) at most that many, and when more are
        left a token that continues after the last one (RFC 6578 §3.6).
        """
        limit = runtime.request().sync_limit
        position = self._position(old_token) if old_token else store.SyncPosition(0)
        with session() as s:
            if not old_token and limit is None:
                return self._token(), store.live_hrefs(s, self._data.id)
            more = None if limit is None else limit + 1
            page = store.changes_page(s, self._data.id, position, more, not old_token)
        if limit is None or len(page) <= limit:
            return self._token(), [href for _, href in page]
        runtime.request().sync_truncated = True
        revision, href = page[limit - 1]
        return self._token(store.SyncPosition(revision, href)), [h for _, h in page[:limit]]

    def changes(self, old_token: str, text: bool) -> tuple[str, list[store.Listed], list[str]]:
        """``sync`` with the rows calcard answers from (members.py): the token, the
        changed members still there, and the hrefs of those removed.

        Raises ValueError for a token ``sync`` refuses.
        """
        if not old_token and runtime.request().sync_limit is None:
            return self._token(), self.listing(None, text), []  # every member: one query
        token, hrefs = self.sync(old_token)
        hrefs = list(hrefs)
        found = {row.href: row for row in self.listing(hrefs, text)}
        return token, [found[h] for h in hrefs if h in found], [h for h in hrefs if h not in found]

    def listing(self, hrefs: Iterable[str] | None = None, text: bool = False) -> list[store.Listed]:
        """The members (at ``hrefs``, when given) with their text only if ``text``; an
        href that cannot be a stored name is not found (as in ``get_multi``)."""
        wanted = None if hrefs is None else [h for h in hrefs if _a_name(h)]
        with session() as s:
            return store.listing(s, self._data.id, wanted, text)

    @property
    def is_box(self) -> bool:
        """A schedule inbox or outbox (answered by Radicale with calcard's additions)."""
        return self._box is not None

    @property
    def object_name(self) -> str:
        """What Radicale calls the members' kind: VCARD in an address book."""
        return "VCARD" if self._data.tag == "VADDRESSBOOK" else "VCALENDAR"

    def _token(self, position: store.SyncPosition | None = None) -> str:
        """``{lineage}{id}-{revision}``, and ``-{href}`` (percent-encoded) for a truncated
        page's end. The lineage (empty until a restore, migration 0018) keeps a token of
        the database a backup was taken from from being taken for the restored one's."""
        if position is None:
            return store.sync_token(self._data)
        head = f"{store.SYNC_PREFIX}{self._data.lineage}{self._data.id}"
        after = quote(position.href or "", safe="")
        return f"{head}-{position.revision}-{after}"

    def _position(self, token: str) -> store.SyncPosition:
        """Where ``token`` stands; Radicale answers ValueError with 403 and the
        DAV:valid-sync-token precondition (RFC 6578 §3.2)."""
        try:
            head = store.SYNC_PREFIX + self._data.lineage
            if not token.startswith(head):
                raise ValueError
            collection_id, revision, *after = token.removeprefix(head).split("-", 2)
            if _number(collection_id) != self._data.id:
                raise ValueError
            if not 0 <= _number(revision) <= self._data.revision:
                raise ValueError
            href = unquote(after[0], errors="strict") if after else None
            if after and (not href or quote(href, safe="") != after[0]):
                raise ValueError
            if href:
                names.check(href)  # a name never stored (a NUL: PostgreSQL refuses it)
        except ValueError:
            raise ValueError(f"invalid or outdated sync token: {token!r}") from None
        return store.SyncPosition(int(revision), href)

    def get_multi(self, hrefs: Iterable[str]) -> Iterable[tuple[str, radicale_item.Item | None]]:
        """The items at ``hrefs``; one that cannot be a stored name (``core.names``: a
        control character, which PostgreSQL would refuse in a query) is not found."""
        hrefs = list(hrefs)
        with session() as s:
            found = store.get_items(s, self._data.id, [h for h in hrefs if _a_name(h)])
        return [(h, self._item(found[h]) if h in found else None) for h in hrefs]

    def serialize(self, vcf_to_ics: bool = False, ShareActions: dict | None = None) -> str:  # noqa: N803 (Radicale's name)
        """A GET of the whole collection: an empty placeholder for Radicale, the body is
        streamed by app.py (collectionget); a schedule box is small: Radicale's."""
        if vcf_to_ics or self._box or self._data.tag not in SUFFIX:
            return super().serialize(vcf_to_ics, ShareActions or {})
        runtime.request().serve = collectionget.wanted(
            self._data.id,
            self._data.tag,
            self.get_meta("D:displayname") or "",
            self.get_meta("C:calendar-description") or "",
        )
        return ""

    def get_all(self) -> Iterable[radicale_item.Item]:
        with session() as s:
            rows = store.all_items(s, self._data.id)
        return [self._item(r) for r in rows]

    def _candidates(self, filters) -> list[tuple[ItemData, bool]]:
        """Rows that may match ``filters``, each with whether it surely does."""
        if not self._data.tag:
            return []
        tag, start, end, simple = radicale_filter.simplify_prefilters(filters, self._data.tag)
        indexed = simple and tag in ("VEVENT", "VTODO")
        if indexed:
            runtime.index_ahead(self._data, end)
        with session() as s:
            if indexed and tag == "VEVENT":
                found = store.filter_events(s, self._data.id, start, end)
            elif indexed:  # Radicale decides on each: a task's stored range is not tight
                return [(r, False) for r in store.filter_todos(s, self._data.id, start, end)]
            else:
                found = [(r, False) for r in store.filter_items(s, self._data.id, tag, start, end)]
        return [(r, known or (simple and _within(r, start, end))) for r, known in found]

    def get_filtered(self, filters) -> Iterable[tuple[radicale_item.Item, bool]]:
        """Candidates for ``filters`` (Radicale runs its full filter on the unsure ones).

        A filter Radicale reads otherwise than calcard (comptype.py) is decided here.
        """
        if comptype.applies(filters):
            return [(self._item(r), True) for r in self.matching(filters)]
        return [(self._item(r), known) for r, known in self._candidates(filters)]

    def matching(self, filters: list[ET.Element]) -> list[ItemData]:
        """Rows matching every filter, as plain rows for calcard's own REPORT answer
        (query.py): the index decides what it can, Radicale's full filter the rest.

        Raises ValueError for a filter Radicale cannot apply (the client gets 400).
        """
        tag = self._data.tag
        return [
            row
            for row, known in self._candidates(filters)
            if known or all(comptype.matches(tag, self._item(row), f) for f in filters)
        ]

    def has_uid(self, uid: str) -> bool:
        with session() as s:
            return store.has_uid(s, self._data.id, uid)

    def upload(self, href: str, item: radicale_item.Item):
        """Store, then schedule (calendar.saving): the organizer's copy may come back amended."""
        self._refuse_box_write()
        scheduletag.check(self.path, href)
        data = item_data(href, item)
        with session(write=True) as s:
            before = store_items.time_ranges(s, self._data.id, [href]).get(href)
            _check_component(self._data, data.component, before and before[2])
            try:
                stored, old = saving.save(s, self._data, data, base_url=runtime.settings().link_url)
            except Refusal as refused:  # Radicale answers 400; the client sees why
                runtime.refuse_with(refused)
                raise
            self._refresh(s)
        return self._item(stored), (self._item(old) if old else None)

    def delete(self, href: str | None = None) -> None:
        scheduletag.check(self.path, href or "")  # a collection is no scheduling object
        if href is None:
            _require(access.DELETE_COLLECTION, self.path)
            self._refuse_box_write()
        with session(write=True) as s:
            if href is None:
                store.delete_collection(s, self._data, actor=runtime.actor())
                return
            if self._box:
                store.discard_item(s, self._data, href)
                self._refresh(s)
                return
            try:
                saving.delete(s, self._data, href, actor=runtime.actor())
            except Refusal as refused:  # Radicale answered 500; the client sees why
                runtime.refuse_with(refused)
                raise
            self._refresh(s)

    def set_meta(self, props: Mapping[str, str]) -> None:
        # A home (no "/") is no calendar or address book to the door: its properties
        # (e.g. a client's default alarms) are its user's, and the rights plugin gives
        # "W" on one's own home only (access.dav_letters).
        if "/" in self.path:
            _require(access.CHANGE_PROPERTIES, self.path)
        self._refuse_box_write()
        with session(write=True) as s:
            store.set_props(s, self._data, _without_given_name(s, self._data, props))
            self._refresh(s)

    def _refresh(self, s) -> None:
        self._data = store.get_collection(s, self._data.path) or self._data


def _a_name(href: str) -> bool:
    try:
        names.check(href)
    except names.BadName:
        return False
    return True


def _refuse(refused: Refusal) -> None:
    """Make ``refused`` the answer (Radicale turns the ValueError into an error answer)."""
    runtime.refuse_with(refused)
    raise ValueError(refused.message)


def _forbidden(reason: str) -> None:
    _refuse(Refusal(reason, Kind.FORBIDDEN))


def refusal(action: str, sane: str, user: str | None = None) -> Refusal | None:
    """The door's refusal of ``user`` (default: the request's) doing ``action`` at
    ``sane``, if any: not found for who may not even read the collection, else forbidden."""
    with session() as s:
        decision = access.decide(s, runtime.actor() if user is None else user, action, sane)
    if decision.allowed:
        return None
    return Refusal(decision.reason, Kind.FORBIDDEN if decision.readable else Kind.NOT_FOUND)


def _require(action: str, sane: str) -> None:
    """Ask the door; a refusal becomes the request's answer (nothing it changed is kept)."""
    refused = refusal(action, sane)
    if refused is not None:
        _refuse(refused)


def _lookup(s, sane: str) -> Collection | None:
    """The collection at a sanitized path: the root, a stored one, or a share alias."""
    if not sane:
        return Collection(ROOT)
    found = sharing.collection_at(s, sane)
    if found is None:
        return None
    data, shared = found
    if shared is None and "/" not in sane:
        data = _named_principal(s, data)
    return Collection(data, shared)


def _named_principal(s, home: CollectionData) -> CollectionData:
    """A home is its user's principal (RFC 3744 §4): its DAV:displayname is the user's
    name, else the login, as principal searches answer (sharing.directory.Person),
    unless the user set one with PROPPATCH. python-caldav names a principal by it."""
    if "D:displayname" in home.props:
        return home
    user = accounts.find_user(s, home.path)
    if user is None:
        return home
    return replace(home, props={**home.props, "D:displayname": user.name or user.login})


SUPPORTED_COMPONENT = f"{{{scheduling_dav.CALDAV}}}supported-calendar-component"


def _check_component(collection: CollectionData, component: str, before: str | None) -> None:
    """``store.check_component`` for a client's object, refused with the
    CALDAV:supported-calendar-component precondition (RFC 4791 §5.3.2.1)."""
    try:
        store.check_component(collection, component, before)
    except Refusal as refused:
        runtime.refuse_with(refused, precondition=SUPPORTED_COMPONENT)
        raise


def _without_given_name(s, data: CollectionData, props: Mapping[str, str]) -> Mapping[str, str]:
    """``props`` without the displayname ``_named_principal`` gave a home: Radicale's
    PROPPATCH writes every property back (``get_meta`` with the patch), which stored
    the account's name, or the login, as if the user had set it; the principal then no
    longer followed a new name."""
    if "/" in data.path or props.get("D:displayname") != data.props.get("D:displayname"):
        return props
    stored = store.get_collection(s, data.path)
    if stored is None or "D:displayname" in stored.props:
        return props
    return {k: v for k, v in props.items() if k != "D:displayname"}


def _lock_owner(sane: str) -> str:
    """Whose writes a path's change is serialized with: through an alias, the owner's."""
    root = sharing.alias_root(sane)
    if root is not None:
        with session() as s:
            found = sharing.collection_at(s, root)
        if found is not None and found[1] is not None:
            return found[0].owner
    return store.owner_of(sane)


def _scheduling_owners(sane: str) -> set[str]:
    """Users whose calendars saving or deleting the event at ``sane`` may schedule into.

    Read before the write lock from the stored event and the PUT body, so the
    lock covers them all at once (two organizers inviting each other at the
    same moment would otherwise deadlock).
    """
    parent, href = posixpath.split(sane)
    with session() as s:
        collection = _lookup(s, parent) if parent else None
        if collection is None or collection._data.tag != "VCALENDAR":
            return set()
        old = store.get_item(s, collection._data.id, href)
        texts = [old.text if old else None, runtime.request().body.decode("utf-8", "replace")]
        return scheduling.owners_involved(s, texts)


def _check_plan(s, owner: str, tag: str) -> None:
    """A calendar or address book beyond the plan: forbidden, with the plan's reason."""
    try:
        accounts.check_new_collection(s, owner, tag)
    except Refusal as refused:
        runtime.refuse_with(refused)
        raise


class Storage(storage.BaseStorage):
    # Names are text in SQL, not files: Radicale's path check then refuses only
    # non-printing characters (calcard.core.names refuses those first, with the reason).
    _supports_unicode = True
    _supports_trailing_whitespace = True
    _supports_problematic_chars = True

    def discover(
        self,
        path: str,
        depth: str = "0",
        child_context_manager: Callable[[str, str | None], ContextManager[None]] | None = None,
        user_groups: set[str] = set(),  # noqa: B006 (Radicale's signature)
    ) -> Iterator[types.CollectionOrItem]:
        sane = pathutils.strip_path(path)
        with session() as s:
            collection = _lookup(s, sane)
            if collection is None:
                parent, href = posixpath.split(sane)
                parent_collection = _lookup(s, parent) if parent else None
                item = (
                    store.get_item(s, parent_collection._data.id, href)
                    if parent_collection
                    else None
                )
        if collection is None:
            if parent_collection is not None and item is not None:
                yield parent_collection._item(item)
            return
        yield collection
        if depth == "0":
            return
        # Read only when asked for: Radicale checks that a principal exists on every
        # request with depth 1 and reads nothing past the first answer.
        with session() as s:
            items = store.all_items(s, collection._data.id) if collection._data.id else []
            children = [Collection(c) for c in store.child_collections(s, sane)]
            if sane and "/" not in sane:  # a home: add what is shared with its user
                children += [Collection(c.collection, c) for c in sharing.shared_with(s, sane)]
        guard = child_context_manager or _no_guard
        for row in items:
            with guard(sane, row.href):
                yield collection._item(row)
        for child in children:
            with guard(child.path, None):
                yield child

    def create_collection(self, href: str, items=None, props=None):
        sane = pathutils.strip_path(href)
        datas = None
        if items is not None and props is not None:
            suffix = SUFFIX.get(props.get("tag", ""), "")
            taken: set[str] = set()
            datas = []
            for item in items:
                item_href = store.href_for_uid(item.uid, suffix, taken)
                taken.add(item_href)
                datas.append(item_data(item_href, item))
        owner = store.owner_of(sane)
        refused = scheduling_dav.box_refusal(sane)
        if refused:
            _forbidden(refused)
        with session() as s:
            exists = sharing.collection_at(s, sane) is not None
        # Replacing a whole collection (a PUT of a calendar) deletes what it held.
        _require(access.DELETE_COLLECTION if exists else access.CREATE, sane)
        with session(write=True, owners=[owner]) as s:
            if props and props.get("tag") and store.get_collection(s, sane) is None:
                _check_plan(s, owner, props["tag"])
            data, replaced, new_hrefs = store.create_collection(s, sane, props, datas)
        collection = Collection(data)
        return collection, {h: collection._item(i) for h, i in replaced.items()}, new_hrefs

    def move(
        self, item: radicale_item.Item, to_collection: storage.BaseCollection, to_href: str
    ) -> None:
        assert isinstance(item.collection, Collection) and isinstance(to_collection, Collection)
        item.collection._refuse_box_write()
        to_collection._refuse_box_write()
        scheduletag.check(item.collection.path, item.href or "")
        source, target = item.collection._data, to_collection._data
        if target.id != source.id:  # RFC 4791 §5.3.2.1 holds for MOVE too
            _check_component(target, item.component_name, None)
        with session(write=True) as s:
            store.move_item(s, source, item.href or "", target, to_href)

    @types.contextmanager
    def acquire_lock(self, mode: str, user: str = "", *args, **kwargs) -> Iterator[None]:
        paths = [kwargs.get("path"), kwargs.get("to_path")]
        owners = {_lock_owner(pathutils.strip_path(p)) for p in paths if p} or {user}
        if mode == "w" and kwargs.get("request") in ("PUT", "DELETE"):
            owners |= _scheduling_owners(pathutils.strip_path(kwargs["path"]))
        runtime.set_actor(user)
        if mode == "w":
            push.dont_notify(runtime.request().environ, user)
        with runtime.request_transaction(mode == "w", owners):
            yield

    def verify(self) -> bool:
        with session() as s:
            return store.verify(s)
