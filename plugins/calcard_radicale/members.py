"""Full-collection answers written by calcard for the shapes clients send: PROPFIND
depth 1 on a calendar or address book (RFC 4918 §9.1), sync-collection (RFC 6578
§3.2) and calendar-multiget / addressbook-multiget (RFC 4791 §7.9, RFC 6352 §8.7).

A client syncing a collection asks for every member's ETag (DAVx5, Thunderbird,
Apple, the ``caldav`` library), then fetches what changed. Radicale builds each of
these answers as an ElementTree from fully parsed items and sanitizes every href
several times; at a few thousand members that is the whole request. Here the same
multistatus is written as text from the columns the answer needs
(``calcard.store.listing``: no item text for a listing of ETags). The multistatus
is Radicale's, response for response: the same hrefs (percent-encoded alike), the
same propstats, 404 for a removed or missing member, the sync token first, the
507 of a page cut at DAV:limit (synclimit.py) last, and ``CALDAV:schedule-tag``
filled in as scheduletag.py fills Radicale's answer. The namespaces are declared
on the root (DAV: the default one, as Radicale writes it).

PROPFIND: the collection's own response is Radicale's (``xml_propfind`` on the
collection alone: its properties are many and rarely asked for in bulk); the
members' responses are written here and added after it.

Any other shape is left to Radicale (the parsers return None): another property
of members that Radicale answers with a value (privileges, owner, report set),
a filter or an ``expand`` in a REPORT, a multiget naming the collection itself,
a target that is no calendar or address book (or is a schedule box).
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlparse
from xml.sax.saxutils import unescape

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException
from radicale import pathutils, xmlutils

from calcard.scheduling.tags import schedule_tag
from calcard.store import Listed
from calcard_radicale import query, runtime, storage
from calcard_radicale.query import escape_text, quote_name
from calcard_radicale.scheduling import CALDAV, DAV

CARDDAV = "urn:ietf:params:xml:ns:carddav"
PROP, HREF = f"{{{DAV}}}prop", f"{{{DAV}}}href"
PROPFIND, SYNC_COLLECTION = f"{{{DAV}}}propfind", f"{{{DAV}}}sync-collection"
SYNC_TOKEN, SYNC_LEVEL, LIMIT = f"{{{DAV}}}sync-token", f"{{{DAV}}}sync-level", f"{{{DAV}}}limit"
MULTIGET = {
    f"{{{CALDAV}}}calendar-multiget": "VCALENDAR",
    f"{{{CARDDAV}}}addressbook-multiget": "VADDRESSBOOK",
}
GETETAG, CONTENT_TYPE = f"{{{DAV}}}getetag", f"{{{DAV}}}getcontenttype"
RESOURCETYPE, LAST_MODIFIED = f"{{{DAV}}}resourcetype", f"{{{DAV}}}getlastmodified"
CONTENT_LENGTH, SCHEDULE_TAG = f"{{{DAV}}}getcontentlength", f"{{{CALDAV}}}schedule-tag"
DATA = (f"{{{CALDAV}}}calendar-data", f"{{{CARDDAV}}}address-data")
EXPAND = f".//{{{CALDAV}}}expand"
# What Radicale answers for a member with a value not written here (``_value`` writes
# getetag, getcontenttype, resourcetype, getlastmodified, getcontentlength; any other
# property Radicale answers 404, ``xml_propfind_response``).
RADICALE_MEMBER_PROPS = frozenset(
    f"{{{DAV}}}{name}"
    for name in (
        "principal-collection-set",
        "current-user-principal",
        "current-user-privilege-set",
        "supported-report-set",
        "owner",
    )
) | {f"{{{CALDAV}}}max-resource-size"}
READS_TEXT = frozenset({CONTENT_LENGTH, SCHEDULE_TAG, *DATA})
STATUS = {200: "HTTP/1.1 200 OK", 404: "HTTP/1.1 404 Not Found"}
TRUNCATED = "HTTP/1.1 507 Insufficient Storage"
WITHIN_LIMITS = "number-of-matches-within-limits"
DECLARED = re.compile(r' xmlns:([A-Za-z0-9_.-]+)="([^"]*)"')


@dataclass(frozen=True)
class Request:
    """A request in a shape answered here."""

    root: ET.Element
    props: list[str]  # Clark names, in the order asked
    token: str = ""  # sync-collection: the client's token ("" for an initial sync)
    hrefs: list[str] = field(default_factory=list)  # multiget: the D:href texts
    tag: str = ""  # multiget: the collection kind it is meant for

    @property
    def is_sync(self) -> bool:
        return self.root.tag == SYNC_COLLECTION

    @property
    def reads_text(self) -> bool:
        return any(tag in READS_TEXT for tag in self.props)


def _parse(body: bytes) -> ET.Element | None:
    try:
        return DefusedET.fromstring(body)
    except (ET.ParseError, DefusedXmlException, ValueError):
        return None  # Radicale gives the client its 400


def _props(prop: ET.Element | None) -> list[str] | None:
    """The asked properties when each is a plain empty element in a namespace
    (attributes, which Radicale does not read, aside)."""
    if prop is None or not len(prop):
        return None
    if any(len(p) or (p.text or "").strip() or not p.tag.startswith("{") for p in prop):
        return None  # (a name in no namespace Radicale writes as if in DAV:)
    return [p.tag for p in prop]


def propfind(body: bytes) -> Request | None:
    """A PROPFIND asking members only for properties written here, else None."""
    root = _parse(body)
    if root is None or root.tag != PROPFIND or len(root) != 1 or root[0].tag != PROP:
        return None
    props = _props(root[0])
    if props is None or any(tag in RADICALE_MEMBER_PROPS for tag in props):
        return None
    return Request(root, props)


def report(body: bytes) -> Request | None:
    """A sync-collection or multiget asking only for properties written here, else None."""
    if b"sync-collection" not in body and b"multiget" not in body:
        return None  # most REPORTs (calendar-query): no second parse of the body
    root = _parse(body)
    if root is None or root.find(EXPAND) is not None:
        return None
    if root.tag == SYNC_COLLECTION:
        allowed = {PROP, SYNC_TOKEN, SYNC_LEVEL, LIMIT}
    elif root.tag in MULTIGET:
        allowed = {PROP, HREF}
    else:
        return None
    if any(child.tag not in allowed for child in root):
        return None  # a filter: Radicale's
    props = _props(root.find(PROP))
    if props is None:
        return None
    hrefs = [child.text for child in root.findall(HREF)]
    if any(text is None for text in hrefs):
        return None  # Radicale's answer, whatever it is
    token = (root.findtext(SYNC_TOKEN) or "").strip()
    return Request(root, props, token, [h for h in hrefs if h], MULTIGET.get(root.tag, ""))


# --------------------------------------------------------------------------- writing


class Document:
    """A multistatus written as text, declaring on its root the namespaces it uses."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.prefixes = {DAV: ""}

    def name(self, clark: str) -> str:
        """The qualified name of ``clark``, with Radicale's prefix for its namespace."""
        namespace, local = clark[1:].split("}", 1) if clark.startswith("{") else ("", clark)
        if namespace not in self.prefixes:
            known = xmlutils.NAMESPACES_REV.get(namespace)
            self.prefixes[namespace] = known or f"X{len(self.prefixes)}"
        prefix = self.prefixes[namespace]
        return f"{prefix}:{local}" if prefix else local

    def adopt(self, start_tag: str) -> None:
        """Use the prefixes a root start tag written by ElementTree declares."""
        for prefix, namespace in DECLARED.findall(start_tag):
            self.prefixes.setdefault(unescape(namespace, {"&quot;": '"'}), prefix)

    def declarations(self, already: str = "") -> str:
        """``xmlns`` attributes for the namespaces used (but those in ``already``)."""
        found = []
        for namespace, prefix in self.prefixes.items():
            attribute = f"xmlns:{prefix}" if prefix else "xmlns"
            if f"{attribute}=" not in already:
                found.append(f' {attribute}="{escape_text(namespace)}"')
        return "".join(found)

    def body(self) -> bytes:
        head = f"<?xml version='1.0' encoding='utf-8'?>\n<multistatus{self.declarations()}>"
        return self.joined(head, "</multistatus>")

    def joined(self, head: str, tail: str) -> bytes:
        """``head``, the responses and ``tail`` as one body, joined once: at 100,000
        members the answer is some 25 MB, and each extra copy of it was the server's
        peak memory (benchmarks/README.md)."""
        return "".join([head, *self.parts, tail]).encode()

    def missing(self, href: str) -> None:
        """A member that is not (or no longer) there (RFC 6578 §3.2, RFC 4791 §7.9)."""
        self.parts.append(f"<response><href>{href}</href><status>{STATUS[404]}</status></response>")

    def member(self, href: str, propstats: Sequence[tuple[int, list[tuple[str, str | None]]]]):
        """A member's response: (status, [(Clark name, text or None for empty)])."""
        parts = [f"<response><href>{href}</href>"]
        for status, props in propstats:
            parts.append("<propstat><prop>")
            for tag, text in props:
                name = self.name(tag)
                parts.append(
                    f"<{name} />" if text is None else f"<{name}>{escape_text(text)}</{name}>"
                )
            parts.append(f"</prop><status>{STATUS[status]}</status></propstat>")
        self.parts.append("".join(parts) + "</response>")


@functools.lru_cache(maxsize=256)
def _content_type(name: str, component: str) -> str:
    """What ``xmlutils.get_content_type`` says for a member (encoding utf-8)."""
    mimetype = f"{xmlutils.OBJECT_MIMETYPES[name]};charset=utf-8"
    return f"{mimetype};component={component}" if component else mimetype


def _value(tag: str, row: Listed, name: str, in_report: bool) -> tuple[bool, str | None]:
    """(found, text) of property ``tag`` of a member, as Radicale answers it."""
    if tag == GETETAG:
        return True, row.etag
    if tag == CONTENT_TYPE:
        return True, _content_type(name, row.component)
    if in_report:
        return (True, row.text) if tag in DATA else (False, None)
    if tag == RESOURCETYPE:
        return True, None
    if tag == LAST_MODIFIED:
        return True, storage.http_date(row.last_modified)
    if tag == CONTENT_LENGTH:
        return True, str(len((row.text or "").encode()))
    return False, None


def _propstats(
    props: list[str], row: Listed, name: str, in_report: bool
) -> list[tuple[int, list[tuple[str, str | None]]]]:
    """The propstats of a member, in Radicale's order: a PROPFIND's by the first
    property of each status, a REPORT's 200 first; then ``scheduletag.fill``."""
    by_status: dict[int, list[tuple[str, str | None]]] = {200: []} if in_report else {}
    for tag in props:
        found, text = _value(tag, row, name, in_report)
        by_status.setdefault(200 if found else 404, []).append((tag, text))
    missing = by_status.get(404, [])
    if (SCHEDULE_TAG, None) in missing and row.text:
        value = schedule_tag(row.text)
        if value:  # moved to the found ones, as scheduling.answer_missing does
            missing.remove((SCHEDULE_TAG, None))
            if 200 not in by_status:
                by_status = {200: [], **by_status}
            by_status[200].append((SCHEDULE_TAG, value))
    return [(status, found) for status, found in by_status.items() if found]


def check_events(request: Request, rows: Sequence[Listed], max_events: int) -> None:
    """Radicale's ``max_expand_occurrence`` guard on the calendar data served: raises
    ValueError (the client gets 400) past ``max_events`` BEGIN:VEVENT lines."""
    if not max_events or not any(tag in DATA for tag in request.props):
        return
    if sum((row.text or "").upper().count("BEGIN:VEVENT") for row in rows) > max_events:
        query.check_events([row.text or "" for row in rows], max_events)


def write_members(
    document: Document,
    prefix: str,
    rows: Iterable[Listed],
    props: list[str],
    name: str,
    in_report: bool,
) -> None:
    """The responses of ``rows``, whose hrefs are ``prefix`` (percent-encoded) and the name."""
    for row in rows:
        document.member(f"{prefix}{quote_name(row.href)}", _propstats(props, row, name, in_report))


def collection_prefix(base_prefix: str, collection_path: str) -> str:
    """The percent-encoded href of a collection, ending in "/" (``xmlutils.make_href``)."""
    return quote(f"{base_prefix}/{collection_path}/")


def sync_answer(
    request: Request, base_prefix: str, collection: storage.Collection, max_events: int
) -> bytes | None:
    """The sync-collection multistatus (RFC 6578 §3.2) of ``collection``; None for a
    token the storage refuses (Radicale answers it, with DAV:valid-sync-token).

    Raises ValueError past ``max_events`` VEVENTs served (as ``check_events``).
    """
    try:
        token, rows, removed = collection.changes(request.token, request.reads_text)
    except ValueError:
        return None
    check_events(request, rows, max_events)
    document = Document()
    document.parts.append(f"<sync-token>{escape_text(token)}</sync-token>")
    prefix = collection_prefix(base_prefix, collection.path)
    for href in removed:
        document.missing(f"{prefix}{quote_name(href)}")
    write_members(document, prefix, rows, request.props, collection.object_name, True)
    state = runtime.request()
    if state.sync_truncated:  # synclimit.mark_truncated
        document.parts.append(
            f"<response><href>{escape_text(state.sync_href)}</href><status>{TRUNCATED}</status>"
            f"<error><{WITHIN_LIMITS} /></error></response>"
        )
    return document.body()


def multiget_names(
    request: Request, base_prefix: str, collection: storage.Collection
) -> tuple[list[str], list[str]] | None:
    """(member names, paths outside the collection) of a multiget's hrefs, read as
    Radicale reads them (``xml_report``, ``retrieve_items``): hrefs outside
    ``base_prefix`` are skipped, the same one twice is one. None when one names
    the collection itself (Radicale then answers with every member)."""
    references = set()
    for text in request.hrefs:
        path = pathutils.sanitize_path(unquote(urlparse(text).path))
        if (path + "/").startswith(base_prefix + "/"):
            references.add(path[len(base_prefix) :])
    names, foreign = [], []
    for reference in references:
        try:
            name = pathutils.name_from_path(reference, collection)
        except ValueError:
            foreign.append(reference)
            continue
        if not name:
            return None
        names.append(name)
    return names, foreign


def multiget_answer(
    request: Request,
    base_prefix: str,
    collection: storage.Collection,
    names: list[str],
    foreign: list[str],
    max_events: int,
) -> bytes:
    """The multiget multistatus: 404 for what is not a member, then the members.

    Raises ValueError past ``max_events`` VEVENTs served (as ``check_events``).
    """
    document = Document()
    for path in foreign:
        document.missing(escape_text(quote(base_prefix + path)))
    found = {row.href: row for row in collection.listing(names, request.reads_text)}
    prefix = collection_prefix(base_prefix, collection.path)
    for name in names:
        if name not in found:
            document.missing(f"{prefix}{quote_name(name)}")
    rows = [found[name] for name in names if name in found]
    check_events(request, rows, max_events)
    write_members(document, prefix, rows, request.props, collection.object_name, True)
    return document.body()


def propfind_answer(
    request: Request, collection_answer: bytes, base_prefix: str, collection: storage.Collection
) -> bytes:
    """Radicale's answer for the collection alone (``collection_answer``, a
    multistatus) with the members' responses added."""
    text = collection_answer.decode()
    root_end = text.index(">", text.index("<multistatus")) + 1
    start_tag = text[:root_end]
    document = Document()
    document.adopt(start_tag)
    prefix = collection_prefix(base_prefix, collection.path)
    rows = collection.listing(None, request.reads_text)  # not kept while the body is joined
    write_members(document, prefix, rows, request.props, collection.object_name, False)
    del rows
    tail = text[root_end:].removesuffix("</multistatus>")
    if tail == text[root_end:]:  # an empty multistatus: "<multistatus ... />"
        start_tag, tail = start_tag.removesuffix(" />") + ">", ""
    head = start_tag[:-1] + document.declarations(start_tag) + ">"
    return document.joined(head + tail, "</multistatus>")
