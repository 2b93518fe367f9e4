"""A property filter without a component type (RFC 4791 §9.7.1, §9.7.2).

Clients that search "anything with this SUMMARY or CATEGORIES", events and
tasks alike (the caldav library's search without a component type), put the
CALDAV:prop-filter straight under the VCALENDAR comp-filter. Read to the
letter that tests VCALENDAR's own properties (RFC 5545 §3.7, RFC 7986 §5),
where no SUMMARY ever is, and Radicale matches nothing. A calendar object's
scope is the VCALENDAR and the component it carries, so here such a
prop-filter matches when it matches either: the calendar's own property, or
the VEVENT's, VTODO's or VJOURNAL's. ``is-not-defined`` (§9.7.4) then means
defined in neither.

Every other filter goes to Radicale's ``test_filter`` unchanged.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from radicale import item as radicale_item
from radicale.app.report import test_filter

from calcard_radicale.scheduling import CALDAV

COMP_FILTER, PROP_FILTER = f"{{{CALDAV}}}comp-filter", f"{{{CALDAV}}}prop-filter"
IS_NOT_DEFINED = f"{{{CALDAV}}}is-not-defined"
COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL")  # what Radicale's filters look into


def applies(filters: Iterable[ET.Element]) -> bool:
    """Whether any filter holds a prop-filter directly under its VCALENDAR comp-filter."""
    return any(
        child.tag == PROP_FILTER
        for top in filters
        for calendar in top.findall(COMP_FILTER)
        for child in calendar
    )


def matches(tag: str, item: radicale_item.Item, filter_: ET.Element) -> bool:
    """``test_filter`` with a VCALENDAR-level prop-filter read in the object's scope.

    Raises ValueError for a filter Radicale cannot apply (the client gets 400).
    """
    if tag != "VCALENDAR" or not applies([filter_]) or len(filter_) != 1:
        return test_filter(tag, item, filter_)
    calendar = filter_[0]
    return all(
        _in_scope(item, filter_, calendar, child)
        if child.tag == PROP_FILTER
        else test_filter(tag, item, _wrapped(filter_, calendar, child))
        for child in calendar
    )


def _in_scope(
    item: radicale_item.Item, filter_: ET.Element, calendar: ET.Element, prop: ET.Element
) -> bool:
    own = test_filter("VCALENDAR", item, _wrapped(filter_, calendar, prop))
    component = (item.component_name or "").upper()
    if component not in COMPONENTS:
        return own
    inner = ET.Element(COMP_FILTER, {"name": component})
    inner.append(prop)
    in_component = test_filter("VCALENDAR", item, _wrapped(filter_, calendar, inner))
    if len(prop) == 1 and prop[0].tag == IS_NOT_DEFINED:
        return own and in_component
    return own or in_component


def _wrapped(filter_: ET.Element, calendar: ET.Element, child: ET.Element) -> ET.Element:
    """The filter with only ``child`` under its VCALENDAR comp-filter."""
    top = ET.Element(filter_.tag, filter_.attrib)
    ET.SubElement(top, calendar.tag, calendar.attrib).append(child)
    return top
