"""DAV:limit in a sync-collection REPORT (RFC 6578 §3.7), for calendars and address books.

Radicale ignores the limit. Here its ``nresults`` is read before Radicale
answers; the storage plugin's ``Collection.sync`` then lists at most that many
changes (``calcard.store.changes_page``) and hands out a token that continues
where the page ended. A truncated answer carries, as §3.6 requires, a response
for the request-URI with status 507 and the DAV:number-of-matches-within-limits
error (``mark_truncated``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from http import client

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException
from radicale import pathutils, xmlutils

from calcard_radicale import runtime
from calcard_radicale.scheduling import DAV, XML_HEADERS

SYNC_COLLECTION, LIMIT = f"{{{DAV}}}sync-collection", f"{{{DAV}}}limit"
NRESULTS = f"{{{DAV}}}nresults"
WITHIN_LIMITS = f"{{{DAV}}}number-of-matches-within-limits"
DIGITS = re.compile(r"[0-9]+")
MAX_NRESULTS = 1_000_000_000  # any larger limit is honoured by any page: nothing to cut


class MalformedLimit(ValueError):
    """A DAV:limit that is not one DAV:nresults holding a non-negative integer."""


def requested(body: bytes) -> int | None:
    """The ``nresults`` of a sync-collection REPORT's DAV:limit; None without one.

    RFC 5323 §5.17 defines DAV:limit as one DAV:nresults, a positive integer.
    Raises MalformedLimit for anything else (the client gets 400).
    """
    if b"limit" not in body:  # most REPORTs: no second parse of the body
        return None
    try:
        root = DefusedET.fromstring(body)
    except (ET.ParseError, DefusedXmlException, ValueError):
        return None  # Radicale gives the client its 400
    if root.tag != SYNC_COLLECTION:
        return None
    limits = root.findall(LIMIT)
    if not limits:
        return None
    counts = [child for limit in limits for child in limit]
    if len(limits) > 1 or len(counts) != 1 or counts[0].tag != NRESULTS:
        raise MalformedLimit("DAV:limit holds exactly one DAV:nresults (RFC 5323 §5.17)")
    text = (counts[0].text or "").strip()
    if not DIGITS.fullmatch(text):
        raise MalformedLimit(f"DAV:nresults is a non-negative integer, not {text[:40]!r}")
    return min(int(text), MAX_NRESULTS) if len(text) <= 10 else MAX_NRESULTS


def refused() -> tuple[int, tuple, bytes, None]:
    """A limit no page can honour (0: a page without changes moves no client on):
    RFC 6578 §3.7 says fail with the DAV:number-of-matches-within-limits postcondition."""
    body = ET.tostring(xmlutils.webdav_error("D:number-of-matches-within-limits"), "utf-8")
    return client.INSUFFICIENT_STORAGE, XML_HEADERS, body, None


def expect(limit: int, base_prefix: str, path: str) -> None:
    """Make ``limit`` this request's page size (read by ``Collection.sync``)."""
    state = runtime.request()
    state.sync_limit = limit
    state.sync_href = xmlutils.make_href(base_prefix, pathutils.unstrip_path(path, True))


def mark_truncated(multistatus: ET.Element) -> None:
    """Add §3.6's 507 response for the request-URI when the page was cut at the limit."""
    state = runtime.request()
    if not state.sync_truncated or multistatus.tag != f"{{{DAV}}}multistatus":
        return
    response = ET.SubElement(multistatus, f"{{{DAV}}}response")
    ET.SubElement(response, f"{{{DAV}}}href").text = state.sync_href
    ET.SubElement(response, f"{{{DAV}}}status").text = "HTTP/1.1 507 Insufficient Storage"
    ET.SubElement(ET.SubElement(response, f"{{{DAV}}}error"), WITHIN_LIMITS)
