"""calendar-query with ``expand`` on VTODOs (RFC 4791 §9.6.5), which Radicale answers
unexpanded: it expands VEVENTs only, and with ``expand`` it drops the time-range
from the filter, so every task came back, as stored, rules and all.

A query whose filter asks for VTODOs and whose calendar-data holds ``expand``
is answered by calcard (app.py's calendar query): the full filter, time range
included, picks the tasks; ``calcard.calendar.expansion`` turns each into its
instances in the expand window, and a task with none there is left out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException

from calcard.calendar.expansion import expanded_todos
from calcard.store import ItemData
from calcard_radicale.query import CALENDAR_DATA, FILTER, NAMES, PROP, Query
from calcard_radicale.scheduling import CALDAV

EXPAND, COMP_FILTER = f"{{{CALDAV}}}expand", f"{{{CALDAV}}}comp-filter"
STAMP = "%Y%m%dT%H%M%SZ"


def parse(body: bytes) -> Query | None:
    """The query when it expands VTODOs; None for anything else (Radicale's).

    Raises ValueError for an ``expand`` without a valid UTC start and end
    (RFC 4791 §9.6.5: both are required; the client gets 400).
    """
    if b"expand" not in body:  # most queries: no second parse of the body
        return None
    try:
        root = DefusedET.fromstring(body)
    except (ET.ParseError, DefusedXmlException, ValueError):
        return None
    if root.tag != f"{{{CALDAV}}}calendar-query":
        return None
    prop, filters = root.find(PROP), root.findall(FILTER)
    data = None if prop is None else prop.find(CALENDAR_DATA)
    expand = None if data is None else data.find(EXPAND)
    if prop is None or data is None or expand is None or len(data) != 1:
        return None
    if not _asks_for_todos(filters):
        return None
    if any(p.tag not in NAMES or (p.tag != CALENDAR_DATA and len(p)) for p in prop):
        return None
    return Query([p.tag for p in prop], filters, (_stamp(expand, "start"), _stamp(expand, "end")))


def expanded(rows: Sequence[ItemData], start: datetime, end: datetime) -> list[ItemData]:
    """Each task as its instances in [start, end) (same href and ETag); none there: left out."""
    found = []
    for row in rows:
        text = expanded_todos(row.text, start, end) if row.component == "VTODO" else None
        if text is not None:
            found.append(replace(row, text=text))
    return found


def _asks_for_todos(filters: list[ET.Element]) -> bool:
    return any(
        comp.get("name", "").upper() == "VTODO"
        for top in filters
        for calendar in top.findall(COMP_FILTER)
        for comp in calendar.findall(COMP_FILTER)
    )


def _stamp(expand: ET.Element, name: str) -> datetime:
    value = expand.get(name)
    if value is None:
        raise ValueError(f"expand needs a {name} (RFC 4791 §9.6.5)")
    return datetime.strptime(value, STAMP).replace(tzinfo=UTC)
