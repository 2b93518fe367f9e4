"""CalDAV scheduling over DAV: free-busy-query REPORT (RFC 4791 §7.10), the
scheduling outbox VFREEBUSY POST (RFC 6638 §5), the principal properties that
advertise the schedule inbox and outbox (RFC 6638 §2.1-2.4.1) and how the boxes
show in PROPFIND (resource type, the inbox's default calendar, §9.2).

Thin XML/HTTP adapters; every decision and every busy period comes from
calcard.freebusy, the same code that answers the JSON slot finder.
"""

from __future__ import annotations

import io
import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime
from http import client
from urllib.parse import unquote

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException
from radicale import httputils, pathutils, types

from calcard import freebusy, store
from calcard.accounts import rooms
from calcard.scheduling import DEFAULT_CALENDAR
from calcard.sharing import access
from calcard.store import inbox
from calcard_radicale import runtime
from calcard_radicale.runtime import session

DAV, CALDAV = "DAV:", "urn:ietf:params:xml:ns:caldav"
BOX_URLS = {"schedule-inbox-URL": inbox.INBOX, "schedule-outbox-URL": inbox.OUTBOX}
XML_HEADERS = (("Content-Type", "text/xml; charset=utf-8"),)


def _tag(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def read_body(environ: dict) -> bytes:
    """Read the request body and put it back, so Radicale can still read it."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def is_free_busy_query(body: bytes) -> bool:
    return b"free-busy-query" in body


def _utc(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def free_busy_report(body: bytes, path: str, user: str) -> types.WSGIResponse:
    """VFREEBUSY of one calendar over the requested time range, for readers of it."""
    try:
        root = DefusedET.fromstring(body)
        time_range = root.find(_tag(CALDAV, "time-range"))
        # a missing time-range or attribute raises AttributeError / TypeError, a 400 below
        start, end = _utc(time_range.get("start")), _utc(time_range.get("end"))  # type: ignore[union-attr, arg-type]
    except (ET.ParseError, DefusedXmlException, AttributeError, TypeError, ValueError):
        return httputils.BAD_REQUEST
    sane = pathutils.strip_path(path)
    with session() as s:
        decision = access.decide(s, user, access.READ, sane)  # a sharee's alias too
        collection = decision.collection
        owner = collection.owner if collection else store.owner_of(sane)
        known = freebusy.unknown_reason(s, user, freebusy.resolve(s, owner)) is None
        if not (decision.allowed or known):  # before existence, as Radicale's rights are:
            return httputils.NOT_ALLOWED  # a stranger learns no calendar names
        if collection is None or collection.tag != "VCALENDAR":
            return httputils.NOT_FOUND
    if freebusy.counts(collection):  # a calendar out of free/busy answers nothing
        runtime.index_ahead(collection, int(end.timestamp()))
    with session() as s:
        text = freebusy.vfreebusy(freebusy.report_busy(s, collection, start, end), start, end)
    return client.OK, (("Content-Type", "text/calendar; charset=utf-8"),), text, None


def is_outbox(path: str, user: str) -> bool:
    return pathutils.strip_path(path) == f"{user}/{inbox.OUTBOX}"


def box_refusal(sane: str) -> str | None:
    """Why writing at the sanitized ``sane`` (a schedule box or in one) is refused, if it is."""
    with session() as s:
        for candidate in (sane, store.parent_of(sane)):
            kind = inbox.kind(store.get_collection(s, candidate)) if candidate else None
            if kind:
                return inbox.refusal(kind)
    return None


def outbox_post(body: bytes, user: str) -> types.WSGIResponse:
    """Answer a VFREEBUSY request with one schedule-response entry per recipient."""
    with session() as s:
        try:
            answers = freebusy.outbox_freebusy(s, user, body.decode("utf-8", "replace"))
        except ValueError as exc:
            return client.BAD_REQUEST, (("Content-Type", "text/plain"),), str(exc), None
    root = ET.Element(_tag(CALDAV, "schedule-response"))
    for answer in answers:
        response = ET.SubElement(root, _tag(CALDAV, "response"))
        recipient = ET.SubElement(response, _tag(CALDAV, "recipient"))
        ET.SubElement(recipient, _tag(DAV, "href")).text = answer.recipient
        ET.SubElement(response, _tag(CALDAV, "request-status")).text = answer.status
        if answer.calendar is not None:
            ET.SubElement(response, _tag(CALDAV, "calendar-data")).text = answer.calendar
    return client.OK, XML_HEADERS, ET.tostring(root, encoding="utf-8", xml_declaration=True), None


def advertise(multistatus: ET.Element) -> None:
    """Fill in what Radicale does not know in PROPFIND answers (RFC 6638 §2, §9.2).

    Principals get their schedule inbox and outbox URLs and mailto addresses;
    the boxes (stored collections of their own kind, see calcard.inbox) get
    their resource type and the inbox its default calendar.
    """
    if multistatus.tag != _tag(DAV, "multistatus"):
        return
    boxes: list[tuple[ET.Element, str, str]] = []
    for response in multistatus.findall(_tag(DAV, "response")):
        href = response.findtext(_tag(DAV, "href")) or ""
        parts = unquote(href).strip("/").split("/")
        if len(parts) == 1 and parts[0]:
            _fill_principal(response, parts[0], href)
        elif len(parts) == 2 and parts[1] in BOX_URLS.values():
            boxes.append((response, "/".join(parts), href))
    if boxes:
        with session() as s:
            kinds = [inbox.kind(store.get_collection(s, path)) for _, path, _ in boxes]
        for (response, _, href), kind in zip(boxes, kinds, strict=True):
            if kind:
                _show_box(response, kind, href)


def _fill_principal(response: ET.Element, login: str, href: str) -> None:
    for name, box in BOX_URLS.items():
        answer_missing(response, _tag(CALDAV, name), posixpath.join(href, box) + "/")
    prop_path = f"{_tag(DAV, 'prop')}/{_tag(CALDAV, 'calendar-user-address-set')}"
    found = _propstat(response, "200")
    addresses = found.find(prop_path) if found is not None else None
    if addresses is None and response.find(f".//{_tag(CALDAV, 'calendar-user-type')}") is None:
        return  # neither asked for: no lookup
    with session() as s:
        user = freebusy.resolve(s, login)
        room = user is not None and rooms.is_room(s, user.id)
    if user is None:
        return
    # RFC 6638 §2.4.2; clients copy it into ORGANIZER and ATTENDEE (CUTYPE).
    answer_missing(
        response, _tag(CALDAV, "calendar-user-type"), text="ROOM" if room else "INDIVIDUAL"
    )
    if addresses is not None and user.email:  # first: clients invite by the first address
        mailto = ET.Element(_tag(DAV, "href"))
        mailto.text = f"mailto:{user.email}"
        addresses.insert(0, mailto)


def _show_box(response: ET.Element, kind: str, href: str) -> None:
    """The box's resource type instead of Radicale's; the inbox's default calendar."""
    found = _propstat(response, "200")
    resourcetype = (
        found.find(f"{_tag(DAV, 'prop')}/{_tag(DAV, 'resourcetype')}")
        if found is not None
        else None
    )
    if resourcetype is not None:
        for child in list(resourcetype):
            resourcetype.remove(child)
        ET.SubElement(resourcetype, _tag(DAV, "collection"))
        ET.SubElement(resourcetype, _tag(CALDAV, f"schedule-{kind}"))
    if kind == inbox.INBOX:
        home = posixpath.dirname(href.rstrip("/"))
        default = posixpath.join(home, DEFAULT_CALENDAR) + "/"
        answer_missing(response, _tag(CALDAV, "schedule-default-calendar-URL"), default)


def answer_missing(
    response: ET.Element,
    tag: str,
    href: str | None = None,
    text: str | None = None,
    children: Iterable[ET.Element] = (),
) -> None:
    """Move a property Radicale answered 404 to the 200 propstat, with ``href`` (or
    ``text``, or ``children``) as value."""
    for missing in response.findall(_tag(DAV, "propstat")):
        if "404" not in (missing.findtext(_tag(DAV, "status")) or ""):
            continue
        prop = missing.find(_tag(DAV, "prop"))
        element = prop.find(tag) if prop is not None else None
        if prop is None or element is None:
            continue
        prop.remove(element)
        if href is not None:
            ET.SubElement(element, _tag(DAV, "href")).text = href
        element.text = text
        element.extend(children)
        found_props(response).append(element)
        if not len(prop):
            response.remove(missing)


def found_props(response: ET.Element) -> ET.Element:
    """The <prop> of the 200 propstat, made when the answer had none."""
    found = _propstat(response, "200")
    if found is None:
        found = ET.Element(_tag(DAV, "propstat"))
        ET.SubElement(found, _tag(DAV, "prop"))
        ET.SubElement(found, _tag(DAV, "status")).text = "HTTP/1.1 200 OK"
        response.insert(1, found)
    return found.find(_tag(DAV, "prop"))  # type: ignore[return-value]  # a propstat has a prop


def _propstat(response: ET.Element, status: str) -> ET.Element | None:
    for propstat in response.findall(_tag(DAV, "propstat")):
        if status in (propstat.findtext(_tag(DAV, "status")) or ""):
            return propstat
    return None
