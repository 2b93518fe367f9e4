"""Attachments as links (``ATTACH;VALUE=URI``) in the web calendar's forms.

Only http and https links are accepted and shown: a ``javascript:`` or
``data:`` URL in a link someone clicks would run in the calendar's page.
Attachments the form does not edit (inline binary ones, other URI schemes that
DAV clients wrote) are kept as they are.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from calcard.core.catalogs import N_
from calcard.core.errors import Refusal

MAX_LINKS = 20
MAX_LENGTH = 2000
SCHEMES = ("http", "https")


def checked_link(value: object) -> str:
    """An http(s) URL with a host and no spaces or control characters, or a Refusal."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if (
        not text
        or len(text) > MAX_LENGTH
        or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text)
        or parts is None
        or parts.scheme.lower() not in SCHEMES
        or not parts.hostname
    ):
        raise Refusal(
            N_("attachments must be http or https links, not {value!r}"),
            values={"value": str(value)[:80]},
        )
    return text


def checked_links(values: object) -> tuple[str, ...]:
    if values is None:
        return ()
    if not isinstance(values, list) or len(values) > MAX_LINKS:
        raise Refusal(
            N_("attachments must be a list of at most {limit} links"),
            values={"limit": MAX_LINKS},
        )
    return tuple(dict.fromkeys(checked_link(v) for v in values))


def _attaches(component) -> list:
    found = component.get("ATTACH", [])
    return found if isinstance(found, list) else [found]


def _is_web_link(attach) -> bool:
    params = getattr(attach, "params", {})
    if params.get("VALUE", "URI").upper() != "URI" or "ENCODING" in params:
        return False
    try:
        checked_link(str(attach))
    except Refusal:
        return False
    return True


def web_links(component) -> list[str]:
    """The component's http(s) attachments, the ones the form shows and edits."""
    return [str(a) for a in _attaches(component) if _is_web_link(a)]


def set_web_links(component, links: tuple[str, ...]) -> None:
    """Replace the http(s) attachments with ``links``, keeping every other ATTACH."""
    kept = [a for a in _attaches(component) if not _is_web_link(a)]
    component.pop("ATTACH", None)
    for attach in kept:
        component.add("ATTACH", attach, encode=False)
    for link in links:
        component.add("ATTACH", link, parameters={"VALUE": "URI"})
