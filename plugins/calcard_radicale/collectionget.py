"""GET of a whole calendar or address book, streamed a page of items at a time.

Radicale's GET runs as before: its access check (the rights plugin, the one door),
its discovery of the path (a sharee's alias too) and its headers. The collection's
``serialize`` (storage.py) hands it an empty placeholder and records what to serve
(``Wanted``); ``app`` then answers with ``stream``: the body Radicale's
``BaseCollection.serialize`` builds in memory, byte for byte (every distinct
VTIMEZONE first, then each item's components, items in href order; an address
book's cards one after another), read from one snapshot (``importexport.snapshot``),
with the ETag and Last-Modified of that snapshot. Never the collection in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import vobject

from calcard.core.models import Item
from calcard.store import CollectionData
from calcard.transfer import importexport
from calcard_radicale import runtime

END = "\r\nEND:VCALENDAR\r\n"


@dataclass(frozen=True)
class Wanted:
    """What a GET of a collection serves: its row, tag and Radicale's VCALENDAR frame."""

    collection_id: int
    tag: str
    frame: str


def wanted(collection_id: int, tag: str, displayname: str, description: str) -> Wanted:
    """The frame as Radicale writes it: vobject's VCALENDAR with X-WR-CALNAME and
    X-WR-CALDESC from the collection's (or the sharee's alias's) properties."""
    template = vobject.iCalendar()
    if displayname:
        template.add("X-WR-CALNAME")
        template.x_wr_calname.value_param = "TEXT"
        template.x_wr_calname.value = displayname
    if description:
        template.add("X-WR-CALDESC")
        template.x_wr_caldesc.value_param = "TEXT"
        template.x_wr_caldesc.value = description
    return Wanted(collection_id, tag, template.serialize())


def stream(want: Wanted) -> tuple[CollectionData | None, Iterator[bytes]]:
    """The snapshot's collection (None: gone since Radicale found it) and the body.

    The read transaction opens here and stays open until the body is read or
    closed (a client that goes away: the server closes the iterator).
    """
    body = _body(want)
    collection = next(body)
    return collection, body  # type: ignore[return-value]  # the rest are bytes


def _body(want: Wanted) -> Iterator[CollectionData | None | bytes]:
    with importexport.snapshot(runtime.database(), want.collection_id) as taken:
        yield taken.collection
        for text in _texts(want, taken):
            if text:
                yield text.encode()


def _texts(want: Wanted, taken: importexport.Snapshot) -> Iterator[str]:
    if want.tag == "VADDRESSBOOK":
        yield from taken.texts(Item.href)
        return
    at = want.frame.find(END) + 2
    yield want.frame[:at]
    yield "".join(_scan(taken.texts(Item.href), timezones=True))
    yield from _scan(taken.texts(Item.href), timezones=False)
    yield want.frame[at:]


def _scan(texts: Iterable[str], timezones: bool) -> Iterator[str]:
    """Radicale's walk over every item's lines (BaseCollection.serialize), yielding the
    distinct VTIMEZONEs (``timezones``) or, per item, the other components. Both walks
    keep the same state over the same texts, so splitting them changes no byte."""
    in_vcalendar = False
    included: set[str] = set()
    vtimezone: list[str] = []
    tzid = None
    for text in texts:
        depth = 0
        components: list[str] = []
        for line in text.split("\r\n"):
            if line.startswith("BEGIN:"):
                depth += 1
            if depth == 1 and line == "BEGIN:VCALENDAR":
                in_vcalendar = True
            elif in_vcalendar:
                if depth == 1 and line.startswith("END:"):
                    in_vcalendar = False
                if depth == 2 and line == "BEGIN:VTIMEZONE":
                    vtimezone.append(line + "\r\n")
                elif vtimezone:
                    vtimezone.append(line + "\r\n")
                    if depth == 2 and line.startswith("TZID:"):
                        tzid = line[len("TZID:") :]
                    elif depth == 2 and line.startswith("END:"):
                        if timezones and (tzid is None or tzid not in included):
                            yield "".join(vtimezone)
                        if tzid is not None:
                            included.add(tzid)
                        vtimezone.clear()
                        tzid = None
                elif depth >= 2:
                    components.append(line + "\r\n")
            if line.startswith("END:"):
                depth -= 1
        if not timezones:
            yield "".join(components)
