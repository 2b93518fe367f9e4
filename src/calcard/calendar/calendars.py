"""A user's own calendars: create, rename, recolor and delete (to the trash).

The name and color are the DAV properties clients read and write
(``D:displayname`` and Apple's ``ICAL:calendar-color``), so a phone shows the
color chosen on the web and the other way round. Only the owner changes a
calendar; a sharee sees it but never renames, recolors or deletes it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from sqlalchemy.orm import Session

from calcard import accounts, sharing, store
from calcard.core.catalogs import N_
from calcard.core.errors import Kind, Refusal
from calcard.sharing import access

PALETTE = ("#2563eb", "#059669", "#d97706", "#dc2626", "#7c3aed", "#db2777", "#0d9488", "#475569")
COLOR_PROP = "ICAL:calendar-color"
NAME_PROP = "D:displayname"
COMPONENTS_PROP = store.COMPONENTS_PROP
COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}(?:[0-9A-Fa-f]{2})?$")  # Apple writes #RRGGBBAA
MAX_NAME = 200


def color_of(props: Mapping[str, str], index: int) -> str:
    """The calendar's color when it is a valid hex color (DAV clients may store
    anything), else one of the palette's."""
    color = props.get(COLOR_PROP) or ""
    return color if COLOR_RE.match(color) else PALETTE[index % len(PALETTE)]


def checked_color(value: object) -> str:
    if not isinstance(value, str) or not COLOR_RE.match(value):
        raise Refusal(N_("color must be a hex color like #2563eb"))
    return value.lower()


def checked_name(value: object) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > MAX_NAME or any(unicodedata.category(c) == "Cc" for c in name):
        raise Refusal(
            N_("name must be 1 to {limit} characters, no control codes"),
            values={"limit": MAX_NAME},
        )
    return name


def create(s: Session, login: str, name: object, color: object) -> store.CollectionData:
    """A new calendar in the caller's home, within their plan's limit."""
    name, color = checked_name(name), checked_color(color)
    if not accounts.product_access(s, login).calendar:
        raise Refusal(N_("you have no access to calendars"), Kind.FORBIDDEN)
    accounts.check_new_collection(s, login, "VCALENDAR")
    path = free_path(s, login, name, "calendar")
    props = {
        "tag": "VCALENDAR",
        NAME_PROP: name,
        COLOR_PROP: color,
        COMPONENTS_PROP: "VEVENT,VTODO,VJOURNAL",
    }
    return store.create_collection(s, path, props, actor=login)[0]


def free_path(s: Session, login: str, name: str, fallback: str) -> str:
    """``login/<slug of name>`` (``-2``, ``-3``... when taken), safe in a DAV URL."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40] or fallback
    if slug.startswith(sharing.ALIAS_PREFIX):
        slug = f"{fallback}-{slug}"  # never mistaken for a share's alias
    path, number = f"{login}/{slug}", 1
    while store.get_collection(s, path) is not None:
        number += 1
        path = f"{login}/{slug}-{number}"
    return path


def own_calendar(
    s: Session, login: str, path: str, action: str = access.CHANGE_PROPERTIES
) -> store.CollectionData:
    """The caller's calendar at ``path``, if the door lets them do ``action`` to it
    (change its properties, delete it): a sharee is refused (403), others see 404."""
    decision = access.decide(s, login, action, str(path))  # an alias: refused, never owned
    collection = decision.collection
    if collection is not None and collection.owner == login and collection.tag == "VCALENDAR":
        if not accounts.product_access(s, login).calendar:
            raise Refusal(N_("you have no access to calendars"), Kind.FORBIDDEN)
    if collection is None or collection.tag != "VCALENDAR" or not decision.readable:
        raise Refusal(N_("no calendar {path!r}"), Kind.NOT_FOUND, values={"path": path})
    if not decision.allowed:
        raise Refusal(N_("only its owner can change or delete a calendar"), Kind.FORBIDDEN)
    return collection


def update(
    s: Session, login: str, path: str, name: object = None, color: object = None
) -> store.CollectionData:
    """Rename and/or recolor; the change reaches DAV clients as a property change."""
    collection = own_calendar(s, login, path)
    props = dict(collection.props)
    if name is not None:
        props[NAME_PROP] = checked_name(name)
    if color is not None:
        props[COLOR_PROP] = checked_color(color)
    store.set_props(s, collection, props)
    return store.get_collection(s, collection.path)  # type: ignore[return-value]  # just updated


def delete(s: Session, login: str, path: str) -> None:
    """Move the calendar and its items to the trash (restorable for the plan's retention)."""
    collection = own_calendar(s, login, path, access.DELETE_COLLECTION)
    store.delete_collection(s, collection, actor=login)
