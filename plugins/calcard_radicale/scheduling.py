"""CalDAV free/busy over DAV: free-busy-query REPORT (RFC 4791 §7.10), the
scheduling outbox VFREEBUSY POST (RFC 6638 §5) and the principal properties
that advertise it (RFC 6638 §2.1-2.4.1).

Thin XML/HTTP adapters; every decision and every busy period comes from
calcard.freebusy, the same code that answers the JSON slot finder.
"""

from __future__ import annotations

import io
import posixpath
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from http import client

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException
from radicale import httputils, pathutils, types

from calcard import freebusy, sharing, store
from calcard_radicale.runtime import session

DAV, CALDAV = "DAV:", "urn:ietf:params:xml:ns:caldav"
OUTBOX = "outbox"
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
        start, end = _utc(time_range.get("start")), _utc(time_range.get("end"))  # type: ignore[union-attr, arg-type]
    except (ET.ParseError, DefusedXmlException, AttributeError, TypeError, ValueError):
        return httputils.BAD_REQUEST
    sane = pathutils.strip_path(path)
    with session() as s:
        collection = store.get_collection(s, sane)
        if collection is None or collection.tag != "VCALENDAR":
            return httputils.NOT_FOUND
        readable = "r" in sharing.permissions(s, user, sane)
        known = freebusy.unknown_reason(s, user, freebusy.resolve(s, collection.owner)) is None
        if not (readable or known):
            return httputils.NOT_ALLOWED
        text = freebusy.vfreebusy(freebusy.collection_busy(s, collection, start, end), start, end)
    return client.OK, (("Content-Type", "text/calendar; charset=utf-8"),), text, None


def is_outbox(path: str, user: str) -> bool:
    return pathutils.strip_path(path) == f"{user}/{OUTBOX}"


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
    """Fill schedule-outbox-URL and mailto addresses into principal PROPFIND answers."""
    if multistatus.tag != _tag(DAV, "multistatus"):
        return
    for response in multistatus.findall(_tag(DAV, "response")):
        href = response.findtext(_tag(DAV, "href")) or ""
        login = href.strip("/")
        if not login or "/" in login:
            continue
        _fill_principal(response, login, href)


def _fill_principal(response: ET.Element, login: str, href: str) -> None:
    for missing in response.findall(_tag(DAV, "propstat")):
        if "404" not in (missing.findtext(_tag(DAV, "status")) or ""):
            continue
        prop = missing.find(_tag(DAV, "prop"))
        outbox = prop.find(_tag(CALDAV, "schedule-outbox-URL")) if prop is not None else None
        if prop is None or outbox is None:
            continue
        prop.remove(outbox)
        ET.SubElement(outbox, _tag(DAV, "href")).text = posixpath.join(href, OUTBOX) + "/"
        _found_props(response).append(outbox)
        if not len(prop):
            response.remove(missing)
    prop_path = f"{_tag(DAV, 'prop')}/{_tag(CALDAV, 'calendar-user-address-set')}"
    found = _propstat(response, "200")
    addresses = found.find(prop_path) if found is not None else None
    if addresses is not None:
        with session() as s:
            user = freebusy.resolve(s, login)
        if user is not None and user.email:
            ET.SubElement(addresses, _tag(DAV, "href")).text = f"mailto:{user.email}"


def _found_props(response: ET.Element) -> ET.Element:
    """The <prop> of the 200 propstat, made when the answer had none."""
    found = _propstat(response, "200")
    if found is None:
        found = ET.Element(_tag(DAV, "propstat"))
        ET.SubElement(found, _tag(DAV, "prop"))
        ET.SubElement(found, _tag(DAV, "status")).text = "HTTP/1.1 200 OK"
        response.insert(1, found)
    return found.find(_tag(DAV, "prop"))  # type: ignore[return-value]


def _propstat(response: ET.Element, status: str) -> ET.Element | None:
    for propstat in response.findall(_tag(DAV, "propstat")):
        if status in (propstat.findtext(_tag(DAV, "status")) or ""):
            return propstat
    return None
