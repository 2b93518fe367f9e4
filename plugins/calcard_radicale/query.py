"""calendar-query REPORT (RFC 4791 §7.8) written by calcard for the shape clients send.

Clients fill a calendar view by asking for the getetag and calendar-data of the
events in a time range. Radicale builds that answer as an ElementTree and
sanitizes every href several times on the way; at a few hundred events that is
most of the request. Here the same multistatus is written as text from the rows
the storage plugin read (``Collection.matching``: the occurrence index decides
what it can, Radicale's own filter the rest).

Any other shape (other properties, ``expand``, ``limit-recurrence-set``, a
``timezone``, no filter, a non-calendar target) is left to Radicale: ``parse``
returns None.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from xml.sax.saxutils import escape

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException

from calcard.store import ItemData
from calcard_radicale.scheduling import CALDAV, DAV

GETETAG, CONTENT_TYPE = f"{{{DAV}}}getetag", f"{{{DAV}}}getcontenttype"
CALENDAR_DATA = f"{{{CALDAV}}}calendar-data"
NAMES = {GETETAG: "getetag", CONTENT_TYPE: "getcontenttype", CALENDAR_DATA: "C:calendar-data"}
PROP, FILTER = f"{{{DAV}}}prop", f"{{{CALDAV}}}filter"
VEVENT_LINE = re.compile(r"^BEGIN:VEVENT\r?$", re.MULTILINE | re.IGNORECASE)
HEAD = f"<?xml version='1.0' encoding='utf-8'?>\n<multistatus xmlns=\"{DAV}\" xmlns:C=\"{CALDAV}\">"
OK = "<status>HTTP/1.1 200 OK</status></propstat></response>"


@dataclass(frozen=True)
class Query:
    props: list[str]  # Clark names, in the order asked
    filters: list[ET.Element]
    expand: tuple[datetime, datetime] | None = None  # VTODOs expanded (todoexpand.py)


def parse(body: bytes) -> Query | None:
    """The query when it asks only for properties written here, else None."""
    try:
        root = DefusedET.fromstring(body)
    except (ET.ParseError, DefusedXmlException, ValueError):
        return None  # Radicale gives the client its 400
    if root.tag != f"{{{CALDAV}}}calendar-query":
        return None
    if any(child.tag not in (PROP, FILTER) for child in root):
        return None
    prop, filters = root.find(PROP), root.findall(FILTER)
    if prop is None or not len(prop) or not filters:
        return None
    if any(p.tag not in NAMES or len(p) or p.attrib or (p.text or "").strip() for p in prop):
        return None
    return Query([p.tag for p in prop], filters)


def multistatus(
    base_prefix: str,
    collection_path: str,
    rows: Sequence[ItemData],
    props: list[str],
    content_type: Callable[[ItemData], str],
    max_events: int,
) -> bytes:
    """The 207 body Radicale would write for ``rows``: same hrefs, values and escaping.

    Raises ValueError past ``max_events`` VEVENTs, like Radicale's
    ``max_expand_occurrence`` guard.
    """
    parts = [HEAD]
    prefix = quote(f"{base_prefix}/{collection_path}/")
    at_most = 0  # an upper bound of the VEVENTs so far: counting them exactly is slower
    for row in rows:
        parts.append(f"<response><href>{prefix}{quote_name(row.href)}</href><propstat><prop>")
        for tag in props:
            name = NAMES[tag]
            if tag == GETETAG:
                value = row.etag
            elif tag == CONTENT_TYPE:
                value = content_type(row)
            else:
                value = row.text
                at_most += value.upper().count("BEGIN:VEVENT")
            parts.append(f"<{name}>{escape_text(value)}</{name}>")
        parts.append("</prop>" + OK)
    if max_events and at_most > max_events:
        check_events([row.text for row in rows], max_events)
    parts.append("</multistatus>")
    return "".join(parts).encode()


def check_events(texts: Sequence[str], max_events: int) -> None:
    """Radicale's count: lines that are BEGIN:VEVENT, in any case."""
    if sum(len(VEVENT_LINE.findall(text)) for text in texts) > max_events:
        raise ValueError(f"REPORT occurrences limit of {max_events} hit")


# What quote() leaves as it is: letters, digits, "_.-~" and its default safe "/".
_UNQUOTED = re.compile(r"[A-Za-z0-9_.~/-]*")


def quote_name(name: str) -> str:
    """``quote(name)``: most names need no escape, and the match costs a third of quote().

    Not a cache of every name served: one entry per member of every collection listed
    stayed in memory for good and kept the heap of each large answer from shrinking."""
    return name if _UNQUOTED.fullmatch(name) else quote(name)


def escape_text(text: str) -> str:
    """saxutils.escape, which most calendar data does not need (three scans beat three copies)."""
    return escape(text) if "&" in text or "<" in text or ">" in text else text
