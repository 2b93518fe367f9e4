"""Property-based attack on a running server: random input never gets a 5xx (ISSUE 14, item 10).

Every API route and web page (enumerated from ``calcard.api.routes`` and
``calcard.web.ui.routes``, so a new route is fuzzed without touching this file)
and every DAV method on a user's
paths receives random query strings, headers, JSON bodies, XML and
iCalendar/vCard, authenticated as a real user (an administrator of their
organization) and anonymously. Each answer must be below 500, and afterwards
the server must be healthy and its log free of unhandled exceptions.

The run is bounded and reproducible: a fixed number of examples, derandomized
(the same inputs every run; a failure prints the shrunk request), and no
example database left in the repository. Every 500 it found became a fix and
a named regression test in test_bad_input.py.
"""

from __future__ import annotations

import base64
import re
import string
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Mount, Route

from calcard.core.config import load_settings
from calcard.web import api
from calcard.web import ui as webui
from calcard.web.api.common import ApiContext

from conftest import PASSWORD, Server, start_server, stop_server
from helpers import DAV_METHODS

settings.register_profile(
    "calcard-fuzz",
    max_examples=100,  # per test: two tests, 200 requests per backend
    deadline=None,
    derandomize=True,  # the same inputs every run, so a failure is reproducible as is
    database=None,  # no .hypothesis folder in the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
FUZZ = settings.get_profile("calcard-fuzz")

# RFC 4918 §9.8.5 / §9.9.4: a COPY or MOVE to another server is answered 502 (Bad Gateway).
REMOTE_DESTINATION = "Remote destination not supported"
WEB = webui.routes(ApiContext(None, load_settings()))  # type: ignore[arg-type]
ROUTES = [
    (route.path, method)
    for route in [*api.routes(ApiContext(None, None)), *WEB]  # type: ignore[arg-type]
    if isinstance(route, Route)
    for method in sorted((route.methods or {"GET"}) - {"HEAD"})
] + [(mount.path + "/{name}", "GET") for mount in WEB if isinstance(mount, Mount)]
# HEAD is answered as GET; LOCK is not served (refused, never a 500).
FUZZED_METHODS = [*DAV_METHODS, "HEAD", "LOCK"]
QUERY_NAMES = (
    "start end calendar href after q group kind into name status sig user org recurrence_id "
    "completed subdivision country path addressbook uid id"
).split()
BODY_NAMES = (
    "calendar title summary start end all_day href attendees location description uid name "
    "color org login role password email label code kind access expires etag timezone "
    "duration_minutes horizon_days alternatives capacity recurrence_id answer move to from "
    "into due priority completed status freq interval count until byday rrule enabled "
    "chat_webhook style repeat minutes week_start default_calendar tel birthday_reminders"
).split()
EXTREME_TIMES = [
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59+00:00",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "2031-02-30T10:00:00+01:00",
    "2031-07-14T10:00:00+01:00",
    "2031-07-14",
    "1969-12-31T23:59:59Z",
    "P1D",
    "",
]
NUMBERS = ["0", "-1", "1", "2.5", "1e309", "NaN", "9" * 30, "0x10", "١٢", " 3 "]


@dataclass
class Actor:
    server: Server
    login: str
    org: str
    other: str  # a second member of the organization: path parameters name them, not the actor


@pytest.fixture(scope="module")
def fuzz_server(backend, tmp_path_factory):
    """A server of its own, so its log holds only this module's requests."""
    srv = start_server(
        backend,
        tmp_path_factory.mktemp(f"fuzz-{backend.name}"),
        {"CALCARD_MAX_RESOURCE_SIZE": "200000", "CALCARD_MAX_BODY_SIZE": "1000000"},
    )
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def actor(fuzz_server) -> Actor:
    login = fuzz_server.user(role="administrator")
    org = f"org-{login}"
    return Actor(fuzz_server, login, org, fuzz_server.user(org=org))


def texts(alphabet=None, max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(alphabet or st.characters(codec="utf-8"), max_size=max_size)


def values(actor: Actor) -> st.SearchStrategy[str]:
    """Strings a parameter might carry: real names, dates at the extremes, numbers, noise."""
    real = [
        actor.login,
        actor.other,
        actor.org,
        f"/{actor.login}/calendar/",
        f"/{actor.login}/contacts/",
        f"{actor.login}/calendar",
        "Ünïcødé ☃",
        "Zone/" + "Ä" * 300,
    ]
    return st.one_of(
        st.sampled_from(real + EXTREME_TIMES + NUMBERS),
        texts(),
        st.integers(-(2**70), 2**70).map(str),
    )


def json_values(actor: Actor) -> st.SearchStrategy:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False),
        values(actor),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.sampled_from(BODY_NAMES) | texts(max_size=8), inner, max_size=4),
        ),
        max_leaves=12,
    )


def deep_json(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def json_bodies(actor: Actor) -> st.SearchStrategy[bytes | None]:
    import json

    objects = st.dictionaries(st.sampled_from(BODY_NAMES), json_values(actor), max_size=8)
    return st.one_of(
        st.none(),
        objects.map(lambda o: json.dumps(o).encode()),
        json_values(actor).map(lambda o: json.dumps(o).encode()),
        st.integers(100, 200_000).map(deep_json),
        st.integers(100, 200_000).map(lambda d: b"[" * d + b"]" * d),
        st.sampled_from(
            [
                b'{"name": NaN}',
                b'{"title": Infinity}',
                b'{"name": "\\ud800"}',
                b'{"name": "a\\u0000b"}',
                b'{"duration_minutes": ' + b"9" * 5000 + b"}",
                b"\xff\xfe{}",
            ]
        ),
        st.binary(max_size=64),
    )


def ical_dates() -> st.SearchStrategy[str]:
    years = st.sampled_from([1, 2, 100, 1601, 1970, 2031, 2100, 9998, 9999]) | st.integers(1, 9999)
    return st.builds(
        lambda y, m, d, time, zone: f"{y:04d}{m:02d}{d:02d}" + (f"T{time}{zone}" if time else ""),
        years,
        st.integers(1, 12),
        st.integers(1, 31),
        st.sampled_from(["", "000000", "235959", "120000"]),
        st.sampled_from(["", "Z"]),
    )


def icalendars() -> st.SearchStrategy[str]:
    line = st.one_of(
        ical_dates().map(lambda d: f"DTSTART:{d}"),
        ical_dates().map(lambda d: f"DTSTART;VALUE=DATE:{d[:8]}"),
        ical_dates().map(lambda d: f"DTSTART;TZID=Pacific/Kiritimati:{d}"),
        ical_dates().map(lambda d: f"DTSTART;TZID={'Z' * 300}:{d}"),
        ical_dates().map(lambda d: f"DTEND:{d}"),
        ical_dates().map(lambda d: f"DTEND;TZID=Etc/GMT+12:{d}"),
        ical_dates().map(lambda d: f"DUE:{d}"),
        ical_dates().map(lambda d: f"RECURRENCE-ID:{d}"),
        ical_dates().map(lambda d: f"EXDATE:{d}"),
        ical_dates().map(lambda d: f"RDATE:{d}"),
        ical_dates().map(lambda d: f"RRULE:FREQ=YEARLY;UNTIL={d}"),
        st.sampled_from(["RRULE:FREQ=WEEKLY;COUNT=3", "RRULE:FREQ=YEARLY;COUNT=2"]),
        st.sampled_from(
            ["DURATION:P3650000D", "DURATION:-P1D", "DURATION:PT0S", "DURATION:P99999999W"]
        ),
        st.sampled_from(["TRIGGER:-P99999999W", "TRIGGER;VALUE=DATE-TIME:99991231T235959Z"]),
        texts(max_size=20).map(lambda t: f"SUMMARY:{t}"),
        st.sampled_from(["ORGANIZER:mailto:a@example.com", "ATTENDEE:mailto:b@example.com"]),
        texts(string.ascii_uppercase + ":;=-", 20),
    )
    component = st.builds(
        lambda kind, lines, alarm: "\r\n".join(
            [f"BEGIN:{kind}", "UID:fuzz-uid", "DTSTAMP:20300101T000000Z", *lines]
            + (["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT5M", "END:VALARM"] if alarm else [])
            + [f"END:{kind}"]
        ),
        st.sampled_from(["VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VALARM"]),
        st.lists(line, max_size=6),
        st.booleans(),
    )
    return st.builds(
        lambda parts, close: (
            "\r\n".join(
                ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//fuzz//EN", *parts]
                + (["END:VCALENDAR"] if close else [])
            )
            + "\r\n"
        ),
        st.lists(component, min_size=0, max_size=2),
        st.booleans(),
    )


def vcards() -> st.SearchStrategy[str]:
    line = st.one_of(
        st.sampled_from(["VERSION:3.0", "VERSION:4.0", "VERSION:9"]),
        ical_dates().map(lambda d: f"BDAY:{d[:8]}"),
        st.sampled_from(["BDAY:--0229", "BDAY:0000-00-00", "BDAY;VALUE=text:soon", "BDAY:"]),
        texts(max_size=20).map(lambda t: f"FN:{t}"),
        st.sampled_from(["N:a;b;;;", "N:", "EMAIL:x", "TEL:\u00e9", "PHOTO;ENCODING=b:@@@"]),
        st.sampled_from(["MEMBER:urn:uuid:x", "KIND:group", "X-ADDRESSBOOKSERVER-KIND:group"]),
        texts(string.ascii_uppercase + ":;=-", 20),
    )
    return st.builds(
        lambda lines, close: (
            "\r\n".join(["BEGIN:VCARD", "UID:fuzz-card", *lines] + (["END:VCARD"] if close else []))
            + "\r\n"
        ),
        st.lists(line, max_size=6),
        st.booleans(),
    )


DAV_NAMES = (
    [
        ("D", "DAV:", n)
        for n in (
            "propfind prop allprop propname getetag displayname resourcetype sync-collection "
            "sync-token sync-level propertyupdate set remove href principal-property-search "
            "acl-principal-prop-set current-user-principal"
        ).split()
    ]
    + [
        ("C", "urn:ietf:params:xml:ns:caldav", n)
        for n in (
            "calendar-query calendar-multiget free-busy-query filter comp-filter prop-filter "
            "time-range calendar-data expand text-match mkcalendar calendar-timezone "
            "supported-calendar-component-set comp"
        ).split()
    ]
    + [("CR", "urn:ietf:params:xml:ns:carddav", n) for n in ("addressbook-query", "address-data")]
)


def xml_element(depth: int) -> st.SearchStrategy[str]:
    attributes = st.lists(
        st.tuples(
            st.sampled_from(["start", "end", "name", "collation", "negate-condition", "test"]),
            st.sampled_from(EXTREME_TIMES[:4] + ["00010101T000000Z", "99991231T235959Z"])
            | texts(string.printable.replace("'", "").replace("<", "").replace("&", ""), 12),
        ),
        max_size=2,
    )
    children = st.lists(xml_element(depth - 1), max_size=3) if depth else st.just([])
    return st.builds(
        lambda name, attrs, kids, text: (
            f"<{name[0]}:{name[2]}"
            + "".join(f" {k}='{v}'" for k, v in attrs)
            + ">"
            + "".join(kids)
            + text
            + f"</{name[0]}:{name[2]}>"
        ),
        st.sampled_from(DAV_NAMES),
        attributes,
        children,
        texts(string.ascii_letters + string.digits + ":/-", 12),
    )


NAMESPACES = (
    "xmlns:D='DAV:' xmlns:C='urn:ietf:params:xml:ns:caldav' "
    "xmlns:CR='urn:ietf:params:xml:ns:carddav'"
)


def xmls() -> st.SearchStrategy[str]:
    def document(root: str) -> str:
        return "<?xml version='1.0' encoding='utf-8'?>" + root.replace(">", f" {NAMESPACES}>", 1)

    return st.one_of(
        xml_element(3).map(document),
        st.integers(100, 100_000).map(
            lambda d: document("<D:propfind>" + "<D:prop>" * d + "</D:prop>" * d + "</D:propfind>")
        ),
        st.sampled_from(
            [
                "<x",
                "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e 'x'>]><x>&e;</x>",
                "<a xmlns='DAV:'><b/></a>",
            ]
        ),
    )


def header_texts(max_size: int = 20) -> st.SearchStrategy[str]:
    """What a header may carry (RFC 9110 §5.5): visible ASCII and Latin-1, inner spaces."""
    visible = st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_categories=["Cc"])
    return st.text(visible | st.just(" "), max_size=max_size).map(str.strip)


def header_values(actor: Actor) -> st.SearchStrategy[dict[str, bytes]]:
    host = actor.server.url
    choices = {
        "Content-Type": st.sampled_from(
            [
                "application/json",
                "text/plain",
                "text/calendar",
                "text/vcard",
                "application/xml",
                "multipart/form-data; boundary=",
                "application/json; charset=ébcdic",
            ]
        ),
        "Depth": st.sampled_from(["0", "1", "infinity", "-1", "2", "9" * 40, "\xe9", ""]),
        "Destination": st.sampled_from(
            [
                f"{host}/{actor.login}/calendar/moved.ics",
                f"{host}/{actor.login}/other/",
                f"{host}/{actor.other}/calendar/x.ics",
                f"/{actor.login}/calendar/%zz.ics",
                "::::",
                "http://[::1/x",
                "http://evil.example/x.ics",
                "",
            ]
        )
        | header_texts(),
        "If-Match": st.sampled_from(["*", '"x"', "W/", ""]),
        "If-None-Match": st.sampled_from(["*", '"x"']),
        "Overwrite": st.sampled_from(["T", "F", "x"]),
        "Last-Event-ID": st.sampled_from(NUMBERS).map(str.strip),
        "Origin": st.sampled_from(["http://evil.example", "null", host]),
        "Accept-Encoding": st.sampled_from(["gzip", "br", "gzip;q=0", "*"]),
        "X-CSRF-Token": header_texts(10),
        "Range": st.sampled_from(["bytes=0-1", "bytes=9-1", "lines=1"]),
        "Cookie": header_texts(30).map(lambda t: f"calcard_session={t}"),
    }
    encoded = {k: v.map(lambda x: x.encode("latin-1", "replace")) for k, v in choices.items()}
    return st.fixed_dictionaries({}, optional=encoded)


# Malformed credentials only: well-formed wrong ones would throttle the address (and the actor).
MALFORMED_AUTHORIZATION = [
    b"Basic !!!",
    b"Basic " + base64.b64encode(b"no colon"),
    b"Basic " + base64.b64encode("\u00fc".encode("latin-1")),
    b"Basic \xe9\xe9",
    b"Basic",
    b"Bearer x",
    b"Digest username=x",
]


def fill_path(template: str, actor: Actor, draw) -> str:
    """Path parameters get real names (of the organization's other member, so the actor
    does not remove itself) or random values, URL-encoded."""

    def one(match: re.Match) -> str:
        name, kind = match.group(1), match.group(2) or ""
        real = {
            "path": [f"{actor.login}/calendar", f"{actor.login}/contacts", f"{actor.other}/x"],
            "login": [actor.other, "ümlaut"],
            "org": [actor.org, "org-nobody"],
            "id": ["1", "0", "9" * 25, "-1", "abc"],
            "kind": ["user", "group", "org"],
        }.get(name, [])
        value = draw(st.sampled_from(real) | values(actor)) if real else draw(values(actor))
        if kind == ":int" and not value.isdigit():
            value = draw(st.sampled_from(["1", "0", "9" * 25]))
        return quote(value, safe="/" if kind == ":path" else "") or "x"

    return re.sub(r"{(\w+)(:\w+)?}", one, template)


def query_strings(actor: Actor) -> st.SearchStrategy[str]:
    pairs = st.lists(st.tuples(st.sampled_from(QUERY_NAMES), values(actor)), max_size=5)
    return pairs.map(lambda p: urlencode(p))


def credentials() -> st.SearchStrategy[bool | bytes]:
    """Mostly the actor's (the deep paths need a login), else none or malformed ones."""
    return st.sampled_from([True, True, True, False]) | st.sampled_from(MALFORMED_AUTHORIZATION)


def send(actor: Actor, authenticated: bool | bytes, method: str, url: str, headers, body) -> None:
    """One request: as the actor (True), anonymous (False) or with malformed credentials."""
    auth = (actor.login, PASSWORD) if authenticated is True else None
    if isinstance(authenticated, bytes):
        headers = {**headers, "Authorization": authenticated}
    with httpx.Client(base_url=actor.server.url, auth=auth, timeout=60) as http:
        # Streamed, the body read only on failure: an event stream never ends.
        with http.stream(method, url, headers=headers, content=body) as response:
            failed = response.status_code >= 500
            start = (
                next(response.iter_bytes(), b"")[:300].decode(errors="replace") if failed else ""
            )
    remote = method in ("MOVE", "COPY") and REMOTE_DESTINATION in start
    assert response.status_code < 500 or remote, (
        f"{method} {url} -> {response.status_code}: {start}"
    )


def assert_healthy(actor: Actor) -> None:
    """The server still answers, the actor's home is intact, and nothing went unhandled."""
    assert httpx.get(actor.server.url + "/api/health", timeout=30).status_code == 200
    with actor.server.client(actor.login) as http:
        home = http.request("PROPFIND", f"/{actor.login}/", headers={"Depth": "1"})
    assert home.status_code == 207, home.text
    log = actor.server.log.read_text(errors="replace")
    unhandled = re.findall(
        r"^.*(?:Exception in ASGI application|ERROR radicale: Exception|"
        r"calcard\.access: \S+ \S+ \S+ 50[0134-9] ).*$",
        log,
        re.M,
    )
    assert not unhandled, "\n".join(unhandled[:10])


@given(data=st.data())
@FUZZ
def fuzz_api_routes(actor: Actor, data) -> None:
    path, method = data.draw(st.sampled_from(ROUTES), label="route")
    url = fill_path(path, actor, data.draw)
    query = data.draw(query_strings(actor), label="query")
    headers = data.draw(header_values(actor), label="headers")
    body = data.draw(json_bodies(actor) | icalendars().map(str.encode), label="body")
    authenticated = data.draw(credentials(), label="authenticated")
    send(actor, authenticated, method, f"{url}?{query}" if query else url, headers, body)


@given(data=st.data())
@FUZZ
def fuzz_dav_methods(actor: Actor, data) -> None:
    method = data.draw(st.sampled_from(FUZZED_METHODS), label="method")
    home = f"/{actor.login}/"
    targets = [
        f"{home}calendar/",
        f"{home}calendar/fuzz.ics",
        f"{home}contacts/",
        f"{home}contacts/fuzz.vcf",
        f"{home}new-collection/",
        f"/{actor.other}/calendar/",
        "/.well-known/caldav",
        "/",
    ]
    if method not in ("DELETE", "MOVE"):  # the actor's home stays, for the health check
        targets.append(home)
    path = data.draw(st.sampled_from(targets) | texts(max_size=12).map(lambda t: home + quote(t)))
    headers = data.draw(header_values(actor), label="headers")
    body = data.draw(
        st.one_of(st.none(), xmls(), icalendars(), vcards()).map(
            lambda b: b.encode() if b is not None else None
        ),
        label="body",
    )
    authenticated = data.draw(credentials(), label="authenticated")
    send(actor, authenticated, method, path, headers, body)


def test_api_routes_and_web_pages_never_answer_5xx(actor) -> None:
    fuzz_api_routes(actor=actor)
    assert_healthy(actor)


def test_dav_methods_never_answer_5xx(actor) -> None:
    fuzz_dav_methods(actor=actor)
    assert_healthy(actor)
