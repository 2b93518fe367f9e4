"""Schedule tags (RFC 6638 §3.2.10): an attendee's PARTSTAT answer must not overwrite
the organizer's concurrent change.

A scheduling object resource (a calendar object with an ORGANIZER, §3.1) has a
Schedule-Tag that, unlike its ETag, stays the same when only attendee answers
change: an attendee updating their own PARTSTAT (or their alarms or free/busy
transparency, which are theirs), or the server recording a REPLY in the
organizer's copy. Any other change, above all the organizer's, gives a new tag,
so a client that sends ``If-Schedule-Tag-Match`` with the tag it read is refused
(412) when the organizer changed the meeting meanwhile, and accepted when only
answers came in.

The tag is a digest of the object with those parts left out, so it needs no
storage: every node computes the same tag from the same text.
"""

from __future__ import annotations

import hashlib

from icalendar.parser import Contentline

# Parameters of ATTENDEE that answers and deliveries change (RFC 5545 §3.2.12, §3.2.17;
# RFC 6638 §7.3 SCHEDULE-STATUS), and properties that are the attendee's or the
# client's own: stamps, transparency (RFC 5545 §3.8.2.7), private X- properties. And
# SEQUENCE: the organizer raises it with a significant change (RFC 5546 §2.1.4: start,
# end, recurrence, ...), which changes the tag by itself; an attendee's client that
# raises it with its answer (python-caldav's save does) must keep the tag.
ANSWER_PARAMETERS = frozenset({"PARTSTAT", "RSVP", "SCHEDULE-STATUS"})
IGNORED = frozenset({"DTSTAMP", "LAST-MODIFIED", "TRANSP", "SEQUENCE"})


def schedule_tag(text: str) -> str | None:
    """The object's Schedule-Tag as a quoted string, or None when it is no scheduling
    object resource (no ORGANIZER: RFC 6638 §3.2.10 defines no tag for it)."""
    lines = _unfolded(text)
    if not any(_name(line) == "ORGANIZER" for line in lines):
        return None
    digest = hashlib.sha256(_canonical(lines).encode()).hexdigest()[:32]
    return f'"{digest}"'


def _unfolded(text: str) -> list[str]:
    """Content lines with folding undone (RFC 5545 §3.1)."""
    text = text.replace("\r\n", "\n").replace("\n ", "").replace("\n\t", "")
    return [line for line in text.split("\n") if line]


def _name(line: str) -> str:
    return line.split(":", 1)[0].split(";", 1)[0].upper()


def _canonical(lines: list[str]) -> str:
    """The lines that make the meeting, in an order no serializer changes: each
    component's properties and subcomponents sorted (their order carries no meaning,
    RFC 5545 §3.6), alarms, ignored properties and answer parameters left out."""
    stack: list[list[str]] = [[]]
    for line in lines:
        name, upper = _name(line), line.upper()
        if upper.startswith("BEGIN:"):
            stack.append([upper])
        elif upper.startswith("END:") and len(stack) > 1:
            block = stack.pop()
            if block[0] != "BEGIN:VALARM":
                stack[-1].append("\n".join([block[0], *sorted(block[1:]), upper]))
        elif name not in IGNORED and not name.startswith("X-"):
            stack[-1].append(_parameters_canonical(line, name == "ATTENDEE"))
    return "\n".join(sorted(stack[0]))


def _parameters_canonical(line: str, attendee: bool) -> str:
    """A line with its parameters unquoted and in a stable order (``CN="A B"`` and
    ``CN=A B`` are one value, RFC 5545 §3.2), an ATTENDEE's without its answer."""
    if ";" not in line.split(":", 1)[0]:
        return line
    try:
        name, params, value = Contentline(line).parts()
    except ValueError:
        return line
    dropped = ANSWER_PARAMETERS if attendee else frozenset()
    kept = sorted((key.upper(), str(params[key])) for key in params if key.upper() not in dropped)
    return f"{name};{';'.join(f'{k}={v}' for k, v in kept)}:{value}"
