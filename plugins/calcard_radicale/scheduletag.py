"""Schedule-Tag over DAV (RFC 6638 §3.2.10, §8.2 the header, §8.3
``If-Schedule-Tag-Match``, §9.3 the ``CALDAV:schedule-tag`` property).

Thin adapter: the tag is calcard.scheduling.tags's. GET and PUT of a scheduling
object resource answer it in a ``Schedule-Tag`` header; PROPFIND and REPORT
answer the property; a PUT or DELETE with ``If-Schedule-Tag-Match`` is checked
inside the request's write transaction (under the owners' locks, so no change
can slip in between the check and the write) and refused with 412 when the tag
differs or the target is no scheduling object resource.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from urllib.parse import unquote

from radicale import pathutils, types
from radicale.xmlutils import make_clark as clark

from calcard import sharing, store
from calcard.scheduling.tags import schedule_tag
from calcard_radicale import runtime
from calcard_radicale.runtime import session
from calcard_radicale.scheduling import answer_missing

PROPERTY = clark("C:schedule-tag")


def _stored_text(sane: str) -> str | None:
    """The stored text of the object at a sanitized path (through a share alias too)."""
    with session() as s:
        found = sharing.collection_at(s, posixpath.dirname(sane))
        item = found and store.get_item(s, found[0].id, posixpath.basename(sane))
    return item.text if item else None


def remember_condition(environ: dict) -> None:
    """Keep the request's ``If-Schedule-Tag-Match`` for ``check`` (RFC 6638 §8.3)."""
    runtime.request().schedule_tag_match = environ.get("HTTP_IF_SCHEDULE_TAG_MATCH")


def check(collection_path: str, href: str) -> None:
    """Refuse (412) a write whose ``If-Schedule-Tag-Match`` does not hold; called by the
    storage plugin in the write transaction, before it writes."""
    wanted = runtime.request().schedule_tag_match
    if wanted is None:
        return
    text = _stored_text(f"{collection_path}/{href}")
    if text is None or schedule_tag(text) != wanted.strip():
        reason = "the meeting changed since it was read (If-Schedule-Tag-Match failed)"
        runtime.refuse(412, reason)
        raise ValueError(reason)


def with_header(
    response: types.WSGIResponse, path: str, text: str | None = None
) -> types.WSGIResponse:
    """A GET's or PUT's answer with the object's ``Schedule-Tag`` header (§8.2).

    ``text`` is the GET's body; a PUT's answer reads what was stored (which the
    server's scheduling may have amended)."""
    status, headers, answer, xml_request = response
    if status not in (200, 201, 204) or not isinstance(headers, dict) or path.endswith("/"):
        return response
    if text is None:
        text = _stored_text(pathutils.strip_path(path))
    tag = schedule_tag(text) if text else None
    if tag:
        headers = {**headers, "Schedule-Tag": tag}
    return status, headers, answer, xml_request


def fill(multistatus: ET.Element) -> None:
    """Answer ``CALDAV:schedule-tag`` (which Radicale answered 404) for scheduling
    object resources in a PROPFIND or REPORT answer (§9.3)."""
    for response in multistatus.findall(clark("D:response")):
        if response.find(f".//{PROPERTY}") is None:
            continue
        href = unquote(response.findtext(clark("D:href")) or "")
        text = None if href.endswith("/") else _stored_text(pathutils.strip_path(href))
        tag = schedule_tag(text) if text else None
        if tag:
            answer_missing(response, PROPERTY, text=tag)
