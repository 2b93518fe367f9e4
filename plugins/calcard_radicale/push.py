"""WebDAV-Push over DAV (draft "Push for WebDAV"): the push properties in PROPFIND
answers, ``push-register`` POSTs, and ``webdav-push`` in the DAV header.

Thin adapter: registrations, topics and keys are calcard.push's, who may
register the door's (calcard.sharing.access). The registration URL is the JSON
API's ``/api/push/registrations/{token}`` (its DELETE unsubscribes, with the
same credentials DAV takes), absolute as the draft requires.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from email.utils import format_datetime
from http import client
from urllib.parse import unquote

from radicale import pathutils, types

from calcard import sharing
from calcard.core.errors import Refusal
from calcard.core.times import utcnow
from calcard.push import subscriptions, vapid, wire
from calcard.store import push as store_push
from calcard_radicale import runtime, scheduling, xmldepth
from calcard_radicale.runtime import session

DAV_CLASS = "webdav-push"
TRANSPORTS = f"{{{wire.NS}}}transports"
TOPIC = f"{{{wire.NS}}}topic"
TRIGGERS = f"{{{wire.NS}}}supported-triggers"
PROPERTIES = (TRANSPORTS, TOPIC, TRIGGERS)


def registration_url(environ: dict, token: str) -> str:
    """The registration's absolute URL (Subscription Registration: ``Location``)."""
    base = runtime.settings().base_url.rstrip("/")
    if not base:
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        base = f"{environ.get('wsgi.url_scheme', 'http')}://{host}"
    return f"{base}{subscriptions.REGISTRATION_PATH}{token}"


def dont_notify(environ: dict, user: str) -> None:
    """Take the request's ``Push-Dont-Notify`` (draft, Suppressing Notifications) for the
    changes it makes: ``*`` or quoted registration URLs exactly as ``Location`` gave them;
    anything else is ignored, and only the user's own registrations are spared."""
    header = environ.get("HTTP_PUSH_DONT_NOTIFY", "").strip()
    if not header or not user:
        store_push.quiet("", None)
        return
    if header == "*":
        store_push.quiet(user, None)
        return
    prefix = registration_url(environ, "")
    tokens = {
        value.strip().strip('"').removeprefix(prefix)
        for value in header.split(",")
        if value.strip().startswith(f'"{prefix}') and value.strip().endswith('"')
    }
    store_push.quiet(user, frozenset(tokens - {""}))


def register(environ: dict, path: str, user: str, body: bytes) -> types.WSGIResponse:
    """Answer a ``push-register`` POST: 201 (new) or 204 (renewed) with ``Location`` and
    ``Expires``; 403 with the draft's precondition, 404 for who may not read."""
    if xmldepth.too_deep(body):
        return _refused(Refusal(f"the XML body nests deeper than {xmldepth.MAX_DEPTH} elements"))
    try:
        wanted = wire.parse_register(body)
        with session(write=True, owners=[user]) as s:
            done = subscriptions.register(
                s,
                user,
                pathutils.strip_path(path),
                wanted,
                runtime.settings().outbound_allow,
                utcnow(),
                runtime.request().app_password_id,
            )
    except Refusal as refusal:
        return _refused(refusal)
    headers = {
        "Location": registration_url(environ, done.token),
        "Expires": format_datetime(done.expires_at, usegmt=True),
    }
    status = client.CREATED if done.created else client.NO_CONTENT
    return status, headers, b"", None


def _refused(refusal: Refusal) -> types.WSGIResponse:
    """A precondition refusal as ``403`` with ``D:error``; any other as its kind's status."""
    precondition = refusal.details.get("precondition")
    if precondition:
        root = ET.Element(f"{{{scheduling.DAV}}}error")
        ET.SubElement(root, f"{{{wire.NS}}}{precondition}")
        body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        return client.FORBIDDEN, scheduling.XML_HEADERS, body, None
    runtime.refuse_with(refusal)
    return runtime.DAV_STATUS[refusal.kind], {"Content-Type": "text/plain"}, b"", None


def fill(multistatus: ET.Element) -> None:
    """Answer the push properties of calendars and address books in a PROPFIND answer
    (Push Properties): asked by name, Radicale answered them 404; in a propname answer
    their names are added. Other resources keep the 404 (they do not push)."""
    if multistatus.tag != f"{{{scheduling.DAV}}}multistatus":
        return
    propname = runtime.request().propfind == "propname"
    wanted = []
    for response in multistatus.findall(f"{{{scheduling.DAV}}}response"):
        if propname or any(response.find(f".//{name}") is not None for name in PROPERTIES):
            href = unquote(response.findtext(f"{{{scheduling.DAV}}}href") or "").strip("/")
            if href.count("/") == 1:
                wanted.append((response, href))
    if not wanted:
        return
    with session() as s:
        key = vapid.public_key(s)
        for response, path in wanted:
            found = sharing.collection_at(s, path)
            if found is None or not subscriptions.pushable(found[0]):
                continue
            if propname:
                scheduling.found_props(response).extend(ET.Element(n) for n in PROPERTIES)
                continue
            scheduling.answer_missing(response, TRANSPORTS, children=[_web_push(key)])
            scheduling.answer_missing(response, TOPIC, text=subscriptions.topic(s, found[0]))
            scheduling.answer_missing(response, TRIGGERS, children=[_content_update()])


def _web_push(key: str) -> ET.Element:
    """The Web Push transport with the VAPID key (Web Push Transport, VAPID)."""
    web_push = ET.Element(f"{{{wire.NS}}}web-push")
    ET.SubElement(web_push, f"{{{wire.NS}}}vapid-public-key", type="p256ecdsa").text = key
    return web_push


def _content_update() -> ET.Element:
    """Content updates of members, depth 1 (section CalDAV/CardDAV)."""
    update = ET.Element(f"{{{wire.NS}}}content-update")
    ET.SubElement(update, f"{{{scheduling.DAV}}}depth").text = "1"
    return update


def with_class(value: str) -> str:
    """The DAV header's value with ``webdav-push`` (Service Detection)."""
    return value if DAV_CLASS in value else f"{value}, {DAV_CLASS}"
