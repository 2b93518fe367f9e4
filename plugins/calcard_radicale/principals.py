"""Principal search over DAV: the REPORTs clients use to look up attendees as one
types (RFC 3744 §9.4 ``principal-property-search``, §9.5
``principal-search-property-set``).

Thin XML adapter: whom a searcher may find is calcard.sharing.directory's to say.
Searchable are the display name and the calendar user addresses (e-mail), the
latter also under Apple's ``CS:email-address-set``; a search on any other
property matches nobody.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from http import client
from urllib.parse import quote

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException
from radicale import httputils, types
from radicale.xmlutils import make_clark as clark

from calcard.sharing import directory
from calcard_radicale.runtime import refuse, session
from calcard_radicale.scheduling import XML_HEADERS

SEARCH, SEARCH_SET = "principal-property-search", "principal-search-property-set"
SEARCHABLE = {
    clark("D:displayname"): (directory.NAME, "Display name"),
    clark("C:calendar-user-address-set"): (directory.ADDRESS, "Calendar user address"),
    clark("CS:email-address-set"): (directory.ADDRESS, "E-mail address"),
}
MATCH_TYPES = (directory.CONTAINS, directory.STARTS_WITH, directory.EQUALS)
MAX_SEARCHES = 20  # property-search elements in one request: each is matched per person
# Answered when the request names no property: python-caldav 3.6 sends an empty DAV:prop
# (its property elements end up beside it), and a lookup needs at least these.
DEFAULT_PROPS = tuple(
    clark(name)
    for name in (
        "D:displayname",
        "C:calendar-home-set",
        "D:principal-URL",
        "C:calendar-user-address-set",
    )
)


def report_name(body: bytes) -> str | None:
    """SEARCH or SEARCH_SET when the body is one of these REPORTs, else None."""
    if b"principal-" not in body:
        return None
    try:
        root = DefusedET.fromstring(body)
    except (ET.ParseError, DefusedXmlException):
        return None
    return next((n for n in (SEARCH, SEARCH_SET) if root.tag == clark(f"D:{n}")), None)


def answer(
    body: bytes, name: str, depth: str, user: str, base_prefix: str
) -> types.WSGIResponse:
    """The REPORT's answer. Anonymous: Radicale's credentials challenge (a 401)."""
    if not user:
        return httputils.NOT_ALLOWED
    if depth not in ("", "0"):  # RFC 3744 §9.4, §9.5: both are Depth 0 reports
        refuse(400, f"the {name} REPORT takes Depth: 0")
        return httputils.BAD_REQUEST
    if name == SEARCH_SET:
        return client.OK, XML_HEADERS, _search_set(), None
    root = DefusedET.fromstring(body)
    searches = root.findall(clark("D:property-search"))
    try:
        if len(searches) > MAX_SEARCHES:
            raise ValueError(f"at most {MAX_SEARCHES} property-search elements")
        criteria = [_criterion(element) for element in searches]
    except ValueError as exc:
        refuse(400, str(exc))
        return httputils.BAD_REQUEST
    wanted = root.find(clark("D:prop"))
    props = [child.tag for child in wanted] if wanted is not None else []
    props = props or list(DEFAULT_PROPS)
    searchable = [c for c in criteria if c is not None]
    any_of = root.get("test") == "anyof"
    # An unsearchable property matches nobody: under "all of" one such search empties the
    # answer, under "any of" only searchable ones can match. No search at all (RFC 3744
    # asks for one; python-caldav lists principals so) lists everyone the searcher knows.
    if len(searchable) < len(criteria) and (not any_of or not searchable):
        found = directory.Found([], False)
    else:
        with session() as s:
            found = directory.search(s, user, searchable, any_of)
    return client.MULTI_STATUS, XML_HEADERS, _multistatus(found, props, base_prefix), None


def _criterion(element: ET.Element) -> directory.Criterion | None:
    """One ``DAV:property-search``, or None when it names no searchable property."""
    match = element.find(clark("D:match"))
    prop = element.find(clark("D:prop"))
    if match is None or prop is None or not len(prop):
        raise ValueError("a property-search holds a prop with a property and a match")
    how = match.get("match-type", directory.CONTAINS)
    if how not in MATCH_TYPES:
        raise ValueError(f"unknown match-type {how!r} (use {', '.join(MATCH_TYPES)})")
    fields = frozenset(SEARCHABLE[child.tag][0] for child in prop if child.tag in SEARCHABLE)
    if not fields:
        return None
    return directory.Criterion(fields, (match.text or "").strip(), how)


def _search_set() -> bytes:
    """RFC 3744 §9.5: the properties a principal-property-search may name."""
    root = ET.Element(clark(f"D:{SEARCH_SET}"))
    for tag, (_, description) in SEARCHABLE.items():
        searchable = ET.SubElement(root, clark("D:principal-search-property"))
        ET.SubElement(ET.SubElement(searchable, clark("D:prop")), tag)
        text = ET.SubElement(searchable, clark("D:description"))
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        text.text = description
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _multistatus(found: directory.Found, props: list[str], base_prefix: str) -> bytes:
    root = ET.Element(clark("D:multistatus"))
    for person in found.people:
        response = ET.SubElement(root, clark("D:response"))
        href = quote(f"{base_prefix}/{person.login}/")
        ET.SubElement(response, clark("D:href")).text = href
        ok, missing = ET.Element(clark("D:prop")), ET.Element(clark("D:prop"))
        for tag in props:
            if not _fill(ET.SubElement(ok, tag), person, href):
                ok.remove(ok[-1])
                ET.SubElement(missing, tag)
        for prop, status in ((ok, "200 OK"), (missing, "404 Not Found")):
            if len(prop):
                propstat = ET.SubElement(response, clark("D:propstat"))
                propstat.append(prop)
                ET.SubElement(propstat, clark("D:status")).text = f"HTTP/1.1 {status}"
    if found.truncated:  # RFC 3744 §9.4: more principals matched than the server answers
        response = ET.SubElement(root, clark("D:response"))
        ET.SubElement(response, clark("D:href")).text = quote(f"{base_prefix}/")
        ET.SubElement(response, clark("D:status")).text = "HTTP/1.1 507 Insufficient Storage"
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _fill(element: ET.Element, person: directory.Person, href: str) -> bool:
    """Give ``element`` (a property of the person's principal) its value; False when the
    principal has no such property."""
    name = element.tag
    if name == clark("D:displayname"):
        element.text = person.name
    elif name in (
        clark("D:principal-URL"),
        clark("C:calendar-home-set"),
        clark("CR:addressbook-home-set"),
    ):
        ET.SubElement(element, clark("D:href")).text = href
    elif name == clark("C:calendar-user-address-set"):
        if person.email:
            ET.SubElement(element, clark("D:href")).text = f"mailto:{person.email}"
        ET.SubElement(element, clark("D:href")).text = href
    elif name == clark("CS:email-address-set") and person.email:
        ET.SubElement(element, clark("CS:email-address")).text = person.email
    elif name == clark("C:calendar-user-type"):
        element.text = "ROOM" if person.room else "INDIVIDUAL"
    elif name == clark("D:resourcetype"):
        ET.SubElement(element, clark("D:collection"))
        ET.SubElement(element, clark("D:principal"))
    else:
        return False
    return True
