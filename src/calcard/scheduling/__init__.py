"""Implicit scheduling (RFC 6638 §3.2): invitations, updates, cancellations and replies.

Called by every entry point that saves or deletes an event on a user's behalf
(the DAV storage plugin, the web API) after the item itself is stored, in the
same transaction. Internal attendees get a copy in their default calendar,
rooms answer by themselves from their free/busy, everyone else gets an iMIP
mail with signed answer links. Only the organizer's changes spread; an
attendee's save only ever reports their own participation.

Everything is bound to the organizer (find_copy): a delivery only ever writes
the attendee's copy of *that organizer's* event (same UID and ORGANIZER), an
answer only the organizer's own event, and only members of a room's
organization book the room.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import icalendar
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from calcard import accounts, freebusy, store
from calcard.core import catalogs, links, mailqueue
from calcard.core.catalogs import N_, say
from calcard.core.config import load_settings
from calcard.core.db import lock_owners
from calcard.core.errors import Kind, Refusal
from calcard.core.models import Collection, Item, Membership, Room, User
from calcard.reminders import delivery
from calcard.scheduling import itip
from calcard.store import busy, inbox, reminders

DEFAULT_CALENDAR = "calendar"


def _parse(text: str | None) -> icalendar.Calendar | None:
    if not text:
        return None
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError:
        return None
    return calendar if itip.events(calendar) else None


def owners_involved(s: Session, texts: Iterable[str | None], named: Iterable[str] = ()) -> set[str]:
    """Whose data scheduling may write when an event changes from/to ``texts``.

    The logins of the calcard users (rooms included) named as organizer or
    attendee in the texts or in ``named`` (logins or addresses). Entry points
    lock them all up front, in one order, before the write starts (see
    calcard.db.lock_owners); a superset only serializes a little more.
    """
    wanted = {itip.address(a) for a in named}
    for text in texts:
        if text:
            wanted |= itip.named_addresses(text)
    wanted -= {""}
    if not wanted:
        return set()
    return set(
        s.scalars(
            select(User.login).where(
                or_(User.login.in_(wanted), func.lower(User.email).in_(wanted))
            )
        )
    )


def _put(
    s: Session, collection: store.CollectionData, href: str, text: str, actor: str
) -> store.ItemData:
    lock_owners(s, [collection.owner])
    stored, _ = store.put_item(s, collection, store.ItemData.from_text(href, text), actor=actor)
    return stored


def store_text(
    s: Session, collection: store.CollectionData, item: store.ItemData, text: str
) -> store.ItemData:
    """Save the organizer's amended copy (answers, SCHEDULE-STATUS) in place."""
    return _put(s, collection, item.href, text, collection.owner)


# RFC 6638 §3.2.9 / RFC 5546 §3.6: "3.8" no authority (insufficient privileges): the
# attendee already holds an item with this UID that this organizer did not organize,
# or the room belongs to an organization the organizer is no member of.
NO_AUTHORITY = "3.8"
DELIVERED = "1.2"


@dataclass(frozen=True)
class Copy:
    """A calendar user's stored item of one organizer's event."""

    collection: store.CollectionData
    item: store.ItemData


def organized_by(text: str, organizer: set[str]) -> bool:
    """Whether the event's ORGANIZER is one of ``organizer``'s addresses (case-blind)."""
    calendar = _parse(text)
    found = itip.address(itip.events(calendar)[0].get("ORGANIZER")) if calendar else ""
    return bool(found) and found in organizer


def _with_uid(s: Session, login: str, uid: str) -> list[Copy]:
    """Every live item with this UID in the user's calendars."""
    rows = s.execute(
        select(Collection.path, Item.href)
        .join(Item, Item.collection_id == Collection.id)
        .where(
            Collection.owner == login,
            Collection.deleted_at.is_(None),
            Collection.tag == "VCALENDAR",
            Item.uid == uid,
            Item.uid != "",  # uq_items_live_uid's condition: SQLite uses it only so
            Item.deleted_at.is_(None),
        )
        .order_by(Collection.path, Item.href)
    ).all()
    found = []
    for row in rows:
        collection = store.get_collection(s, row.path)
        item = store.get_item(s, collection.id, row.href) if collection else None
        if collection and item:
            found.append(Copy(collection, item))
    return found


def find_copy(s: Session, login: str, uid: str, organizer: set[str]) -> tuple[Copy | None, bool]:
    """The user's copy of *this organizer's* event, and whether the UID is taken otherwise.

    Scheduling is bound to the organizer (RFC 6638 §3.2.2: the organizer's changes
    update the attendee's copy of the organizer's event): an item with the same
    UID whose ORGANIZER is not one of ``organizer``'s addresses (the user's own
    event, another organizer's invitation) is never the copy, so it is never
    overwritten, cancelled or answered on; the second value says such an item
    exists, so that a new copy must not be made either.
    """
    found = _with_uid(s, login, uid)
    mine = next((c for c in found if organized_by(c.item.text, organizer)), None)
    return mine, mine is None and bool(found)


def on_save(
    s: Session,
    owner: str,
    collection: store.CollectionData,
    href: str,
    old_text: str | None,
    new_text: str,
    base_url: str | None = None,
) -> str | None:
    """Schedule after a save; returns the organizer's updated text when it changed.

    ``base_url`` (for answer links) defaults to the settings' ``link_url``.
    """
    base_url = base_url or load_settings().link_url
    calendar = _parse(new_text)
    if calendar is None or collection.tag != "VCALENDAR":
        return None
    organizer = itip.address(itip.events(calendar)[0].get("ORGANIZER"))
    mine = reminders.owner_addresses(s, owner)
    if organizer and organizer in mine:
        return _as_organizer(s, owner, mine, collection, href, _parse(old_text), calendar, base_url)
    me = next((a for a in itip.attendee_addresses(calendar) if a in mine), None)
    if organizer and me:
        _as_attendee(s, owner, me, organizer, _parse(old_text), calendar)
    return None


def on_delete(s: Session, owner: str, old_text: str) -> None:
    """An organizer's delete cancels; an attendee's delete declines."""
    calendar = _parse(old_text)
    if calendar is None:
        return
    organizer = itip.address(itip.events(calendar)[0].get("ORGANIZER"))
    mine = reminders.owner_addresses(s, owner)
    if organizer and organizer in mine:
        for attendee in itip.attendee_addresses(calendar) - mine:
            _cancel(s, owner, mine, attendee, calendar)
        return
    me = next((a for a in itip.attendee_addresses(calendar) if a in mine), None)
    if organizer and me:
        itip.set_partstat(calendar, me, "DECLINED")
        _reply(s, owner, me, organizer, calendar)


def _as_organizer(
    s: Session,
    owner: str,
    mine: set[str],
    collection: store.CollectionData,
    href: str,
    old: icalendar.Calendar | None,
    new: icalendar.Calendar,
    base_url: str,
) -> str | None:
    attendees = itip.attendee_addresses(new) - mine
    before = (itip.attendee_addresses(old) - mine) if old is not None else set()
    reset = old is not None and itip.significant(old, new)
    cancelled = str(itip.events(new)[0].get("STATUS", "")).upper() == "CANCELLED"
    changed = old is None or itip.content_changed(old, new)
    for gone in before - attendees:
        _cancel(s, owner, mine, gone, old)  # type: ignore[arg-type]  # before: old is set
    if reset:
        for attendee in attendees:
            itip.set_partstat(new, attendee, "NEEDS-ACTION")
    for attendee in sorted(attendees):
        if cancelled:
            if changed and _cancel(s, owner, mine, attendee, new) == NO_AUTHORITY:
                _refused(new, attendee)
            continue
        user = freebusy.resolve(s, attendee)
        room = user is not None and s.scalar(select(Room.id).where(Room.user_id == user.id))
        if room:  # so user is set
            answer, status = _book_room(s, owner, mine, user, new)  # type: ignore[arg-type]
            itip.set_partstat(new, attendee, answer, status)
            if reset or old is None or itip.partstat_of(old, attendee) != answer:
                inbox.deliver(s, owner, itip.message(new, "REPLY", only=attendee))
        elif user is not None:
            status = DELIVERED
            if changed or attendee not in before:
                status = _deliver_internal(s, owner, mine, user, attendee, new, reset)
            if status == NO_AUTHORITY:
                _refused(new, attendee)
            else:
                itip.set_partstat(
                    new, attendee, itip.partstat_of(new, attendee) or "NEEDS-ACTION", status
                )
        elif changed or attendee not in before:
            _mail_external(
                s, owner, attendee, new, collection, href, base_url, updated=old is not None
            )
            itip.set_partstat(
                new, attendee, itip.partstat_of(new, attendee) or "NEEDS-ACTION", "1.1"
            )
    text = new.to_ical().decode()
    return text


def _refused(calendar: icalendar.Calendar, attendee: str) -> None:
    """Record on the organizer's copy that a delivery was refused (RFC 6638 §3.2.9)."""
    itip.set_partstat(
        calendar, attendee, itip.partstat_of(calendar, attendee) or "NEEDS-ACTION", NO_AUTHORITY
    )


def _free_href(s: Session, collection: store.CollectionData, uid: str) -> str:
    """Where a new copy goes: never onto an href the user already uses for something else."""
    return store.free_href(s, collection.id, uid, ".ics")


def _deliver_internal(
    s: Session,
    organizer: str,
    mine: set[str],
    user: User,
    me: str,
    calendar: icalendar.Calendar,
    reset: bool,
) -> str:
    """Create or update the attendee's copy of the organizer's event; its SCHEDULE-STATUS.

    A UID the attendee already uses for anything else is refused (NO_AUTHORITY) and
    nothing of the attendee's changes.
    """
    uid = str(itip.events(calendar)[0]["UID"])
    existing, collides = find_copy(s, user.login, uid, mine)
    if collides:
        return NO_AUTHORITY
    previous = _parse(existing.item.text) if existing else None
    text = itip.attendee_copy(calendar, previous, me, reset)
    if existing:
        _put(s, existing.collection, existing.item.href, text, organizer)
    else:
        target = store.get_collection(s, f"{user.login}/{DEFAULT_CALENDAR}")
        if target is None:
            return "5.1"  # RFC 6638 §3.2.9: could not be delivered
        _put(s, target, _free_href(s, target, uid), text, organizer)
    inbox.deliver(s, user.login, itip.message(calendar, "REQUEST"))
    language = accounts.language(s, user.login)
    title, _ = itip.summary_lines(calendar, language)
    delivery.notify_browser(
        s,
        user.login,
        None,
        say(language, "Invitation: {title}", title=title),
        say(language, "From {organizer}; answer in your calendar.", organizer=organizer),
    )
    return DELIVERED


def may_book(s: Session, organizer: str, room: User) -> bool:
    """Members of the room's organization book its rooms; externals and outsiders do not.

    A room is the organization's resource: its guests (role "external") are
    invited to meetings a colleague books, like visitors at a front desk.
    """
    role = s.scalar(
        select(Membership.role)
        .join(User, User.id == Membership.user_id)
        .join(Room, Room.org_id == Membership.org_id)
        .where(User.login == organizer, Room.user_id == room.id)
    )
    return role is not None and role != "external"


def _book_room(
    s: Session, organizer: str, mine: set[str], room: User, calendar: icalendar.Calendar
) -> tuple[str, str]:
    """Accept when free, decline when busy; one booking at a time per room.

    Returns the room's answer and SCHEDULE-STATUS. A booking is the room's copy of
    one organizer's event (find_copy): only its organizer changes or cancels it;
    an organizer outside the room's organization, or a UID the room holds for
    someone else, gets DECLINED with NO_AUTHORITY and nothing is stored.
    """
    lock_owners(s, [room.login])
    uid = str(itip.events(calendar)[0]["UID"])
    existing, collides = find_copy(s, room.login, uid, mine)
    if collides or not may_book(s, organizer, room):
        return "DECLINED", NO_AUTHORITY
    target = (
        existing.collection
        if existing
        else store.get_collection(s, f"{room.login}/{DEFAULT_CALENDAR}")
    )
    if target is None:
        return "DECLINED", "5.1"
    href = existing.item.href if existing else _free_href(s, target, uid)
    zone = busy.user_zone(s, room.login)
    now = datetime.now(zone)
    wanted = busy.occurrence_periods(
        calendar.to_ical().decode(), now - busy.WINDOW_BEFORE, now + busy.WINDOW_AFTER, zone
    )
    taken = [
        (a, b)
        for a, b, _ in freebusy.busy_periods(
            s, room.login, now - busy.WINDOW_BEFORE, now + busy.WINDOW_AFTER, except_href=href
        )
    ]
    clash = any(a < d and c < b for a, b, _ in wanted for c, d in taken)
    answer = "DECLINED" if clash else "ACCEPTED"
    if clash:
        if existing:
            store.delete_item(s, existing.collection, existing.item.href, actor=organizer)
        return answer, DELIVERED
    copy_text = itip.attendee_copy(calendar, None, room.email.lower(), reset=True)
    room_calendar = icalendar.Calendar.from_ical(copy_text)
    itip.set_partstat(room_calendar, room.email.lower(), answer)
    itip.set_partstat(room_calendar, room.login, answer)
    _put(s, target, href, room_calendar.to_ical().decode(), organizer)
    return answer, DELIVERED


def _cancel(
    s: Session, organizer: str, mine: set[str], attendee: str, calendar: icalendar.Calendar
) -> str | None:
    """Mark the attendee's copy of the organizer's event cancelled (or mail outside).

    Returns NO_AUTHORITY when the attendee's item with this UID is not this
    organizer's event: it is left untouched.
    """
    user = freebusy.resolve(s, attendee)
    uid = str(itip.events(calendar)[0]["UID"])
    if user is None:
        _queue_mail(s, organizer, attendee, calendar, "CANCEL")
        return None
    existing, collides = find_copy(s, user.login, uid, mine)
    if existing is None:
        return NO_AUTHORITY if collides else None
    copy_calendar = icalendar.Calendar.from_ical(existing.item.text)
    for event in itip.events(copy_calendar):
        event["STATUS"] = "CANCELLED"
    _put(s, existing.collection, existing.item.href, copy_calendar.to_ical().decode(), organizer)
    inbox.deliver(s, user.login, itip.message(calendar, "CANCEL"))
    return DELIVERED


def _as_attendee(
    s: Session,
    owner: str,
    me: str,
    organizer: str,
    old: icalendar.Calendar | None,
    new: icalendar.Calendar,
) -> None:
    answer = itip.partstat_of(new, me)
    if answer is None or (old is not None and itip.partstat_of(old, me) == answer):
        return
    _reply(s, owner, me, organizer, new)


def _reply(s: Session, owner: str, me: str, organizer: str, calendar: icalendar.Calendar) -> None:
    """Carry an attendee's answer to the organizer (their copy, or an iMIP REPLY)."""
    answer = itip.partstat_of(calendar, me) or "NEEDS-ACTION"
    user = freebusy.resolve(s, organizer)
    if user is None:
        _queue_mail(s, owner, organizer, calendar, "REPLY", only=me)
        return
    apply_answer(s, user.login, str(itip.events(calendar)[0]["UID"]), me, answer, actor=owner)


def apply_answer(
    s: Session,
    organizer: str,
    uid: str,
    attendee: str,
    answer: str,
    actor: str,
    at: Copy | None = None,
) -> bool:
    """Record an attendee's answer on the organizer's copy; False if they are no attendee.

    Only the organizer's own event (its ORGANIZER is one of theirs, RFC 6638
    §3.2.2.3, §5546 §3.2.3) and only ``attendee``'s PARTSTAT change: an item of
    the organizer's with this UID organized by someone else is no answer's target.
    ``at`` names the item when the caller knows it (a signed answer link).
    """
    addresses = reminders.owner_addresses(s, organizer)
    found = at if at is not None else find_copy(s, organizer, uid, addresses)[0]
    if found is None or not organized_by(found.item.text, addresses):
        return False
    calendar = icalendar.Calendar.from_ical(found.item.text)
    if not itip.set_partstat(calendar, attendee, answer, "2.0"):
        return False
    _put(s, found.collection, found.item.href, calendar.to_ical().decode(), actor)
    inbox.deliver(s, organizer, itip.message(calendar, "REPLY", only=attendee))
    language = accounts.language(s, organizer)
    title, _ = itip.summary_lines(calendar, language)
    delivery.notify_browser(
        s, organizer, None, itip.replied(language, attendee, answer, title), title
    )
    return True


def mail_language(s: Session, sender: str, recipient: str) -> str:
    """A mail's language: the recipient's when the address is a calcard user's, else
    the sender's (CONTRACT.md "Languages")."""
    user = freebusy.resolve(s, recipient)
    return accounts.language(s, user.login if user is not None else sender)


def _queue_mail(
    s: Session,
    organizer: str,
    recipient: str,
    calendar: icalendar.Calendar,
    method: str,
    only: str | None = None,
    link: str = "",
    updated: bool = False,
) -> None:
    """Queue one iMIP mail (RFC 6047) from ``organizer`` (the sender) in the mail's
    language; ``link`` is an external attendee's answer link."""
    language = mail_language(s, organizer, recipient)
    title, lines = itip.summary_lines(calendar, language)
    if method == "REPLY":
        answer = itip.partstat_of(calendar, only or "") or ""
        head = itip.replied(language, only or "", answer, title)
    else:
        head = say(language, itip.HEADS["UPDATE" if updated else method], title=title)
    lines.append(say(language, "From: {organizer}", organizer=organizer))
    text_extra = html_extra = ""
    if link:
        text_extra = say(language, "Answer: {link}", link=link)
        label = say(language, "Answer")
        html_extra = f'<p><a href="{_escape(link)}">{_escape(label)}</a></p>'
    text = "\n".join([head, *lines, text_extra])
    html = (
        f"<h2>{_escape(head)}</h2>"
        + "".join(f"<p>{_escape(line)}</p>" for line in lines)
        + html_extra
    )
    mailqueue.enqueue(
        s,
        organizer,
        recipient,
        head,
        text,
        html,
        itip.message(calendar, method, only=only),
        method,
    )


def _escape(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def rsvp_purpose(collection_id: int, href: str, attendee: str, expires: int) -> str:
    return f"rsvp:{collection_id}:{href}:{attendee}:{expires}"


def _mail_external(
    s: Session,
    organizer: str,
    attendee: str,
    calendar: icalendar.Calendar,
    collection: store.CollectionData,
    href: str,
    base_url: str,
    updated: bool,
) -> None:
    expires = int(itip.last_end(calendar, datetime.now().astimezone()).timestamp())
    params = {
        "c": collection.id,
        "h": href,
        "a": attendee,
        "e": expires,
        "sig": links.sign(s, rsvp_purpose(collection.id, href, attendee, expires)),
    }
    link = f"{base_url.rstrip('/')}/api/rsvp?{urlencode(params)}"
    _queue_mail(s, organizer, attendee, calendar, "REQUEST", link=link, updated=updated)


def link_owner(s: Session, params: dict[str, str]) -> str | None:
    """Whose calendar an answer link writes to (to lock before the write), if any."""
    try:
        row = s.get(Collection, int(params.get("c", "")))
    except ValueError:
        return None
    return row.owner if row else None


class LinkRefused(Refusal):
    """An answer link that cannot be used (forbidden); ``reason`` (English, marked
    with N_) is said in ``language``, which the answer page speaks."""

    def __init__(self, reason: str, language: str = "en") -> None:
        super().__init__(say(language, reason), Kind.FORBIDDEN)
        self.language = language


@dataclass(frozen=True)
class LinkedEvent:
    """The organizer's event behind a verified, unexpired answer link."""

    collection: store.CollectionData
    item: store.ItemData
    calendar: icalendar.Calendar
    attendee: str
    language: str  # the visitor's browser's, else the organizer's (the invitation mail's)

    @property
    def title_and_lines(self) -> tuple[str, list[str]]:
        return itip.summary_lines(self.calendar, self.language)

    @property
    def organizer(self) -> str:
        """How the attendee knows the organizer: the event's ORGANIZER address."""
        found = itip.address(itip.events(self.calendar)[0].get("ORGANIZER"))
        return found or self.collection.owner


def open_link(
    s: Session, params: dict[str, str], now: datetime, accept_language: str | None = None
) -> LinkedEvent:
    """Check an answer link's signature and expiry; raises LinkRefused. The page speaks
    the visitor's ``Accept-Language``, else the organizer's language (the mail's)."""
    language = catalogs.choose(None, accept_language)
    try:
        collection_id, href, attendee = int(params["c"]), params["h"], params["a"].lower()
        expires = int(params["e"])
    except (KeyError, ValueError) as exc:
        raise LinkRefused(N_("This answer link is incomplete."), language) from exc
    if not links.verify(
        s, rsvp_purpose(collection_id, href, attendee, expires), params.get("sig", "")
    ):
        raise LinkRefused(N_("This answer link is not valid."), language)
    row = s.get(Collection, collection_id)
    if row is not None:
        language = catalogs.choose(None, accept_language, accounts.language(s, row.owner))
    if now.timestamp() > expires:
        raise LinkRefused(N_("This event is over; the link has expired."), language)
    collection = store.get_collection(s, row.path) if row else None
    item = store.get_item(s, collection.id, href) if collection else None
    calendar = _parse(item.text) if item else None
    if collection is None or calendar is None:
        raise LinkRefused(N_("This event no longer exists."), language)
    # a calendar was parsed, so there is an item
    return LinkedEvent(collection, item, calendar, attendee, language)  # type: ignore[arg-type]


def answer_link(
    s: Session,
    params: dict[str, str],
    answer: str,
    now: datetime,
    accept_language: str | None = None,
) -> LinkedEvent:
    """Apply an answer from a signed link and tell the organizer (in the organizer's
    language: the mail goes to them); raises LinkRefused."""
    event = open_link(s, params, now, accept_language)
    if answer not in itip.PARTSTATS:
        raise LinkRefused(N_("Unknown answer."), event.language)
    organizer = event.collection.owner
    uid = str(itip.events(event.calendar)[0]["UID"])
    at = Copy(event.collection, event.item)
    if not apply_answer(s, organizer, uid, event.attendee, answer, event.attendee, at):
        raise LinkRefused(N_("You are not invited to this event."), event.language)
    organizer_email = s.scalar(select(User.email).where(User.login == organizer))
    if organizer_email:
        language = accounts.language(s, organizer)
        title, _ = itip.summary_lines(event.calendar, language)
        summary = itip.replied(language, event.attendee, answer, title)
        mailqueue.enqueue(s, organizer, organizer_email, summary, summary)
    return event
