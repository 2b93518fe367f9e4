"""The access matrix as data: one row per (method, route or DAV target), each actor's answer.

Read by tests/sharing/test_access_matrix.py only. A row names the route it covers (exactly as
``calcard.web.api.routes``/``calcard.web.ui.routes`` spell its path) or, for DAV, the kind of
target; ``url`` is a template filled from the fixture world (``{cal}``, ``{href}``, ...),
the actor (``{self}``: the actor's own login) and per-cell throwaway objects (``fresh``
names a factory; it adds e.g. ``{fresh_href}``).

Expected answers: an exact status ("403"), a class ("2xx") or alternatives ("202|409").
A cell whose expectation is all >= 400 is a refusal: the test then also checks that the
database did not change; so does a row marked ``still`` (a mail link's page) on any
answer. The rows describe the intended behaviour after issue 14 (a removed user's session
and credentials get 401, the new holder of a login inherits nothing, the door hides a
collection from who may not read it with 404, app passwords are refused account
management with 403). Cells in ``xfail`` are holes still open: they hold the right
expectation and are asserted by a strict-xfail test of their own (none today).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACTORS = (
    "owner",  # the victim: a collaborator of organization A
    "reader",  # org A, read share on the owner's calendar and address book
    "writer",  # org A, read-write share on both
    "member",  # org A collaborator, no share
    "admin",  # administrator of org A
    "legal",  # legal representative of org A
    "x_admin",  # administrator of org B
    "x_legal",  # legal representative of org B
    "external",  # external member of org A, no share
    "gone_session",  # web session cookie of a removed org A user (who had a read-write share)
    "gone_basic",  # Basic credentials of that removed user
    "reused",  # a new user (org C) who got the removed user's login
    "app_password",  # an app password of the owner
    "anonymous",
)
UNAUTH = ("gone_session", "gone_basic", "anonymous")
OWNER_SIDE = ("owner", "app_password")
SHAREES = ("reader", "writer")
# Who may see the owner's calendar/address book contents (the leak check uses it).
OWNER_READERS = (*OWNER_SIDE, *SHAREES)
ORG_A_MANAGERS = ("admin", "legal")
ORG_A_MEMBERS = ("owner", "reader", "writer", "member", "admin", "legal", "external")
LIVE = tuple(a for a in ACTORS if a not in UNAUTH)


@dataclass(frozen=True)
class Row:
    group: str
    method: str
    route: str  # the route table's path, or "dav:<target kind>"
    url: str
    expect: dict[str, str]
    body: str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    fresh: str | None = None  # factory of a throwaway object for each cell
    public: bool = False  # the answer may show the owner's data to anyone (a public link)
    still: bool = False  # even a 2xx answer changes nothing stored (a mail link's page)
    xfail: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.method} {self.url}"


BOTH = ("sqlite", "postgresql")


def cells(
    allowed=OWNER_SIDE, ok: str = "2xx", deny: str = "404", unauth: str = "401", **over: str
) -> dict[str, str]:
    """Each actor's answer: ``allowed`` get ``ok``, the unauthenticated ``unauth``, the
    rest ``deny``; keyword arguments set single actors."""
    answer = {}
    for actor in ACTORS:
        answer[actor] = ok if actor in allowed else unauth if actor in UNAUTH else deny
    answer.update(over)
    return answer


def xf(reason: str, *actors: str, backends: tuple[str, ...] = BOTH) -> dict:
    return {actor: (reason, backends) for actor in actors}


def merge(*parts: dict) -> dict:
    out: dict = {}
    for part in parts:
        out.update(part)
    return out


EVERYONE = ACTORS
READERS = (*OWNER_SIDE, *SHAREES)
WRITERS = (*OWNER_SIDE, "writer")
# The door: who may not read a collection learns nothing of it (404); a sharee is told no.
SHAREES_403 = {"reader": "403", "writer": "403"}
J = {"Content-Type": "application/json"}
GIF = (  # a 1x1 GIF
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
    b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
XML = {"Content-Type": "application/xml; charset=utf-8"}
ICS = {"Content-Type": "text/calendar; charset=utf-8"}
VCF = {"Content-Type": "text/vcard; charset=utf-8"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

# ----------------------------------------------------------------------------- DAV
PROPFIND = (
    '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:displayname/>'
    "<D:resourcetype/><D:getetag/></D:prop></D:propfind>"
)
PROPPATCH = (
    '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
    "<D:displayname>Übernommen von {actor} {uuid}</D:displayname></D:prop></D:set>"
    "</D:propertyupdate>"
)
RESOURCETYPE_PATCH = (
    '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>'
    "<D:resourcetype><D:collection/></D:resourcetype></D:prop></D:set></D:propertyupdate>"
)
CALENDAR_QUERY = (
    '<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    '<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR">'
    '<C:comp-filter name="VEVENT"/></C:comp-filter></C:filter></C:calendar-query>'
)
SYNC = (
    '<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/>'
    "<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"
)
CAL_MULTIGET = (
    '<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" '
    'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>'
    "<D:href>{cal}{href}</D:href></C:calendar-multiget>"
)
CARD_MULTIGET = (
    '<?xml version="1.0"?><R:addressbook-multiget xmlns:D="DAV:" '
    'xmlns:R="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><R:address-data/></D:prop>'
    "<D:href>{book}{card_href}</D:href></R:addressbook-multiget>"
)
FREE_BUSY = (
    '<?xml version="1.0"?><C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
    '<C:time-range start="20410301T000000Z" end="20410401T000000Z"/></C:free-busy-query>'
)
MKCALENDAR = (
    '<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:set><D:prop><D:displayname>Matrix {actor}</D:displayname></D:prop></D:set></C:mkcalendar>"
)
MKCOL_BOOK = (
    '<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:R="urn:ietf:params:xml:ns:carddav">'
    "<D:set><D:prop><D:resourcetype><D:collection/><R:addressbook/></D:resourcetype>"
    "<D:displayname>Matrix {actor}</D:displayname></D:prop></D:set></D:mkcol>"
)
EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calcard matrix//EN\r\nBEGIN:VEVENT\r\n"
    "UID:{uuid}\r\nDTSTAMP:20410101T000000Z\r\nDTSTART:20410320T090000Z\r\n"
    "DTEND:20410320T100000Z\r\nSUMMARY:Eingeschleust von {actor}\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)
CARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uuid}\r\nFN:Eingeschleust {actor}\r\nEND:VCARD\r\n"
OUTBOX_POST = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calcard matrix//EN\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VFREEBUSY\r\nUID:{uuid}\r\nDTSTAMP:20410101T000000Z\r\n"
    "DTSTART:20410301T000000Z\r\nDTEND:20410302T000000Z\r\n"
    "ORGANIZER:mailto:{owner}@example.com\r\nATTENDEE:mailto:{member}@example.com\r\n"
    "END:VFREEBUSY\r\nEND:VCALENDAR\r\n"
)
# A push subscription on the loopback (CALCARD_OUTBOUND_ALLOW of the test servers).
PUSH_KEY = "BCbzhaTd5mkEuIyXCASEWSUOOjTCyQqsw5Dn4x7LVOOeEHzU_SOSYiabdBIfjY4fdNZv1RnUvFXGxN5qJIjylC0"
PUSH_REGISTER = (
    '<?xml version="1.0"?><P:push-register xmlns:P="https://bitfire.at/webdav-push">'
    "<P:subscription><P:web-push-subscription>"
    "<P:push-resource>http://127.0.0.1:9/push/{uuid}</P:push-resource>"
    f'<P:subscription-public-key type="p256dh">{PUSH_KEY}</P:subscription-public-key>'
    "<P:auth-secret>AAAAAAAAAAAAAAAAAAAAAA</P:auth-secret>"
    "</P:web-push-subscription></P:subscription></P:push-register>"
)
PUSH_BROWSER = (
    '{{"endpoint": "http://127.0.0.1:9/push/{uuid}", '
    f'"keys": {{{{"p256dh": "{PUSH_KEY}", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}}}}}}}'
)
D1 = {"Depth": "1", **XML}
D0 = {"Depth": "0", **XML}


def dav_rows() -> list[Row]:
    """DAV methods on the owner's home, calendar, address book, an item, the shared
    collection through the sharees' alias paths, and the outbox."""
    read_col = cells(READERS, "207", deny="403")
    rows = [
        # The owner's home: only the owner (and the owner's devices) may look or create.
        Row("dav-home", "GET", "dav:home", "/{owner}/", cells((), deny="403")),
        Row(
            "dav-home",
            "PROPFIND",
            "dav:home",
            "/{owner}/",
            cells(OWNER_SIDE, "207", deny="403"),
            PROPFIND,
            D1,
        ),
        Row(
            "dav-home",
            "PROPPATCH",
            "dav:home",
            "/{owner}/",
            cells(OWNER_SIDE, "207", deny="403", reader="403", writer="403"),
            PROPPATCH,
            XML,
        ),
        Row(
            "dav-home",
            "MKCALENDAR",
            "dav:home",
            "/{owner}/matrix-{uuid}/",
            cells(OWNER_SIDE, "201", deny="403"),
            MKCALENDAR,
            XML,
        ),
        Row(
            "dav-home",
            "MKCOL",
            "dav:home",
            "/{owner}/matrix-{uuid}/",
            cells(OWNER_SIDE, "201", deny="403"),
            MKCOL_BOOK,
            XML,
        ),
        Row(
            "dav-home", "OPTIONS", "dav:home", "/{owner}/", cells(EVERYONE, "200", gone_basic="401")
        ),
        Row(
            "dav-home",
            "REPORT",
            "dav:home",
            "/{owner}/",
            cells((), deny="403"),
            SYNC,
            D1,
        ),
    ]
    for kind, col, item, item_body, ctype, multiget in (
        ("calendar", "{cal}", "{href}", EVENT, ICS, CAL_MULTIGET),
        ("addressbook", "{book}", "{card_href}", CARD, VCF, CARD_MULTIGET),
    ):
        g = f"dav-{kind}"
        r = f"dav:{kind}"
        fresh = "event" if kind == "calendar" else "card"
        rows += [
            Row(g, "GET", r, col, cells(READERS, "200", deny="403")),
            Row(g, "PROPFIND", r, col, read_col, PROPFIND, D1),
            Row(
                g,
                "PROPPATCH",
                r,
                col,
                cells(OWNER_SIDE, "207", deny="403", reader="403", writer="403"),
                PROPPATCH,
                XML,
            ),
            Row(g, "REPORT", r, col, read_col, multiget, D1),
            Row(g, "REPORT", r, col + "#sync", read_col, SYNC, D1),
            Row(
                g,
                "PUT",
                r,
                col + "matrix-{uuid}" + (".ics" if kind == "calendar" else ".vcf"),
                cells(WRITERS, "201", deny="403", reader="403"),
                item_body,
                ctype,
            ),
            Row(
                g,
                "DELETE",
                r,
                col + "{fresh_href}",
                cells(WRITERS, "2xx", deny="403", reader="403"),
                fresh=fresh,
            ),
            Row(
                g,
                "MOVE",
                r,
                col + "{fresh_href}",
                cells(WRITERS, "201", deny="403", reader="403"),
                headers={"Destination": "{base}" + col + "moved-{uuid}"},
                fresh=fresh,
            ),
            Row(
                g,
                "COPY",
                r,
                col + "{fresh_href}",
                cells(EVERYONE, "405", unauth="401"),
                headers={"Destination": "{base}" + col + "copied-{uuid}"},
                fresh=fresh,
            ),
            Row(g, "OPTIONS", r, col, cells(EVERYONE, "200", gone_basic="401")),
            Row(
                g,
                "DELETE",
                r,
                "{fresh_col}",
                cells(OWNER_SIDE, "2xx", deny="404", **SHAREES_403),
                fresh=f"shared_{kind}",
            ),
            Row(
                g,
                "PROPPATCH",
                r,
                "{fresh_col}#resourcetype",
                cells(OWNER_SIDE, "400", deny="403"),
                RESOURCETYPE_PATCH,
                XML,
                fresh=f"shared_{kind}",
            ),
            Row(g, "GET", f"dav:{kind}-item", col + item, cells(READERS, "200", deny="403")),
            Row(g, "PROPFIND", f"dav:{kind}-item", col + item, read_col, PROPFIND, D0),
            Row(
                g,
                "PUT",
                f"dav:{kind}-item",
                col + "{fresh_href}",
                cells(WRITERS, "2xx", deny="403", reader="403"),
                item_body.replace("{uuid}", "{fresh_uid}"),
                ctype,
                fresh=fresh,
            ),
        ]
    rows += [
        Row(
            "dav-calendar",
            "REPORT",
            "dav:calendar",
            "{cal}#calendar-query",
            cells(READERS, "207", deny="403"),
            CALENDAR_QUERY,
            D1,
        ),
        Row(
            "dav-calendar",
            "REPORT",
            "dav:calendar",
            "{cal}#free-busy",
            cells(READERS, "200", deny="403"),
            FREE_BUSY,
            D1,
        ),
        Row(
            "dav-calendar",
            "MKCALENDAR",
            "dav:calendar",
            "{cal}",
            cells(OWNER_SIDE, "409", deny="403", writer="409"),
            MKCALENDAR,
            XML,
        ),
        Row(
            "dav-calendar",
            "MKCOL",
            "dav:calendar",
            "{cal}",
            cells((), deny="403"),
        ),
    ]
    for sharee, access in (("reader", "read"), ("writer", "read-write")):
        alias = "{" + sharee + "_alias}"
        g = "dav-alias"
        r = f"dav:alias-{access}"
        may_write = (sharee,) if access == "read-write" else ()
        rows += [
            Row(g, "PROPFIND", r, alias, cells((sharee,), "207", deny="403"), PROPFIND, D1),
            Row(g, "GET", r, alias + "{href}", cells((sharee,), "200", deny="403")),
            Row(g, "REPORT", r, alias + "#sync", cells((sharee,), "207", deny="403"), SYNC, D1),
            Row(
                g,
                "PUT",
                r,
                alias + "matrix-{uuid}.ics",
                cells(may_write, "201", deny="403"),
                EVENT,
                ICS,
            ),
            Row(
                g,
                "DELETE",
                r,
                alias + "{fresh_href}",
                cells(may_write, "2xx", deny="403"),
                fresh="event",
            ),
            Row(
                g,
                "PROPPATCH",
                r,
                alias,
                cells((), "207", deny="403"),
                PROPPATCH,
                XML,
            ),
            Row(g, "DELETE", r + "-collection", alias, cells((), deny="404", **{sharee: "403"})),
        ]
    rows.append(
        Row(
            "dav-outbox",
            "POST",
            "dav:outbox",
            "/{owner}/outbox/",
            cells(OWNER_SIDE, "200", deny="405", gone_session="401", anonymous="401"),
            OUTBOX_POST,
            {"Content-Type": "text/calendar; charset=utf-8; method=REQUEST"},
        )
    )
    # WebDAV-Push: who may read may subscribe; the door hides the calendar from the rest.
    rows.append(
        Row(
            "dav-push",
            "POST",
            "dav:calendar",
            "{cal}",
            cells(READERS, "201", deny="404", gone_session="401", anonymous="401"),
            PUSH_REGISTER,
            XML,
        )
    )
    return rows


# ----------------------------------------------------------------------------- API
def api(group, method, route, url=None, expect=None, body=None, **kw) -> Row:
    headers = dict(J) if body is not None else {}
    headers.update(kw.pop("headers", {}))
    return Row(group, method, route, url or route, expect or {}, body, headers, **kw)


SELF = cells(LIVE)  # the caller's own things: every signed-in person, nobody else
SELF_NO_APP = cells(LIVE, app_password="403")  # account management: not from a device
RANGE = "start=2041-03-01T00:00:00%2B00:00&end=2041-04-01T00:00:00%2B00:00"
DATES = "start=2041-03-01&end=2041-04-01"
EVENT_JSON = (
    '{{"calendar": "{cal}", "title": "Eingeschleust {actor}", '
    '"start": "2041-03-21T09:00:00+00:00", "end": "2041-03-21T10:00:00+00:00"}}'
)


def api_rows() -> list[Row]:
    rows = [
        api("api-public", "GET", "/api/health", expect=cells(EVERYONE, "200")),
        api("api-public", "GET", "/api/ready", expect=cells(EVERYONE, "200")),
        api("api-public", "GET", "/api/openapi.json", expect=cells(EVERYONE, "200")),
        api(
            "api-public",
            "GET",
            "/api/public/{token}.ics",
            "/api/public/{link_token}.ics",
            cells(EVERYONE, "200"),
            public=True,
        ),
        api(
            "api-public",
            "GET",
            "/api/orgs/{org}/branding",
            "/api/orgs/{org_a}/branding",
            cells(EVERYONE, "200"),
        ),
        api(
            "api-public",
            "GET",
            "/api/orgs/{org}/logo",
            "/api/orgs/{org_a}/logo",
            cells(EVERYONE, "404"),
        ),
        api(
            "api-public",
            "GET",
            "/api/rsvp",
            "/api/rsvp?c=1&h=x&a=y&e=z&sig=bad",
            cells(EVERYONE, "403"),
        ),
        api(
            "api-public",
            "POST",
            "/api/rsvp",
            expect=cells(EVERYONE, "403"),
            body="c=1&h=x&a=y&e=z&sig=bad&answer=accepted",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        # The e-mail verification link: no login, holding the mailbox is the proof; the GET
        # only shows the button.
        api(
            "api-public",
            "GET",
            "/api/verify-email",
            "/api/verify-email?{fresh_query}",
            cells(EVERYONE, "200"),
            fresh="verify_link",
            still=True,
        ),
        api(
            "api-public",
            "GET",
            "/api/verify-email#forged",
            "/api/verify-email?u=1&a=x%40example.org&e=4102444800&sig=forged",
            cells(EVERYONE, "403"),
        ),
        api(
            "api-public",
            "POST",
            "/api/verify-email",
            expect=cells(EVERYONE, "200"),
            body="{fresh_query}",
            headers=FORM,
            fresh="verify_link",
        ),
        api(
            "api-public",
            "POST",
            "/api/verify-email#forged",
            "/api/verify-email",
            cells(EVERYONE, "403"),
            body="u=1&a=x%40example.org&e=4102444800&sig=forged",
            headers=FORM,
        ),
        # The web session.
        api(
            "api-session",
            "GET",
            "/api/session",
            expect=cells(LIVE, "200", app_password="401"),
        ),
        api(
            "api-session",
            "POST",
            "/api/session",
            expect=cells(EVERYONE, "401", unauth="401"),
            body='{{"login": "{self}", "password": "not the password"}}',
        ),
        # The caller's own account.
        api("api-me", "GET", "/api/me", expect=SELF),
        api(
            "api-me",
            "PUT",
            "/api/me/current-org",
            expect=cells(ORG_A_MEMBERS + ("app_password",), deny="404"),
            body='{{"org": "{org_a}"}}',
        ),
        api(
            "api-me",
            "PATCH",
            "/api/users/{login}",
            "/api/users/{owner}",
            cells(("owner",), deny="403", app_password="403"),
            body='{{"email": "{actor}-{uuid}@example.org"}}',
        ),
        api(
            "api-me",
            "PATCH",
            "/api/users/{login}#self",
            "/api/users/{self}",
            cells(LIVE, app_password="403"),
            body='{{"timezone": "Europe/Zurich"}}',
        ),
        api(
            "api-me",
            "POST",
            "/api/me/password",
            expect=cells(LIVE, "400", app_password="403"),
            body='{{"current": "not the password"}}',
        ),
        api(
            "api-me",
            "POST",
            "/api/me/password#wrong",
            "/api/me/password",
            cells(LIVE, "403"),
            body='{{"current": "not the password", "new": "Übernommen-{uuid8}"}}',
        ),
        # Invitations to join an organization: only the invited person answers, and not
        # from a device.
        api("api-me", "GET", "/api/me/invitations", expect=SELF),
        api(
            "api-me",
            "POST",
            "/api/me/invitations/{id}/accept",
            "/api/me/invitations/{fresh_id}/accept",
            cells(("owner",), deny="404", app_password="403"),
            body="{{}}",
            fresh="invitation",
        ),
        api(
            "api-me",
            "POST",
            "/api/me/invitations/{id}/decline",
            "/api/me/invitations/{fresh_id}/decline",
            cells(("owner",), deny="404", app_password="403"),
            body="{{}}",
            fresh="invitation",
        ),
        api("api-me", "GET", "/api/me/app-passwords", expect=SELF),
        api(
            "api-me",
            "POST",
            "/api/me/app-passwords",
            expect=cells(LIVE, "201", app_password="403"),
            body='{{"label": "matrix {uuid}"}}',
        ),
        api(
            "api-me",
            "DELETE",
            "/api/me/app-passwords/{id}",
            "/api/me/app-passwords/{fresh_id}",
            cells(("owner",), app_password="403"),
            fresh="owner_app_password",
        ),
        api(
            "api-me",
            "POST",
            "/api/me/2fa",
            expect=cells(LIVE, app_password="403"),
            body="{{}}",
        ),
        api(
            "api-me",
            "POST",
            "/api/me/2fa/confirm",
            expect=cells(LIVE, "400", app_password="403"),
            body='{{"code": "000000"}}',
        ),
        api(
            "api-me",
            "POST",
            "/api/me/2fa/disable",
            expect=cells(LIVE, "400", app_password="403"),
            body='{{"code": "000000"}}',
        ),
        api("api-me", "GET", "/api/me/preferences", expect=SELF),
        api(
            "api-me",
            "PATCH",
            "/api/me/preferences",
            expect=SELF_NO_APP,
            body='{{"week_start": 1}}',
        ),
        api(
            "api-me",
            "PATCH",
            "/api/me/preferences#week_start-automatic",
            "/api/me/preferences",
            expect=SELF_NO_APP,
            body='{{"week_start": null}}',
        ),
        api(
            "api-me",
            "PATCH",
            "/api/me/preferences#language",
            "/api/me/preferences",
            expect=SELF_NO_APP,
            body='{{"language": "de"}}',
        ),
        api(
            "api-me",
            "PATCH",
            "/api/me/preferences#email",
            "/api/me/preferences",
            cells(LIVE, app_password="403"),
            body='{{"email": "{actor}-{uuid}@example.org"}}',
        ),
        api("api-me", "GET", "/api/me/devices", expect=SELF),
        api(
            "api-me",
            "POST",
            "/api/me/apple-profile",
            expect=cells(LIVE, app_password="403"),
            body='{{"label": "matrix"}}',
        ),
        # Organizations: only org A's managers manage org A.
        api(
            "api-orgs",
            "GET",
            "/api/orgs/{org}/members",
            "/api/orgs/{org_a}/members",
            cells(ORG_A_MEMBERS + ("app_password",), deny="403", external="403"),
        ),
        api(
            "api-orgs",
            "POST",
            "/api/orgs/{org}/members",
            "/api/orgs/{org_a}/members",
            cells(ORG_A_MANAGERS, "201", deny="403"),
            body='{{"login": "n{uuid8}", "role": "collaborator", "password": "matrix-pass-1"}}',
        ),
        api(
            "api-orgs",
            "PATCH",
            "/api/orgs/{org}/members/{login}",
            "/api/orgs/{org_a}/members/{fresh_login}",
            cells(ORG_A_MANAGERS, deny="403"),
            body='{{"calendar": false}}',
            fresh="member",
        ),
        api(
            "api-orgs",
            "DELETE",
            "/api/orgs/{org}/members/{login}",
            "/api/orgs/{org_a}/members/{fresh_login}",
            cells(ORG_A_MANAGERS, deny="403"),
            fresh="member",
        ),
        api(
            "api-orgs",
            "GET",
            "/api/orgs/{org}/language",
            "/api/orgs/{org_a}/language",
            cells(ORG_A_MEMBERS + ("app_password",), deny="403"),
        ),
        api(
            "api-orgs",
            "PUT",
            "/api/orgs/{org}/language",
            "/api/orgs/{org_a}/language",
            cells(ORG_A_MANAGERS, deny="403"),
            body='{{"language": "de"}}',
        ),
        api(
            "api-orgs",
            "GET",
            "/api/orgs/{org}/workgroups",
            "/api/orgs/{org_a}/workgroups",
            cells(ORG_A_MEMBERS + ("app_password",), deny="403", external="403"),
        ),
        api(
            "api-orgs",
            "POST",
            "/api/orgs/{org}/workgroups",
            "/api/orgs/{org_a}/workgroups",
            cells(ORG_A_MANAGERS, "201", deny="403"),
            body='{{"name": "Gruppe {uuid8}"}}',
        ),
        api(
            "api-orgs",
            "DELETE",
            "/api/orgs/{org}/workgroups/{name}",
            "/api/orgs/{org_a}/workgroups/{fresh_group}",
            cells(ORG_A_MANAGERS, deny="403"),
            fresh="workgroup",
        ),
        api(
            "api-orgs",
            "PUT",
            "/api/orgs/{org}/workgroups/{name}/members/{login}",
            "/api/orgs/{org_a}/workgroups/{fresh_group}/members/{member}",
            cells(ORG_A_MANAGERS, deny="403"),
            fresh="workgroup",
        ),
        api(
            "api-orgs",
            "DELETE",
            "/api/orgs/{org}/workgroups/{name}/members/{login}",
            "/api/orgs/{org_a}/workgroups/{group}/members/{reader}",
            cells(ORG_A_MANAGERS, deny="403"),
            fresh="group_member",
        ),
        api(
            "api-orgs",
            "PUT",
            "/api/orgs/{org}/branding",
            "/api/orgs/{org_a}/branding",
            cells(ORG_A_MANAGERS, deny="403"),
            body='{{"accent": "#123456"}}',
        ),
        api(
            "api-orgs",
            "PUT",
            "/api/orgs/{org}/logo",
            "/api/orgs/{org_a}/logo",
            cells(ORG_A_MANAGERS, deny="403"),
            body=GIF,
            headers={"Content-Type": "image/gif"},
        ),
        api(
            "api-orgs",
            "DELETE",
            "/api/orgs/{org}/logo",
            "/api/orgs/{org_a}/logo",
            cells(ORG_A_MANAGERS, deny="403"),
        ),
        api(
            "api-orgs",
            "GET",
            "/api/rooms",
            "/api/rooms?org={org_a}",
            cells(ORG_A_MEMBERS + ("app_password",), deny="403", external="403"),
        ),
        api(
            "api-orgs",
            "POST",
            "/api/rooms",
            expect=cells(ORG_A_MANAGERS, "201", deny="403"),
            body='{{"org": "{org_a}", "name": "Raum {uuid8}"}}',
        ),
        # Shares and public links of the owner's calendar.
        api("api-shares", "GET", "/api/collections", expect=SELF),
        api("api-shares", "GET", "/api/shared", expect=SELF),
        api(
            "api-shares",
            "GET",
            "/api/collections/{path:path}/shares",
            "/api/collections{cal}shares",
            cells(deny="404", **SHAREES_403),
        ),
        api(
            "api-shares",
            "PUT",
            "/api/collections/{path:path}/shares",
            "/api/collections{fresh_col}shares",
            cells(deny="404", **SHAREES_403),
            body='{{"kind": "user", "name": "{member}", "access": "read"}}',
            fresh="shared_calendar",
        ),
        api(
            "api-shares",
            "DELETE",
            "/api/collections/{path:path}/shares/{kind}/{name}",
            "/api/collections{fresh_col}shares/user/{reader}",
            cells(deny="404", **SHAREES_403),
            fresh="shared_calendar",
        ),
        api(
            "api-shares",
            "GET",
            "/api/collections/{path:path}/public-links",
            "/api/collections{cal}public-links",
            cells(deny="404", **SHAREES_403),
        ),
        api(
            "api-shares",
            "POST",
            "/api/collections/{path:path}/public-links",
            "/api/collections{cal}public-links",
            cells(ok="201", deny="404", **SHAREES_403),
            body='{{"expires": "unlimited"}}',
        ),
        api(
            "api-shares",
            "DELETE",
            "/api/collections/{path:path}/public-links/{id}",
            "/api/collections{cal}public-links/{fresh_id}",
            cells(deny="404", **SHAREES_403),
            fresh="public_link",
        ),
        # Cross-site style changes (finding 9): refused before anyone is asked who calls,
        # however the caller authenticates.
        api(
            "api-origin",
            "POST",
            "/api/event#text-plain",
            "/api/event",
            cells(EVERYONE, "415"),
            body=EVENT_JSON,
            headers={"Content-Type": "text/plain"},
        ),
        api(
            "api-origin",
            "POST",
            "/api/event#foreign-origin",
            "/api/event",
            cells(EVERYONE, "403"),
            body=EVENT_JSON,
            headers={"Origin": "https://evil.example"},
        ),
        api(
            "api-origin",
            "POST",
            "/api/me/app-passwords#cross-site",
            "/api/me/app-passwords",
            cells(EVERYONE, "403"),
            body='{{"label": "Hintertür {uuid8}"}}',
            headers={"Sec-Fetch-Site": "cross-site"},
        ),
        api(
            "api-origin",
            "PATCH",
            "/api/users/{login}#form",
            "/api/users/{owner}",
            cells(EVERYONE, "415"),
            body="email=mallory%40evil.example",
            headers=FORM,
        ),
        # Calendars, events and tasks in the owner's calendar.
        api("api-events", "GET", "/api/calendars", expect=SELF),
        api(
            "api-events",
            "POST",
            "/api/calendars",
            expect=cells(LIVE, "201"),
            body='{{"name": "Matrix {actor}", "color": "#336699"}}',
        ),
        api(
            "api-events",
            "PUT",
            "/api/calendars/{path:path}",
            "/api/calendars{cal}",
            cells(deny="404", reader="403", writer="403"),
            body='{{"name": "Übernommen {actor}"}}',
        ),
        api(
            "api-events",
            "DELETE",
            "/api/calendars/{path:path}",
            "/api/calendars{fresh_col}",
            cells(deny="404", reader="403", writer="403"),
            fresh="shared_calendar",
        ),
        api(
            "api-events",
            "GET",
            "/api/events",
            "/api/events?calendar={cal}&" + RANGE,
            cells(READERS, deny="404"),
        ),
        api(
            "api-events",
            "GET",
            "/api/event",
            "/api/event?calendar={cal}&href={href}",
            cells(READERS, deny="404"),
        ),
        api(
            "api-events",
            "POST",
            "/api/event",
            expect=cells(WRITERS, "201", deny="404", reader="403"),
            body=EVENT_JSON,
        ),
        api(
            "api-events",
            "PUT",
            "/api/event",
            expect=cells(WRITERS, deny="404", reader="403"),
            body='{{"calendar": "{cal}", "href": "{fresh_href}", "title": "Geändert {actor}", '
            '"start": "2041-03-22T09:00:00+00:00", "end": "2041-03-22T10:00:00+00:00"}}',
            fresh="event",
        ),
        api(
            "api-events",
            "POST",
            "/api/event/move",
            expect=cells(WRITERS, deny="404", reader="403"),
            body='{{"calendar": "{cal}", "href": "{fresh_href}", '
            '"start": "2041-03-23T09:00:00+00:00", "end": "2041-03-23T10:00:00+00:00", '
            '"old_start": "2041-03-15T09:00:00+00:00"}}',
            fresh="event",
        ),
        api(
            "api-events",
            "DELETE",
            "/api/event",
            "/api/event?calendar={cal}&href={fresh_href}",
            cells(WRITERS, deny="404", reader="403"),
            fresh="event",
        ),
        api(
            "api-events",
            "GET",
            "/api/tasks",
            "/api/tasks?calendar={cal}",
            cells(READERS, deny="404"),
        ),
        api(
            "api-events",
            "POST",
            "/api/task",
            expect=cells(WRITERS, "201", deny="404", reader="403"),
            body='{{"calendar": "{cal}", "summary": "Aufgabe {actor}"}}',
        ),
        api(
            "api-events",
            "PUT",
            "/api/task",
            expect=cells(WRITERS, deny="404", reader="403"),
            body='{{"calendar": "{cal}", "href": "{fresh_href}", "summary": "Geändert {actor}"}}',
            fresh="task",
        ),
        api(
            "api-events",
            "POST",
            "/api/task/complete",
            expect=cells(WRITERS, deny="404", reader="403"),
            body='{{"calendar": "{cal}", "href": "{fresh_href}", "completed": true}}',
            fresh="task",
        ),
        api(
            "api-events",
            "DELETE",
            "/api/task",
            "/api/task?calendar={cal}&href={fresh_href}",
            cells(WRITERS, deny="404", reader="403"),
            fresh="task",
        ),
        # Address books and contacts of the owner.
        api(
            "api-contacts",
            "GET",
            "/api/addressbooks",
            expect=SELF,
        ),
        api(
            "api-contacts",
            "GET",
            "/api/contacts",
            "/api/contacts?addressbook={book}",
            cells(READERS, deny="404"),
        ),
        api(
            "api-contacts",
            "GET",
            "/api/contact",
            "/api/contact?addressbook={book}&uid={card}",
            cells(READERS, deny="404"),
        ),
        api(
            "api-contacts",
            "POST",
            "/api/contact",
            expect=cells(WRITERS, "201", deny="404", reader="400"),
            body='{{"addressbook": "{book}", "name": "Eingeschleust {actor}"}}',
        ),
        api(
            "api-contacts",
            "PUT",
            "/api/contact",
            expect=cells(WRITERS, deny="404", reader="400"),
            body='{{"addressbook": "{book}", "uid": "{fresh_uid}", "name": "Geändert {actor}"}}',
            fresh="card",
        ),
        api(
            "api-contacts",
            "DELETE",
            "/api/contact",
            "/api/contact?addressbook={book}&uid={fresh_uid}",
            cells(WRITERS, deny="404", reader="400"),
            fresh="card",
        ),
        api(
            "api-contacts",
            "GET",
            "/api/contacts/groups",
            "/api/contacts/groups?addressbook={book}",
            cells(READERS, deny="404"),
        ),
        api(
            "api-contacts",
            "POST",
            "/api/contacts/groups",
            expect=cells(WRITERS, "201", deny="404", reader="400"),
            body='{{"addressbook": "{book}", "name": "Gruppe {actor} {uuid8}"}}',
        ),
        api(
            "api-contacts",
            "POST",
            "/api/contacts/groups/{uid}/members",
            "/api/contacts/groups/{card_group}/members",
            cells(WRITERS, deny="404", reader="400"),
            body='{{"addressbook": "{book}", "add": ["{card}"]}}',
        ),
        api(
            "api-contacts",
            "POST",
            "/api/contacts/transfer",
            expect=cells(READERS, deny="404", owner="400", app_password="400"),
            body='{{"from": "{book}", "to": "/{self}/contacts/", "uids": ["{card}"], '
            '"move": false}}',
        ),
        api(
            "api-contacts",
            "POST",
            "/api/contacts/transfer#move",
            "/api/contacts/transfer",
            cells(WRITERS, deny="404", reader="400", owner="400", app_password="400"),
            body='{{"from": "{book}", "to": "/{self}/contacts/", "uids": ["{fresh_uid}"], '
            '"move": true}}',
            fresh="card",
        ),
        api(
            "api-contacts",
            "GET",
            "/api/contacts/duplicates",
            "/api/contacts/duplicates?addressbook={book}",
            cells(READERS, deny="404"),
        ),
        api(
            "api-contacts",
            "POST",
            "/api/contacts/merge",
            expect=cells(WRITERS, deny="404", reader="400"),
            body='{{"addressbook": "{book}", "keep": "{fresh_uid}", "merge": ["{fresh_uid2}"]}}',
            fresh="card_pair",
        ),
        api("api-contacts", "GET", "/api/contacts/merges", expect=SELF),
        api(
            "api-contacts",
            "POST",
            "/api/contacts/merges/{id:int}/undo",
            "/api/contacts/merges/{fresh_id}/undo",
            cells(WRITERS, deny="404", reader="400"),
            fresh="merge",
        ),
        # Birthdays, reminders, notifications, free/busy, holidays: the caller's own.
        api("api-own", "GET", "/api/birthdays", "/api/birthdays?" + DATES, SELF),
        api("api-own", "GET", "/api/birthdays.ics", "/api/birthdays.ics?" + DATES, SELF),
        api("api-own", "GET", "/api/birthdays/settings", expect=SELF),
        api("api-own", "PUT", "/api/birthdays/settings", expect=SELF, body='{{"reminders": true}}'),
        api("api-own", "GET", "/api/reminders", expect=SELF),
        # The stop link of a reminder mail: no login, the signature is the proof; its GET
        # only shows the button (mail scanners follow links), the button's POST stops.
        api(
            "api-own",
            "GET",
            "/api/reminders/{id:int}/stop",
            "/api/reminders/{reminder_id}/stop",
            cells(EVERYONE, "404"),
        ),
        api(
            "api-own",
            "GET",
            "/api/reminders/{id:int}/stop#link",
            "/api/reminders/{fresh_id}/stop?{fresh_query}",
            cells(EVERYONE, "200"),
            fresh="reminder",
            still=True,
        ),
        api(
            "api-own",
            "POST",
            "/api/reminders/{id:int}/stop#link",
            "/api/reminders/{fresh_id}/stop",
            cells(EVERYONE, "200"),
            body="{fresh_query}",
            headers=FORM,
            fresh="reminder",
        ),
        api(
            "api-own",
            "POST",
            "/api/reminders/{id:int}/stop#forged",
            "/api/reminders/{fresh_id}/stop",
            cells(EVERYONE, "404"),
            body="sig=forged",
            headers=FORM,
            fresh="reminder",
        ),
        api(
            "api-own",
            "POST",
            "/api/reminders/{id:int}/stop",
            "/api/reminders/{reminder_id}/stop",
            cells(deny="404"),
        ),
        api("api-own", "GET", "/api/notifications", expect=SELF),
        api("api-own", "GET", "/api/notifications/stream", expect=SELF),
        api(
            "api-own",
            "POST",
            "/api/freebusy/find",
            expect=SELF,
            body='{{"attendees": ["{owner}"], "start": "2041-03-20T08:00:00+00:00", '
            '"duration_minutes": 30}}',
        ),
        api("api-own", "GET", "/api/freebusy/calendars", expect=SELF),
        api(
            "api-own",
            "PUT",
            "/api/freebusy/calendars",
            expect=cells(OWNER_SIDE, deny="400"),
            body='{{"path": "{cal}", "counts": true}}',
        ),
        api("api-own", "GET", "/api/freebusy", "/api/freebusy?user={owner}&" + RANGE, SELF),
        api("api-own", "GET", "/api/holidays", "/api/holidays?country=DE&" + DATES, SELF),
        api("api-own", "GET", "/api/holidays/countries", expect=SELF),
        api("api-own", "GET", "/api/holidays/subscriptions", expect=SELF),
        api(
            "api-own",
            "POST",
            "/api/holidays/subscriptions",
            expect=cells(LIVE, "201"),
            body='{{"country": "FR"}}',
        ),
        # Trash, import and export.
        api("api-transfer", "GET", "/api/trash", expect=SELF),
        api(
            "api-transfer",
            "POST",
            "/api/trash/{id}/restore",
            "/api/trash/{fresh_id}/restore",
            cells(deny="404"),
            fresh="trash",
        ),
        api(
            "api-transfer",
            "POST",
            "/api/trash/{id}/restore#gone",
            "/api/trash/{gone_trash_id}/restore",
            cells((), deny="404"),
        ),
        api(
            "api-transfer",
            "POST",
            "/api/import",
            "/api/import?into={cal}&kind=ics",
            cells(WRITERS, deny="400", reader="400"),
            body=EVENT,
            headers=ICS,
        ),
        api(
            "api-transfer",
            "GET",
            "/api/export",
            "/api/export?path={cal}",
            cells(READERS, deny="404"),
        ),
        api(
            "api-transfer",
            "POST",
            "/api/import-jobs",
            "/api/import-jobs?into={cal}&kind=ics",
            cells(WRITERS, "202|409", deny="400", reader="400"),
            body=EVENT,
            headers=ICS,
        ),
        api(
            "api-transfer",
            "GET",
            "/api/import-jobs/{id}",
            "/api/import-jobs/{job_id}",
            cells(("owner", "app_password"), deny="404"),
        ),
        # Push: everyone their own; a registration URL is its registrant's alone.
        api("api-push", "GET", "/api/push/key", expect=cells(LIVE, "200")),
        api("api-push", "GET", "/api/push/subscriptions", expect=cells(LIVE, "200")),
        api(
            "api-push",
            "POST",
            "/api/push/browser",
            expect=cells(LIVE, "200"),
            body=PUSH_BROWSER,
        ),
        api(
            "api-push",
            "DELETE",
            "/api/push/registrations/{token}",
            "/api/push/registrations/{fresh_token}",
            cells(OWNER_SIDE, "204", deny="404"),
            fresh="push_registration",
        ),
    ]
    return rows


# ----------------------------------------------------------------------------- web pages
WEB_SESSION = cells(LIVE, "200", deny="303", unauth="303", app_password="303")


def web_rows() -> list[Row]:
    rows = [
        Row("web", "GET", "/web", "/web", cells(EVERYONE, "301")),
        Row("web", "GET", "/web/login", "/web/login", cells(EVERYONE, "200")),
        Row("web", "GET", "/web/sw.js", "/web/sw.js", cells(EVERYONE, "200")),
        Row("web", "GET", "/web/static", "/web/static/pages/app.js", cells(EVERYONE, "200")),
        Row("web", "GET", "/web/i18n/{language}.json", "/web/i18n/de.json", cells(EVERYONE, "200")),
        Row(
            "web",
            "GET",
            "/web/manifest/{language}.webmanifest",
            "/web/manifest/it.webmanifest",
            cells(EVERYONE, "200"),
        ),
    ]
    for page in ("/web/", "/web/contacts", "/web/settings", "/web/trash"):
        rows.append(
            Row("web", "GET", page, page, WEB_SESSION)
        )
    for name, script in (
        ("fullcalendar", "index.global.min.js"),
        ("fullcalendar-locales", "locales-all.global.min.js"),
        ("luxon", "luxon.min.js"),
        ("fullcalendar-luxon3", "index.global.min.js"),
    ):
        route = f"/web/vendor/{name}"
        rows.append(Row("web", "GET", route, f"{route}/{script}", cells(EVERYONE, "200")))
    # Last: logging out ends each actor's session.
    rows.append(
        api(
            "web-logout",
            "DELETE",
            "/api/session",
            expect=cells(LIVE, "200", app_password="401"),
        )
    )
    return rows


def all_rows() -> list[Row]:
    return [*dav_rows(), *api_rows(), *web_rows()]

