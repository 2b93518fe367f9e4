"""Contact cards as the web UI shows and edits them: list, search, read, create, edit, delete.

Cards are read and written with vobject and stored through ``calcard.store``
like a CardDAV PUT, so phones and desktops see every change at their next sync.
An edit rewrites only the properties whose value the form changed: everything
else on the card (photos, Apple ``itemN.`` labels, X- properties, a second
address) stays as the client that wrote it left it. New cards are vCard 3.0,
which every CardDAV client reads.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import vobject
from sqlalchemy.orm import Session

from calcard import contacts, sharing, store
from calcard.contacts import birthdays
from calcard.core.catalogs import N_
from calcard.core.errors import Kind
from calcard.sharing import access
from calcard.store import ItemData, StoreError

EMAIL_TYPES = ("home", "work", "other")
PHONE_TYPES = ("cell", "home", "work", "other")
ADDRESS_FIELDS = ("street", "city", "postal", "region", "country")
MAX_VALUES = 50  # e-mails or phones on one card
MAX_TEXT = 1000
MAX_NOTE = 20_000
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
BIRTHDAY = re.compile(r"^(?:(\d{4})|-)-(\d{2})-(\d{2})$")  # YYYY-MM-DD or --MM-DD


@dataclass(frozen=True)
class Value:
    """An e-mail address or phone number with its kind (home, work, cell, other)."""

    type: str
    value: str


@dataclass(frozen=True)
class Address:
    street: str = ""
    city: str = ""
    postal: str = ""
    region: str = ""
    country: str = ""


@dataclass(frozen=True)
class ContactInput:
    """What the contact form edits."""

    name: str = ""  # FN, the display name; made from the other fields when empty
    given: str = ""
    family: str = ""
    emails: tuple[Value, ...] = ()
    phones: tuple[Value, ...] = ()
    org: str = ""
    title: str = ""
    address: Address | None = None
    birthday: str = ""  # YYYY-MM-DD, or --MM-DD when the year is unknown
    note: str = ""
    fields: frozenset[str] = field(default_factory=frozenset)  # the keys the form sent


# --- address books -------------------------------------------------------------------------


def addressbooks(s: Session, login: str) -> list[dict]:
    """The caller's own address books, then those shared with them."""
    own = [c for c in store.child_collections(s, login) if c.tag == "VADDRESSBOOK"]
    shared = [
        c.collection for c in sharing.shared_with(s, login) if c.collection.tag == "VADDRESSBOOK"
    ]
    found = []
    for collection in own + shared:
        if not access.may(s, login, access.READ, collection.path):
            continue
        found.append(
            {
                "path": f"/{collection.path}/",
                "name": collection.props.get("D:displayname") or collection.path.rsplit("/", 1)[-1],
                "owner": collection.owner,
                "writable": access.may(s, login, access.WRITE, collection.path),
            }
        )
    return found


# --- reading -------------------------------------------------------------------------------


def _text(line) -> str:
    value = line.value
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    return str(value).strip()


def _kind(line, allowed: tuple[str, ...]) -> str:
    """The line's kind from its TYPE parameters (``mobile`` counts as ``cell``)."""
    for raw in line.params.get("TYPE", []):
        for part in str(raw).lower().split(","):
            part = "cell" if part == "mobile" else part
            if part in allowed and part != "other":
                return part
    return "other"


def _values(card, name: str, allowed: tuple[str, ...]) -> tuple[Value, ...]:
    return tuple(Value(_kind(line, allowed), _text(line)) for line in card.contents.get(name, []))


def _address(card) -> Address | None:
    lines = card.contents.get("adr", [])
    if not lines or not isinstance(lines[0].value, vobject.vcard.Address):
        return None
    adr = lines[0].value
    return Address(
        *(
            " ".join(str(x) for x in v) if isinstance(v, list) else str(v or "")
            for v in (adr.street, adr.city, adr.code, adr.region, adr.country)
        )
    )


def _birthday(card) -> str:
    line = card.contents.get("bday", [None])[0]
    if line is None:
        return ""
    params = ";".join(f"{k}={','.join(v)}" for k, v in line.params.items())
    found = birthdays.parse_date(_text(line), params)
    if found is None:
        return ""
    year = f"{found.year:04d}" if found.year else "-"
    return f"{year}-{found.month:02d}-{found.day:02d}"


def _name_parts(card) -> tuple[str, str]:
    line = card.contents.get("n", [None])[0]
    if line is None or not isinstance(line.value, vobject.vcard.Name):
        return "", ""
    part = line.value
    join = lambda v: " ".join(v) if isinstance(v, list) else str(v or "")  # noqa: E731
    return join(part.given), join(part.family)


def _first(card, name: str) -> str:
    line = card.contents.get(name, [None])[0]
    if line is None:
        return ""
    value = line.value
    return str(value[0] if isinstance(value, list) and value else value or "").strip()


def read(card) -> ContactInput:
    """The form's view of a card."""
    given, family = _name_parts(card)
    notes = [_text(line) for line in card.contents.get("note", [])]
    return ContactInput(
        name=_text(card.fn) if "fn" in card.contents else "",
        given=given,
        family=family,
        emails=_values(card, "email", EMAIL_TYPES),
        phones=_values(card, "tel", PHONE_TYPES),
        org=_first(card, "org"),
        title=_first(card, "title"),
        address=_address(card),
        birthday=_birthday(card),
        note="\n".join(notes),
    )


def _form_json(item: ItemData, path: str, data: ContactInput, groups: list[str]) -> dict:
    answer = asdict(data)
    answer.pop("fields")
    return {
        "addressbook": f"/{path}/",
        "uid": item.uid,
        "href": item.href,
        "etag": item.etag,
        **answer,
        "groups": groups,
    }


@functools.lru_cache(maxsize=50_000)
def _summary(text: str) -> ContactInput | tuple[str, ...] | None:
    """A person's form view, a group's member UIDs, or None for a card vobject cannot read.

    Cached by the card's text: listing a book reads every card, and parsing one
    with vobject is what costs (about half a millisecond).
    """
    try:
        card = vobject.readOne(text)
    except Exception:  # noqa: BLE001 - vobject raises many kinds
        return None
    if contacts.group_style(card):
        return tuple(contacts.member_uids(card))
    return read(card)


def _cards(
    s: Session, book: store.CollectionData
) -> tuple[list[tuple[ItemData, ContactInput]], dict[str, list[str]]]:
    """The people of an address book with their form view, and contact UID -> UIDs
    of its groups. A card vobject cannot read is left to DAV clients."""
    people: list[tuple[ItemData, ContactInput]] = []
    member_of: dict[str, list[str]] = {}
    for item in store.all_items(s, book.id):
        summary = _summary(item.text)
        if isinstance(summary, ContactInput):
            people.append((item, summary))
        for uid in summary if isinstance(summary, tuple) else ():
            member_of.setdefault(uid, []).append(item.uid)
    return people, member_of


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def matches(data: ContactInput, query: str) -> bool:
    """Whether a search term is in the name, an e-mail, the organization or a phone number.

    Phone numbers compare by digits, the last nine of a long term, so a national
    and an international way of writing one number find each other.
    """
    needle = query.casefold().strip()
    words = [data.name, data.given, data.family, data.org, data.title]
    words += [e.value for e in data.emails]
    if any(needle in w.casefold() for w in words):
        return True
    digits = _digits(needle)[-9:]  # 079 123 45 67 finds +41 79 123 45 67
    return len(digits) >= 3 and any(digits in _digits(p.value) for p in data.phones)


def list_contacts(
    s: Session, login: str, path: str, query: str = "", group: str = ""
) -> list[dict]:
    """People in an address book (groups are listed apart), by name, optionally filtered."""
    book = contacts.addressbook(s, login, path)
    people, member_of = _cards(s, book)
    found = []
    for item, data in people:
        if query and not matches(data, query):
            continue
        groups = member_of.get(item.uid, [])
        if group and group not in groups:
            continue
        found.append(
            {
                "uid": item.uid,
                "href": item.href,
                "name": data.name or _display_name(data),
                "email": data.emails[0].value if data.emails else "",
                "phone": data.phones[0].value if data.phones else "",
                "org": data.org,
                "groups": groups,
            }
        )
    return sorted(found, key=lambda c: (c["name"].casefold(), c["uid"]))


def detail(s: Session, login: str, path: str, uid: str) -> dict:
    book = contacts.addressbook(s, login, path)
    item, card = _person(s, book, uid)
    return _form_json(item, book.path, read(card), _cards(s, book)[1].get(uid, []))


def _person(s: Session, book: store.CollectionData, uid: str):
    item = store.item_by_uid(s, book.id, uid)
    if item is None:
        raise StoreError(
            N_("no contact {uid!r} in /{path}/"),
            Kind.NOT_FOUND,
            values={"uid": uid, "path": book.path},
        )
    try:
        card = vobject.readOne(item.text)
    except Exception as exc:  # noqa: BLE001 - vobject raises many kinds
        raise StoreError(
            N_("the contact {uid!r} cannot be read: {error}"),
            values={"uid": uid, "error": str(exc)},
        ) from exc
    if contacts.group_style(card):
        raise StoreError(
            N_("{uid!r} is a group, not a contact"), Kind.NOT_FOUND, values={"uid": uid}
        )
    return item, card


# --- writing -------------------------------------------------------------------------------


def create(s: Session, login: str, path: str, data: ContactInput) -> dict:
    """A new vCard 3.0 card with the form's values."""
    book = contacts.addressbook(s, login, path, write=True)
    uid = str(uuid.uuid4())
    card = vobject.vCard()
    card.add("version").value = "3.0"
    card.add("uid").value = uid
    _apply(card, data, ContactInput())
    href = store.free_href(s, book.id, uid, ".vcf")
    stored = contacts.save_card(s, book, ItemData.placeholder(href, uid, "VCARD"), card)
    return _form_json(stored, book.path, read(card), [])


def update(s: Session, login: str, path: str, uid: str, etag: str, data: ContactInput) -> dict:
    """Apply the form's changes; 409 when the card changed since the form was opened."""
    book = contacts.addressbook(s, login, path, write=True)
    item, card = _person(s, book, uid)
    if etag and etag != item.etag:
        raise StoreError(N_("the contact was changed meanwhile; reload it"), Kind.CONFLICT)
    _apply(card, data, read(card))
    stored = contacts.save_card(s, book, item, card)
    return _form_json(stored, book.path, read(card), _cards(s, book)[1].get(uid, []))


def delete(s: Session, login: str, path: str, uid: str, etag: str, actor: str) -> None:
    """Move the card to the trash; 409 when it changed since it was shown."""
    book = contacts.addressbook(s, login, path, write=True)
    item, _ = _person(s, book, uid)
    if etag and etag != item.etag:
        raise StoreError(N_("the contact was changed meanwhile; reload it"), Kind.CONFLICT)
    store.delete_item(s, book, item.href, actor)


def _display_name(data: ContactInput) -> str:
    person = " ".join(p for p in (data.given, data.family) if p)
    return person or data.org or next((v.value for v in data.emails + data.phones), "")


def _apply(card, new: ContactInput, old: ContactInput) -> None:
    """Write the fields the form sent and changed; leave every other line alone."""
    sent = new.fields or frozenset(ContactInput.__dataclass_fields__)
    changed = {name for name in sent if getattr(new, name) != getattr(old, name)}
    v4 = _text(card.version).startswith("4") if "version" in card.contents else False
    if changed & {"given", "family"}:
        _set_name(card, new)
    if "emails" in changed:
        _replace(card, "email", [(_type_param(v.type, v4), v.value) for v in new.emails])
    if "phones" in changed:
        _replace(card, "tel", [(_type_param(p.type, v4), p.value) for p in new.phones])
    if "org" in changed:
        units = card.org.value if "org" in card.contents else []
        _set_first(card, "org", [new.org, *units[1:]] if new.org else None)
    if "title" in changed:
        _set_first(card, "title", new.title or None)
    if "address" in changed:
        _set_address(card, new.address)
    if "birthday" in changed:
        _set_birthday(card, new.birthday, v4)
    if "note" in changed:
        _replace(card, "note", [(None, new.note)] if new.note else [])
    display = (new.name if "name" in sent else old.name) or _display_name(read(card))
    if not display:
        raise StoreError(N_("a contact needs a name, an organization, an e-mail or a phone"))
    if "fn" not in card.contents:
        card.add("fn")
    card.fn.value = display
    if "n" not in card.contents:  # vCard 3.0 requires N
        card.add("n").value = vobject.vcard.Name(family=new.family, given=new.given)


def _type_param(kind: str, v4: bool) -> str | None:
    if kind == "other":
        return None
    return kind if v4 else kind.upper()


def _remove(card, name: str, line) -> None:
    """Remove a line and the Apple labels grouped with it (``itemN.X-ABLabel``)."""
    if line.group:
        for lines in list(card.contents.values()):
            for other in list(lines):
                if other.group == line.group and other.name.lower().startswith("x-ab"):
                    card.remove(other)
    card.remove(line)


def _replace(card, name: str, values: list[tuple[str | None, str]]) -> None:
    for line in list(card.contents.get(name, [])):
        _remove(card, name, line)
    for kind, value in values:
        line = card.add(name)
        line.value = value
        if kind:
            line.params["TYPE"] = [kind]


def _set_first(card, name: str, value) -> None:
    lines = card.contents.get(name, [])
    if value is None:
        if lines:
            _remove(card, name, lines[0])
        return
    (lines[0] if lines else card.add(name)).value = value


def _set_name(card, new: ContactInput) -> None:
    lines = card.contents.get("n", [])
    line = lines[0] if lines else card.add("n")
    old = line.value if isinstance(line.value, vobject.vcard.Name) else vobject.vcard.Name()
    line.value = vobject.vcard.Name(
        family=new.family,
        given=new.given,
        additional=old.additional,
        prefix=old.prefix,
        suffix=old.suffix,
    )


def _set_address(card, address: Address | None) -> None:
    lines = card.contents.get("adr", [])
    if address is None or not any(asdict(address).values()):
        if lines:
            _remove(card, "adr", lines[0])
        return
    line = lines[0] if lines else card.add("adr")
    old = line.value if isinstance(line.value, vobject.vcard.Address) else None
    line.value = vobject.vcard.Address(
        street=address.street,
        city=address.city,
        region=address.region,
        code=address.postal,
        country=address.country,
        box=old.box if old else "",
        extended=old.extended if old else "",
    )


def _set_birthday(card, value: str, v4: bool) -> None:
    for line in list(card.contents.get("bday", [])):
        _remove(card, "bday", line)
    match = BIRTHDAY.match(value)
    if not match:
        return
    year, month, day = match.groups()
    line = card.add("bday")
    if v4:
        line.value = f"{year}{month}{day}" if year else f"--{month}{day}"
    elif year:
        line.value = f"{year}-{month}-{day}"
    else:  # Apple's way of saying "year unknown" in vCard 3.0
        line.value = f"{birthdays.APPLE_NO_YEAR}-{month}-{day}"
        line.params["X-APPLE-OMIT-YEAR"] = [str(birthdays.APPLE_NO_YEAR)]


# --- the form's input ----------------------------------------------------------------------


def parse_input(body: dict) -> ContactInput:
    """Validate the contact form's JSON; every problem is a StoreError with its reason."""
    values: dict[str, Any] = {  # the fields of ContactInput
        "name": _string(body, "name"),
        "given": _string(body, "given"),
        "family": _string(body, "family"),
        "emails": _list_of_values(body, "emails", EMAIL_TYPES),
        "phones": _list_of_values(body, "phones", PHONE_TYPES),
        "org": _string(body, "org"),
        "title": _string(body, "title"),
        "address": _parse_address(body.get("address")),
        "birthday": _parse_birthday(body.get("birthday")),
        "note": _string(body, "note", MAX_NOTE, multiline=True),
    }
    for value in values["emails"]:
        if "@" not in value.value or " " in value.value:
            raise StoreError(
                N_("{value!r} is not an e-mail address"), values={"value": value.value}
            )
    for value in values["phones"]:
        if not re.fullmatch(r"[0-9+()#*.,;/ xextEXT-]{1,64}", value.value):
            raise StoreError(N_("{value!r} is not a phone number"), values={"value": value.value})
    sent = frozenset(k for k in values if k in body)
    return ContactInput(**values, fields=sent)


def _string(body: dict, name: str, limit: int = MAX_TEXT, multiline: bool = False) -> str:
    value = body.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise StoreError(N_("{name} must be text"), values={"name": name})
    value = value.strip()
    if len(value) > limit:
        raise StoreError(
            N_("{name} is longer than {limit} characters"), values={"name": name, "limit": limit}
        )
    if CONTROL.search(value) or (not multiline and ("\n" in value or "\r" in value)):
        raise StoreError(N_("{name} contains control characters"), values={"name": name})
    return value


def _list_of_values(body: dict, name: str, kinds: tuple[str, ...]) -> tuple[Value, ...]:
    raw = body.get(name) or []
    if not isinstance(raw, list) or len(raw) > MAX_VALUES:
        raise StoreError(
            N_("{name} must be a list of at most {limit} entries"),
            values={"name": name, "limit": MAX_VALUES},
        )
    found = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise StoreError(
                N_("each of {name} must be an object with type and value"), values={"name": name}
            )
        kind = entry.get("type") or "other"
        if kind not in kinds:
            raise StoreError(
                N_("the type of one of {name} must be one of {kinds}"),
                values={"name": name, "kinds": ", ".join(kinds)},
            )
        value = _string(entry, "value", 320)
        if value:
            found.append(Value(kind, value))
    return tuple(found)


def _parse_address(raw: object) -> Address | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise StoreError(N_("address must be an object"))
    return Address(**{name: _string(raw, name) for name in ADDRESS_FIELDS})


def _parse_birthday(raw: object) -> str:
    if raw in (None, ""):
        return ""
    if not isinstance(raw, str) or not (match := BIRTHDAY.match(raw)):
        raise StoreError(N_("birthday must be YYYY-MM-DD, or --MM-DD when the year is unknown"))
    year, month, day = match.groups()
    if birthdays.parse_date(f"{year or '-'}-{month}-{day}") is None:
        raise StoreError(N_("{value!r} is not a day of the year"), values={"value": raw})
    return raw
