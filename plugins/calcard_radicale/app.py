"""Radicale's configuration for calcard and the WSGI application built from it."""

from __future__ import annotations

import base64
import functools
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus, client

from defusedxml import DefusedXmlException
from radicale import Application, config, httputils, pathutils
from radicale.app.base import Access
from radicale.app.propfind import xml_propfind
from radicale.log import logger

from calcard.core import db, recurrence, timebounds
from calcard.core.config import Settings
from calcard.core.errors import Kind
from calcard.push import wire
from calcard.sharing import access
from calcard.store import push as store_push
from calcard_radicale import (
    collectionget,
    members,
    move,
    principals,
    push,
    query,
    runtime,
    scheduletag,
    scheduling,
    storage,
    synclimit,
    todoexpand,
    xmldepth,
)

XML_TOO_DEEP = f"the XML body nests deeper than {xmldepth.MAX_DEPTH} elements"

CALCARD_NS = "http://calcard.org/ns/"


def radicale_configuration(settings: Settings) -> config.Configuration:
    configuration = config.load()
    configuration.update(
        {
            "server": {
                "max_content_length": str(settings.max_body_size),
                "max_resource_size": str(settings.max_resource_size),
                # calcard.core.names checks names (printable UTF-8); "minimal" refuses :'"*?,
                "validate_path_value": "none",
            },
            "auth": {
                "type": "calcard_radicale.auth",
                "cache_logins": "False",
                "delay": str(settings.auth_delay),
            },
            "rights": {"type": "calcard_radicale.rights"},
            "storage": {"type": "calcard_radicale.storage"},
            "web": {"type": "none"},
            "hook": {"type": "none"},
            "sharing": {"type": "none"},
            "logging": {"level": settings.log_level, "mask_passwords": "True"},
        },
        "calcard",
        privileged=True,
    )
    return configuration


class _Outage(BaseException):
    """A database outage inside a DAV method, carried past Radicale's catch-all (which
    answers any Exception raised there with 500) to ``_handle_request``'s 503. A
    BaseException, so Radicale's ``except Exception`` lets it through; the request's
    transaction is rolled back on the way (``_answer``'s ``finally``)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


def _passing_outages(method: Callable) -> Callable:
    """``method`` with a database outage raised as ``_Outage``."""

    @functools.wraps(method)
    def method_passing_outages(self, *args):
        try:
            return method(self, *args)
        except Exception as error:
            if db.unavailable(error):
                raise _Outage(error) from error
            raise

    return method_passing_outages


def _outages_passed(cls: type) -> type:
    """Every DAV method of ``cls`` (Radicale calls ``do_<METHOD>``) with database
    outages passed on as ``_Outage``."""
    for name in dir(cls):
        if name.startswith("do_"):
            setattr(cls, name, _passing_outages(getattr(cls, name)))
    return cls


@_outages_passed
class CalcardApplication(Application):
    """Radicale with calcard's answers.

    Free/busy REPORTs, the scheduling outbox and principal scheduling
    properties come from calcard (see scheduling.py).

    Any answer of 400 or more rolls back what the request wrote (runtime.py).
    Forbidden XML constructs (entities, DTDs), XML nested deeper than
    xmldepth.MAX_DEPTH and dates outside calcard.timebounds get 400; malformed
    Basic credentials 401 and an unknown request charset 415, before Radicale
    (which failed on them with 500) sees the request. A database outage is 503
    (RFC 9110 §15.6.4), inside a DAV method too. A refusal a
    plugin recorded with its reason (plan limit, read-only share, 2FA needing
    an app password, throttling) replaces Radicale's generic error answer, so
    a person reading the client's error sees why.
    """

    def _handle_request(self, environ):
        try:
            return self._answer(environ)
        except _Outage as outage:
            error: BaseException = outage.error
        except Exception as failure:
            if not db.unavailable(failure):
                raise  # a bug: Radicale logs it and answers 500
            error = failure
        logger.warning(
            "database unavailable during %s %s: %s",
            environ.get("REQUEST_METHOD", ""),
            environ.get("PATH_INFO", ""),
            db.describe(error),
        )
        return _unavailable_response()

    def _answer(self, environ):
        state = runtime.begin_request()
        state.environ = environ
        store_push.quiet("", None)  # Push-Dont-Notify is per request (push.dont_notify)
        gzip_ok = _accepts_gzip(environ.pop("HTTP_ACCEPT_ENCODING", ""))  # compressed below
        refused = _text_paths(environ) or _malformed_request(environ)
        if refused is not None:
            return _refusal_response(refused[0], [], *refused)
        status = 500
        try:
            status_text, headers, answers = super()._handle_request(environ)
            status = int(status_text.split(" ", 1)[0])
        finally:  # an answer of 400 or more keeps nothing the request changed
            runtime.finish_request(ok=status < 400)
        if state.refusal is not None and status >= 400:
            time.sleep(state.delay)
            status_text, headers, answers = _refusal_response(
                status, headers, *state.refusal, precondition=state.precondition
            )
        if state.serve is not None and status == 200:
            return _streamed(environ, state.serve, headers, gzip_ok)
        if gzip_ok:
            headers, answers = _gzip(headers, answers)
        return status_text, headers, answers

    def _read_xml_request_body(self, environ, request_info):
        raw = scheduling.read_body(environ)  # read and put back for Radicale
        if xmldepth.too_deep(httputils.decode_request(self.configuration, environ, raw)):
            runtime.refuse(400, XML_TOO_DEEP)
            raise RuntimeError(XML_TOO_DEEP)  # Radicale answers 400
        try:
            root = super()._read_xml_request_body(environ, request_info)
        except DefusedXmlException as exc:
            raise RuntimeError(f"forbidden XML construct: {exc}") from exc
        if root is not None and environ["REQUEST_METHOD"] == "PROPFIND":
            if not len(root):
                # RFC 4918 §14.20: propfind holds propname, allprop or prop; Radicale reads root[0]
                runtime.refuse(400, "a PROPFIND body names propname, allprop or prop")
                raise RuntimeError("empty PROPFIND body element")
            runtime.request().propfind = root[0].tag.rpartition("}")[2]  # for push.fill
        return root

    def do_REPORT(self, environ, base_prefix, path, user, user_groups, request_info):
        body = scheduling.read_body(environ)
        if xmldepth.too_deep(body):
            runtime.refuse(400, XML_TOO_DEEP)
            return httputils.BAD_REQUEST
        if scheduling.is_free_busy_query(body):
            return scheduling.free_busy_report(body, path, user)
        search = principals.report_name(body)
        if search:
            depth = environ.get("HTTP_DEPTH", "")
            return principals.answer(body, search, depth, user, base_prefix)
        if user:  # anonymous: Radicale asks for credentials first
            refused = self._sync_limit(body, base_prefix, path)
            if refused:
                return refused
        try:
            parsed = todoexpand.parse(body) or query.parse(body)
        except ValueError as exc:
            runtime.refuse(400, str(exc))
            return httputils.BAD_REQUEST
        answer = parsed and self._calendar_query(base_prefix, path, user, user_groups, parsed)
        if not answer and user:
            wanted = members.report(body)
            answer = wanted and self._members_report(base_prefix, path, user, user_groups, wanted)
        if answer:
            request_info["status"] = answer[0]
            return answer
        return super().do_REPORT(environ, base_prefix, path, user, user_groups, request_info)

    def _sync_limit(self, body: bytes, base_prefix: str, path: str):
        """Take a sync-collection's DAV:limit (synclimit.py); the answer refusing it, if so."""
        try:
            limit = synclimit.requested(body)
        except synclimit.MalformedLimit as exc:
            runtime.refuse(400, str(exc))
            return httputils.BAD_REQUEST
        if limit == 0:
            return synclimit.refused()
        if limit is not None:
            synclimit.expect(limit, base_prefix, pathutils.strip_path(path))
        return None

    def _calendar_query(self, base_prefix, path, user, user_groups, parsed: query.Query):
        """calcard's answer to a readable calendar's query (query.py), or None to let
        Radicale answer (and refuse) everything else."""
        access = Access(self._rights, user, user_groups, path)
        if not access.check("r"):
            return None
        limit = self.configuration.get("reporting", "max_expand_occurrence")
        try:
            with self._storage.acquire_lock("r", user):
                found = next(iter(self._storage.discover(path)), None)
                if not isinstance(found, storage.Collection) or found.tag != "VCALENDAR":
                    return None
                if not access.check("r", found):
                    return None
                rows = found.matching(parsed.filters)
            if parsed.expand:
                rows = todoexpand.expanded(rows, *parsed.expand)
            body = query.multistatus(
                base_prefix, found.path, rows, parsed.props, found.content_type, limit
            )
        except ValueError as exc:
            logger.warning("Bad REPORT request on %r: %s", path, exc)
            return httputils.BAD_REQUEST
        return client.MULTI_STATUS, scheduling.XML_HEADERS, body, None

    def _listable(self, path: str, access: Access, tag: str = "") -> storage.Collection | None:
        """The readable calendar or address book at ``path`` (of kind ``tag``, when
        given) that members.py answers for; read under the storage lock."""
        found = next(iter(self._storage.discover(path)), None)
        if not isinstance(found, storage.Collection) or found.is_box:
            return None
        if found.tag not in ("VCALENDAR", "VADDRESSBOOK") or tag not in ("", found.tag):
            return None
        return found if access.check("r", found) else None

    def _members_report(self, base_prefix, path, user, user_groups, wanted: members.Request):
        """calcard's sync-collection or multiget answer (members.py), or None to let
        Radicale answer (and refuse) everything else."""
        access = Access(self._rights, user, user_groups, path)
        if not access.check("r"):
            return None
        limit = self.configuration.get("reporting", "max_expand_occurrence")
        try:
            with self._storage.acquire_lock("r", user):
                found = self._listable(path, access, wanted.tag)
                if found is None:
                    return None
                if wanted.is_sync:
                    body = members.sync_answer(wanted, base_prefix, found, limit)
                else:
                    names = members.multiget_names(wanted, base_prefix, found)
                    if names is None:
                        return None
                    body = members.multiget_answer(wanted, base_prefix, found, *names, limit)
        except ValueError as exc:
            logger.warning("Bad REPORT request on %r: %s", path, exc)
            return httputils.BAD_REQUEST
        if body is None:
            return None
        return client.MULTI_STATUS, scheduling.XML_HEADERS, body, None

    def do_PROPFIND(self, environ, base_prefix, path, user, user_groups, request_info):
        """A depth-1 listing of a calendar's or address book's members in a shape
        clients send is calcard's (members.py); everything else Radicale's."""
        if user and environ.get("HTTP_DEPTH") == "1":
            body = scheduling.read_body(environ)
            wanted = not xmldepth.too_deep(body) and members.propfind(body)
            answer = wanted and self._members_propfind(
                base_prefix, path, user, user_groups, wanted, request_info
            )
            if answer:
                request_info["status"] = client.MULTI_STATUS
                return answer
        return super().do_PROPFIND(environ, base_prefix, path, user, user_groups, request_info)

    def _members_propfind(
        self, base_prefix, path, user, user_groups, wanted: members.Request, request_info
    ):
        """Radicale's response for the collection itself, then the members' from
        members.py; None when Radicale is to answer (and refuse) the request."""
        access = Access(self._rights, user, user_groups, path)
        if not access.check("r"):
            return None
        with self._storage.acquire_lock("r", user):
            found = self._listable(path, access)
            if found is None:
                return None
            allowed = [(*a, "") for a in self._collect_allowed_items([found], user, user_groups)]
            own = allowed and xml_propfind(
                self,
                base_prefix,
                path,
                wanted.root,
                allowed,
                user,
                "utf-8",
                max_resource_size=self._max_resource_size,
            )
            if own is None or not allowed:
                return None
            head = self._xml_response(own, request_info)  # with calcard's additions
            body = members.propfind_answer(wanted, head, base_prefix, found)
        headers = {"DAV": httputils.DAV_HEADERS, "Content-Type": "text/xml; charset=utf-8"}
        return client.MULTI_STATUS, headers, body, None

    def do_PUT(self, environ, base_prefix, path, user, user_groups, request_info):
        """Refuse writes into a schedule box up front; keep the body at hand, so the
        write lock covers everyone its scheduling reaches."""
        refused = scheduling.box_refusal(pathutils.strip_path(path))
        if refused:
            runtime.refuse(403, refused)
            return httputils.NOT_ALLOWED
        body = runtime.request().body = scheduling.read_body(environ)
        try:  # before Radicale's own time range, which answers dates near 9999 with 412
            timebounds.check_item(httputils.decode_request(self.configuration, environ, body))
        except timebounds.OutOfRange as exc:
            runtime.refuse_with(exc)
            return httputils.BAD_REQUEST
        too_many = user and recurrence.refusal(body.decode("utf-8", "replace"))
        if too_many:  # (anonymous: Radicale asks for credentials first)
            return max_instances(str(too_many))
        scheduletag.remember_condition(environ)
        answer = super().do_PUT(environ, base_prefix, path, user, user_groups, request_info)
        if b"ORGANIZER" not in body.upper():  # no scheduling object: no tag to look up
            return answer
        return scheduletag.with_header(answer, path)

    def do_GET(self, environ, base_prefix, path, user, user_groups, request_info):
        """Radicale's answer, with the Schedule-Tag of a scheduling object (RFC 6638 §8.2)."""
        answer = super().do_GET(environ, base_prefix, path, user, user_groups, request_info)
        body = answer[2]
        return scheduletag.with_header(answer, path, body if isinstance(body, str) else "")

    def do_DELETE(self, environ, base_prefix, path, user, user_groups, request_info):
        """Deleting a collection is its owner's: a sharee is refused up front with the
        door's reason (the rights plugin's ``d`` refuses it too, but says no why)."""
        scheduletag.remember_condition(environ)
        sane = pathutils.strip_path(path)
        if sane.count("/") == 1 and user:  # anonymous: Radicale asks for credentials first
            refused = storage.refusal(access.DELETE_COLLECTION, sane, user)
            if refused:
                runtime.refuse_with(refused)
                missing = refused.kind is Kind.NOT_FOUND
                return httputils.NOT_FOUND if missing else httputils.NOT_ALLOWED
        return super().do_DELETE(environ, base_prefix, path, user, user_groups, request_info)

    def do_MOVE(self, environ, base_prefix, path, user, user_groups, request_info):
        scheduletag.remember_condition(environ)
        return move.do_move(self, environ, base_prefix, path, user, user_groups, request_info)

    def do_POST(self, environ, base_prefix, path, user, user_groups, request_info):
        if not user:  # Radicale answers NOT_ALLOWED to nobody with 401: log in first
            return httputils.NOT_ALLOWED
        if scheduling.is_outbox(path, user):
            return scheduling.outbox_post(scheduling.read_body(environ), user)
        body = scheduling.read_body(environ)
        if wire.is_push_register(body):
            return push.register(environ, path, user, body)
        return super().do_POST(environ, base_prefix, path, user, user_groups, request_info)

    def __call__(self, environ, start_response):
        """Advertise server-side scheduling (RFC 6638 §2.1) and WebDAV-Push (its draft's
        Service Detection) in every DAV header."""

        def with_auto_schedule(status, headers, exc_info=None):
            headers = [
                (k, push.with_class(f"{v}, calendar-auto-schedule") if k.lower() == "dav" else v)
                for k, v in headers
            ]
            if exc_info is None:  # some callers' start_response takes two arguments
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        return super().__call__(environ, with_auto_schedule)

    def _xml_response(self, xml_content, request_info):
        scheduling.advertise(xml_content)
        scheduletag.fill(xml_content)
        push.fill(xml_content)
        synclimit.mark_truncated(xml_content)
        return super()._xml_response(xml_content, request_info)


def max_instances(reason: str) -> tuple[int, tuple, bytes, None]:
    """403 with the CALDAV:max-instances precondition (RFC 4791 §5.3.2.1) and the reason.

    Answered before the write lock is taken: refusing costs the server nothing.
    """
    body = _precondition_error(f"{{{scheduling.CALDAV}}}max-instances", reason)
    return client.FORBIDDEN, scheduling.XML_HEADERS, body, None


def _precondition_error(precondition: str, reason: str) -> bytes:
    """A ``DAV:error`` body naming the failed precondition (RFC 4918 §16), with the
    reason a person reads in calcard's own element."""
    root = ET.Element(f"{{{scheduling.DAV}}}error")
    ET.SubElement(root, precondition)
    ET.SubElement(root, f"{{{CALCARD_NS}}}reason").text = reason
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def wsgi_app(settings: Settings) -> Application:
    return CalcardApplication(radicale_configuration(settings))


def _text_paths(environ: dict) -> tuple[int, str] | None:
    """PATH_INFO and SCRIPT_NAME as the text they spell, or (400, reason).

    A WSGI server hands them over as the request's bytes decoded as latin-1
    (PEP 3333); Radicale takes them for text, so a name's UTF-8 was decoded
    twice ("aä.ics" stored as "aÃ¤.ics") or refused (a C1 control in "т").
    """
    for key in ("PATH_INFO", "SCRIPT_NAME"):
        try:
            environ[key] = environ.get(key, "").encode("latin-1").decode("utf-8")
        except UnicodeError:
            return 400, "the path is not UTF-8 (RFC 3986 §2.5)"
    return None


def _malformed_request(environ: dict) -> tuple[int, str] | None:
    """What Radicale would fail on with a 500 before any plugin runs: Basic credentials
    that are not base64 of "login:password" (RFC 7617 §2), and a request charset Python
    cannot decode with (Radicale tries it first, RFC 9110 §8.3.2). (status, reason)."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if authorization.startswith("Basic"):
        try:
            decoded = base64.b64decode(authorization[len("Basic") :].strip().encode("ascii"))
        except ValueError:  # binascii.Error, UnicodeEncodeError
            decoded = b""
        if b":" not in decoded:
            return 401, "malformed Basic credentials"
    content_type = environ.get("CONTENT_TYPE", "")
    if "charset=" in content_type:
        charset = content_type.split("charset=")[1].split(";")[0].strip()  # as Radicale reads it
        try:
            b"a".decode(charset)
        except UnicodeDecodeError:
            pass  # a real charset (UTF-16 needs two bytes)
        except (LookupError, ValueError):  # unknown, not a text encoding, or 'undefined'
            return 415, f"unsupported charset {charset!r}"
    return None


def _accepts_gzip(accept_encoding: str) -> bool:
    return "gzip" in (coding.split(";")[0].strip().lower() for coding in accept_encoding.split(","))


def _gzip(
    headers: list[tuple[str, str]], answers: Iterable[bytes]
) -> tuple[list[tuple[str, str]], Iterable[bytes]]:
    """Compress like Radicale would, at level 1 rather than 6 (level 1 is nginx's default
    too): at 6, compressing a week of events took longer than finding them."""
    body = b"".join(answers)
    if not body:
        return headers, answers
    packer = zlib.compressobj(1, wbits=16 + zlib.MAX_WBITS)
    body = packer.compress(body) + packer.flush()
    kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
    return kept + [("Content-Encoding", "gzip"), ("Content-Length", str(len(body)))], [body]


def _streamed(
    environ: dict, want: collectionget.Wanted, headers: list[tuple[str, str]], gzip_ok: bool
) -> tuple[str, list[tuple[str, str]], Iterable[bytes]]:
    """A GET of a whole collection: Radicale's headers (its access check and content type)
    without a length, the ETag and Last-Modified of the snapshot the body streams from
    (collectionget), chunked. A HEAD reads no item at all."""
    kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
    if environ.get("REQUEST_METHOD", "").upper() == "HEAD":
        return "200 OK", kept, []
    collection, body = collectionget.stream(want)
    if collection is not None:
        fresh = storage.Collection(collection)
        moved = {"etag": fresh.etag, "last-modified": fresh.last_modified}
        kept = [(k, moved.get(k.lower(), v)) for k, v in kept]
    if gzip_ok:
        kept.append(("Content-Encoding", "gzip"))
        body = _gzip_stream(body)
    return "200 OK", kept, body


def _gzip_stream(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``_gzip`` a piece at a time, for a streamed body (closing it closes ``chunks``)."""
    packer = zlib.compressobj(1, wbits=16 + zlib.MAX_WBITS)
    try:
        for chunk in chunks:
            packed = packer.compress(chunk)
            if packed:
                yield packed
        yield packer.flush()
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()


def _unavailable_response() -> tuple[str, list[tuple[str, str]], list[bytes]]:
    """503 with Retry-After (RFC 9110 §15.6.4): the database is down or restarting."""
    body = f"{db.UNAVAILABLE}\n".encode()
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Retry-After", str(db.RETRY_AFTER_SECONDS)),
    ]
    return "503 Service Unavailable", headers, [body]


def _refusal_response(
    status: int,
    headers: list[tuple[str, str]],
    refused_status: int,
    reason: str,
    precondition: str = "",
) -> tuple[str, list[tuple[str, str]], list[bytes]]:
    """Radicale's failed answer rewritten to the recorded status with the reason as body
    (a ``DAV:error`` when the refusal names a precondition)."""
    if status == 401 or refused_status == 401:
        refused_status = 401  # a failed login stays a 401 so clients ask for credentials
    media = "text/xml" if precondition else "text/plain"
    body = _precondition_error(precondition, reason) if precondition else (reason + "\n").encode()
    kept = [
        (k, v)
        for k, v in headers
        if k.lower()
        not in ("content-type", "content-length", "content-encoding", "www-authenticate")
    ]
    kept += [("Content-Type", f"{media}; charset=utf-8"), ("Content-Length", str(len(body)))]
    if refused_status == 401:
        kept.append(("WWW-Authenticate", f'Basic realm="calcard: {reason}", charset="UTF-8"'))
    return f"{refused_status} {HTTPStatus(refused_status).phrase}", kept, [body]
