"""Contact groups, copy and move between address books, duplicates and their merge.

Two group styles exist in the wild and both are understood: vCard 4
(``KIND:group`` + ``MEMBER:urn:uuid:...``) and Apple's vCard 3 cards
(``X-ADDRESSBOOKSERVER-KIND:group`` + ``X-ADDRESSBOOKSERVER-MEMBER``). A
merge keeps every distinct value of the merged cards and records their
original texts (``contact_merges``) so it can be undone.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import combinations

import vobject
from sqlalchemy import select
from sqlalchemy.orm import Session

from calcard import store
from calcard.core.catalogs import N_, SOURCE, Message
from calcard.core.errors import Kind
from calcard.core.models import Collection, ContactMerge, Item
from calcard.core.times import utcnow
from calcard.sharing import access
from calcard.store import ItemData, StoreError

APPLE_KIND, APPLE_MEMBER = "x-addressbookserver-kind", "x-addressbookserver-member"
URN = "urn:uuid:"
WEIGHTS = {"email": 0.9, "phone": 0.8, "name": 0.6}  # how much one shared value says
MAX_SAME_KEY = 50  # a value shared by more cards (a switchboard number) proves nothing
SKIP = {"uid", "version", "prodid", "rev"}
SINGLE = {"fn", "n", "bday", "anniversary", "gender", "kind", APPLE_KIND, "photo", "logo"}
KEPT_IN_RECORD = {"n", "kind", APPLE_KIND, "photo", "logo"}  # conflicts: the record keeps them


def addressbook(s: Session, login: str, path: str, write: bool = False) -> store.CollectionData:
    """The address book at ``path`` if ``login`` may read it (or write it)."""
    decision = access.stored(s, login, access.WRITE if write else access.READ, path)
    collection = decision.collection
    if collection is None or collection.tag != "VADDRESSBOOK" or not decision.readable:
        raise StoreError(N_("no address book at {path!r}"), Kind.NOT_FOUND, values={"path": path})
    if not decision.allowed:
        raise StoreError(
            N_("{path!r} is read-only for {login!r}"), values={"path": path, "login": login}
        )
    return collection


def _card(text: str):
    return vobject.readOne(text)


def _value(line) -> str:
    return str(line.value).strip()


def _cards(s: Session, collection_id: int) -> Iterator[tuple[ItemData, vobject.base.Component]]:
    for item in store.all_items(s, collection_id):
        try:
            yield item, _card(item.text)
        except Exception:  # noqa: BLE001, S112 - a card vobject cannot read is no candidate
            continue


def _by_uid(s: Session, collection_id: int, uid: str) -> ItemData:
    item = store.item_by_uid(s, collection_id, uid)
    if item is None:
        raise StoreError(
            N_("no contact {uid!r} in this address book"), Kind.NOT_FOUND, values={"uid": uid}
        )
    return item


def save_card(s: Session, collection: store.CollectionData, item: ItemData, card) -> ItemData:
    """Store ``card`` at ``item``'s href and UID, after checking it reads back."""
    text = card.serialize()
    _card(text)  # what we store must read back
    return store.put_item(s, collection, item.with_text(text))[0]


# --- groups ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    value: str  # as written: urn:uuid:..., mailto:...
    uid: str | None
    name: str | None  # None when the member is not in this address book

    def as_json(self) -> dict:
        return {"value": self.value, "uid": self.uid, "name": self.name}


@dataclass(frozen=True)
class Group:
    uid: str
    name: str
    style: str  # vcard4 | apple
    members: list[Member] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "uid": self.uid,
            "name": self.name,
            "style": self.style,
            "members": [m.as_json() for m in self.members],
        }


def group_style(card) -> str | None:
    """'vcard4' or 'apple' for a group card, None for a person."""
    if any(_value(k).lower() == "group" for k in card.contents.get("kind", [])):
        return "vcard4"
    if any(_value(k).lower() == "group" for k in card.contents.get(APPLE_KIND, [])):
        return "apple"
    return None


def _member_lines(card) -> list:
    return card.contents.get("member", []) + card.contents.get(APPLE_MEMBER, [])


def _member_uid(value: str) -> str | None:
    return value[len(URN) :] if value.lower().startswith(URN) else None


def member_uids(card) -> list[str]:
    """The contact UIDs a group card lists (members named otherwise are left out)."""
    return [uid for line in _member_lines(card) if (uid := _member_uid(_value(line)))]


def _group(card, names: dict[str, str]) -> Group:
    members = []
    for line in _member_lines(card):
        uid = _member_uid(_value(line))
        members.append(Member(_value(line), uid, names.get(uid) if uid else None))
    name = _value(card.fn) if "fn" in card.contents else ""
    return Group(_value(card.uid), name, group_style(card) or "", members)


def list_groups(s: Session, collection: store.CollectionData) -> list[Group]:
    cards = [card for _, card in _cards(s, collection.id) if "uid" in card.contents]
    names = {_value(c.uid): _value(c.fn) for c in cards if "fn" in c.contents}
    return sorted(
        (_group(c, names) for c in cards if group_style(c)), key=lambda g: g.name.casefold()
    )


def create_group(s: Session, collection: store.CollectionData, name: str, style: str) -> Group:
    """A new, empty group card in the style the address book's clients expect."""
    if style not in ("vcard4", "apple") or not name.strip():
        raise StoreError(N_("a group needs a name and a style of vcard4 or apple"))
    uid = str(uuid.uuid4())
    card = vobject.vCard()
    card.add("version").value = "4.0" if style == "vcard4" else "3.0"
    card.add("uid").value = uid
    card.add("fn").value = name
    card.add("n").value = vobject.vcard.Name(family=name)
    card.add("kind" if style == "vcard4" else APPLE_KIND).value = "group"
    href = store.free_href(s, collection.id, uid, ".vcf")
    save_card(s, collection, ItemData.placeholder(href, uid), card)
    return Group(uid, name, style)


def change_members(
    s: Session,
    collection: store.CollectionData,
    group_uid: str,
    add: list[str],
    remove: list[str],
) -> Group:
    """Add and remove members (by contact UID), written in the group's own style."""
    item = _by_uid(s, collection.id, group_uid)
    card = _card(item.text)
    style = group_style(card)
    if style is None:
        raise StoreError(N_("{group_uid!r} is not a group"), values={"group_uid": group_uid})
    for uid in add:
        _by_uid(s, collection.id, uid)  # members must exist here
    present = {_member_uid(_value(line)) for line in _member_lines(card)}
    for line in list(_member_lines(card)):
        if _member_uid(_value(line)) in remove:
            card.remove(line)
    for uid in dict.fromkeys(add):
        if uid not in present:
            card.add("member" if style == "vcard4" else APPLE_MEMBER).value = URN + uid
    save_card(s, collection, item, card)
    return next(g for g in list_groups(s, collection) if g.uid == group_uid)


# --- copy and move -----------------------------------------------------------------------------


@dataclass
class TransferReport:
    """What a copy or move did: the UIDs it stored and, for each it left, why, kept as
    a Message the route says in its caller's language (docs/languages.md)."""

    done: list[str] = field(default_factory=list)
    skipped: list[Message] = field(default_factory=list)

    def as_json(self, language: str = SOURCE) -> dict:
        return {"done": self.done, "skipped": [reason.said(language) for reason in self.skipped]}


def transfer(
    s: Session,
    source: store.CollectionData,
    target: store.CollectionData,
    uids: list[str],
    move: bool,
) -> TransferReport:
    """Copy (or move) contacts by UID; a UID the target already has is skipped, not replaced."""
    report = TransferReport()
    if source.id == target.id:
        raise StoreError(N_("source and target are the same address book"))
    for uid in dict.fromkeys(uids):
        item = store.item_by_uid(s, source.id, uid)
        if item is None:
            values = {"uid": uid, "path": source.path}
            report.skipped.append(Message(N_("no contact {uid!r} in /{path}/"), values))
            continue
        if store.has_uid(s, target.id, uid):
            values = {"uid": uid, "path": target.path}
            report.skipped.append(Message(N_("the contact {uid!r} is already in /{path}/"), values))
            continue
        href = store.free_href(s, target.id, uid, ".vcf")
        if move:
            store.move_item(s, source, item.href, target, href)
        else:
            store.put_item(s, target, item.at(href))
        report.done.append(uid)
    return report


# --- duplicates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Duplicate:
    uids: tuple[str, str]
    names: tuple[str, str]
    score: float
    reasons: list[str]

    def as_json(self) -> dict:
        return {
            "uids": list(self.uids),
            "names": list(self.names),
            "score": self.score,
            "reasons": self.reasons,
        }


def normalized(name: str, value: str) -> str:
    """The form two values are compared in: mail case-blind, phones by their last 9 digits."""
    if name == "email":
        return value.strip().lower().removeprefix("mailto:")
    if name == "tel":
        digits = re.sub(r"\D", "", value)
        return digits[-9:] if len(digits) >= 7 else digits
    if name == "fn":
        return " ".join(sorted(re.sub(r"[^\w\s]", " ", value.casefold()).split()))
    return " ".join(value.casefold().split())


def _keys(card) -> set[tuple[str, str]]:
    keys = {("email", normalized("email", _value(x))) for x in card.contents.get("email", [])}
    keys |= {("phone", normalized("tel", _value(x))) for x in card.contents.get("tel", [])}
    if "fn" in card.contents:
        keys.add(("name", normalized("fn", _value(card.fn))))
    return {(kind, value) for kind, value in keys if value}


def duplicates(s: Session, collection: store.CollectionData) -> list[Duplicate]:
    """Pairs of people sharing an email, a phone or a name, best first."""
    by_key: dict[tuple[str, str], list[str]] = defaultdict(list)
    names: dict[str, str] = {}
    for item, card in _cards(s, collection.id):
        if group_style(card) or not item.uid:
            continue
        names[item.uid] = _value(card.fn) if "fn" in card.contents else ""
        for key in _keys(card):
            by_key[key].append(item.uid)
    reasons: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for key, uids in by_key.items():
        if len(uids) <= MAX_SAME_KEY:
            for pair in combinations(sorted(uids), 2):
                reasons[pair].append(key)
    found = [
        Duplicate(
            pair, (names[pair[0]], names[pair[1]]), _score(keys), [f"{k} {v}" for k, v in keys]
        )
        for pair, keys in reasons.items()
    ]
    return sorted(found, key=lambda d: (-d.score, d.names))


def _score(keys: list[tuple[str, str]]) -> float:
    unlikely = 1.0
    for kind, _ in keys:
        unlikely *= 1 - WEIGHTS[kind]
    return round(1 - unlikely, 3)


# --- merge and undo ----------------------------------------------------------------------------


def _units(card) -> Iterator[list]:
    """Lines that belong together: an Apple ``itemN.`` group (value + X-ABLabel) or one line."""
    grouped: dict[str, list] = defaultdict(list)
    for lines in card.contents.values():
        for line in lines:
            if line.group:
                grouped[line.group.lower()].append(line)
            else:
                yield [line]
    yield from grouped.values()


def _has(card, name: str, value: str) -> bool:
    return any(
        normalized(name, _value(line)) == normalized(name, value)
        for line in card.contents.get(name, [])
    )


def _fresh_group(card) -> str:
    numbers = [
        int(m.group(1))
        for lines in card.contents.values()
        for line in lines
        if line.group and (m := re.fullmatch(r"item(\d+)", line.group, re.IGNORECASE))
    ]
    return f"item{max(numbers, default=0) + 1}"


def merge_into(keep, other) -> None:
    """Add every value of ``other`` that ``keep`` lacks.

    Single-valued properties stay the kept card's: another name becomes a
    NICKNAME, another birthday or the like a NOTE; photos and structured names
    that differ stay in the merge record only.
    """
    for unit in _units(other):
        values = [line for line in unit if not line.name.lower().startswith("x-ab")]
        new = [line for line in values if _adds(keep, line)]
        if not new:
            continue
        group = _fresh_group(keep) if unit[0].group else None
        for line in [*new, *(line for line in unit if line not in values)]:
            copied = line.duplicate(line)
            copied.group = group
            keep.add(copied)


def _adds(keep, line) -> bool:
    """Whether ``line`` must be copied into ``keep``; conflicts are written here."""
    name, value = line.name.lower(), _value(line)
    if name in SKIP or _has(keep, name, value):
        return False
    if name not in SINGLE or name not in keep.contents:
        return True
    if name == "fn":
        if not _has(keep, "nickname", value):
            keep.add("nickname").value = value
    elif name not in KEPT_IN_RECORD:
        note = f"{line.name.upper()} of a merged card: {value}"
        if not _has(keep, "note", note):
            keep.add("note").value = note
    return False


@dataclass(frozen=True)
class MergeResult:
    id: int
    uid: str
    href: str


def merge(
    s: Session, collection: store.CollectionData, keep_uid: str, others: list[str], actor: str
) -> MergeResult:
    """Fold ``others`` into the card ``keep_uid``, repoint groups, trash the others."""
    others = [u for u in dict.fromkeys(others) if u != keep_uid]
    if not others:
        raise StoreError(N_("name at least one other contact to merge"))
    kept = _by_uid(s, collection.id, keep_uid)
    merged = [_by_uid(s, collection.id, uid) for uid in others]
    card = _card(kept.text)
    for item in merged:
        other = _card(item.text)
        if group_style(other) or group_style(card):
            raise StoreError(N_("groups cannot be merged; merge people"))
        merge_into(card, other)
    originals = [_original(kept, removed=False)]
    stored = save_card(s, collection, kept, card)
    for item in merged:
        originals.append(_original(item, removed=True))
        store.delete_item(s, collection, item.href, actor)
    originals += _repoint_groups(s, collection, set(others), keep_uid)
    originals[0]["etag_after"] = stored.etag
    row = ContactMerge(
        owner=collection.owner,
        collection_id=collection.id,
        kept_uid=keep_uid,
        kept_href=kept.href,
        merged_etag=stored.etag,
        originals=json.dumps(originals),
    )
    s.add(row)
    s.flush()
    return MergeResult(row.id, keep_uid, kept.href)


def _original(item: ItemData, removed: bool) -> dict:
    return {"href": item.href, "uid": item.uid, "text": item.text, "removed": removed}


def _repoint_groups(
    s: Session, collection: store.CollectionData, gone: set[str], keep_uid: str
) -> list[dict]:
    """Groups that listed a merged-away card list the kept one instead."""
    changed = []
    for item, card in _cards(s, collection.id):
        lines = _member_lines(card)
        if not group_style(card) or not any(_member_uid(_value(x)) in gone for x in lines):
            continue
        has_keep = any(_member_uid(_value(x)) == keep_uid for x in lines)
        for line in lines:
            if _member_uid(_value(line)) in gone:
                if has_keep:
                    card.remove(line)
                else:
                    line.value, has_keep = URN + keep_uid, True
        stored = save_card(s, collection, item, card)
        changed.append({**_original(item, removed=False), "etag_after": stored.etag})
    return changed


def list_merges(s: Session, login: str) -> list[dict]:
    rows = s.scalars(
        select(ContactMerge)
        .where(ContactMerge.owner == login)
        .order_by(ContactMerge.created_at.desc(), ContactMerge.id.desc())
    )
    return [_merge_json(s, r) for r in rows]


def _merge_json(s: Session, row: ContactMerge) -> dict:
    originals = json.loads(row.originals)
    path = s.scalar(select(Collection.path).where(Collection.id == row.collection_id))
    return {
        "id": row.id,
        "addressbook": f"/{path}/",
        "kept": row.kept_uid,
        "merged": [o["uid"] for o in originals if o["removed"]],
        "groups_changed": [o["uid"] for o in originals[1:] if not o["removed"]],
        "created_at": row.created_at.isoformat(),
        "undone_at": row.undone_at.isoformat() if row.undone_at else None,
    }


def undo_merge(s: Session, login: str, merge_id: int) -> dict:
    """Put every card the merge touched back as it was; refused if any changed since."""
    row = s.get(ContactMerge, merge_id)
    if row is None:
        raise StoreError(N_("no merge {merge_id}"), Kind.NOT_FOUND, values={"merge_id": merge_id})
    path = s.scalar(select(Collection.path).where(Collection.id == row.collection_id)) or ""
    collection = addressbook(s, login, path, write=True)
    if collection.id != row.collection_id:
        raise StoreError(
            N_("the address book of merge {merge_id} is deleted"),
            Kind.NOT_FOUND,
            values={"merge_id": merge_id},
        )
    if row.undone_at is not None:
        raise StoreError(
            N_("merge {merge_id} is already undone"), Kind.CONFLICT, values={"merge_id": merge_id}
        )
    originals = json.loads(row.originals)
    for original in originals:
        _check_unchanged(s, collection, original)
    for original in originals:
        _put_back(s, collection, original)
    row.undone_at = utcnow()
    return _merge_json(s, row)


def _check_unchanged(s: Session, collection: store.CollectionData, original: dict) -> None:
    current = store.get_item(s, collection.id, original["href"])
    if original["removed"]:
        if current is not None or store.has_uid(s, collection.id, original["uid"]):
            raise StoreError(
                N_("{uid!r} exists again; undo refused"),
                Kind.CONFLICT,
                values={"uid": original["uid"]},
            )
    elif current is None or current.etag != original["etag_after"]:
        raise StoreError(
            N_("{uid!r} changed since the merge; undo refused"),
            Kind.CONFLICT,
            values={"uid": original["uid"]},
        )


def _put_back(s: Session, collection: store.CollectionData, original: dict) -> None:
    text = original["text"]
    trashed = s.scalars(
        select(Item.id).where(
            Item.collection_id == collection.id,
            Item.href == original["href"],
            Item.etag == store.etag_of(text),
            Item.deleted_at.is_not(None),
        )
    ).first()
    if original["removed"] and trashed is not None:
        store.restore_item(s, collection, trashed)  # out of the trash, not a second copy
        return
    store.put_item(
        s, collection, ItemData.placeholder(original["href"], original["uid"]).with_text(text)
    )
