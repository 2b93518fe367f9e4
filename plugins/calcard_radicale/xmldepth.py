"""How deep a request's XML nests, found before anything builds a tree of it.

No DAV request body nests deeply (a calendar-query filter, RFC 4791 §9.7, is
about seven levels), but Radicale walks parsed bodies recursively: a PROPFIND
of 50,000 nested elements exhausted the stack (RecursionError, a 500). A body
deeper than MAX_DEPTH is refused with 400 instead.
"""

from __future__ import annotations

from xml.parsers import expat

MAX_DEPTH = 64


class _TooDeep(Exception):
    pass


class _Stop(Exception):
    pass


def too_deep(body: bytes | str) -> bool:
    """Whether ``body`` opens more than MAX_DEPTH nested elements.

    A streaming scan that stops at the first element too deep (no tree is built).
    Malformed XML or a DTD with entities stops the scan: the parser that reads the
    body next refuses those with its own 400.
    """
    parser = expat.ParserCreate()
    depth = 0

    def start(name, attributes) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise _TooDeep

    def end(name) -> None:
        nonlocal depth
        depth -= 1

    def entity(*args) -> None:
        raise _Stop

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.EntityDeclHandler = entity
    try:
        parser.Parse(body, True)
    except _TooDeep:
        return True
    except (_Stop, expat.ExpatError, ValueError):
        pass
    return False
