"""iTIP (RFC 5546) objects and iMIP (RFC 6047) wording for calcard's scheduling.

Builds the METHOD:REQUEST / CANCEL / REPLY calendars sent to attendees and
organizers, and the wording, in the organizer's language, of the mails and of
the answer page their links open.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime

import icalendar

from calcard.core import times

PARTSTATS = ("ACCEPTED", "DECLINED", "TENTATIVE")
# Properties whose change makes attendees answer again (RFC 5546 §2.1.4, §3.2.2.1).
SIGNIFICANT = ("DTSTART", "DTEND", "DURATION", "DUE", "RRULE", "RDATE", "EXDATE", "LOCATION")
# The organizer's bookkeeping, never part of an iTIP message (RFC 6638 §7.3).
SCHEDULING_PARAMS = ("SCHEDULE-AGENT", "SCHEDULE-FORCE-SEND", "SCHEDULE-STATUS")
WORDS = {
    "en": {
        "invite": "Invitation",
        "update": "Updated invitation",
        "cancel": "Cancelled",
        "when": "When",
        "where": "Where",
        "from": "From",
        "ACCEPTED": "accepted",
        "DECLINED": "declined",
        "TENTATIVE": "tentatively accepted",
        "answer": "Answer",
        "replied": "{who} has {answer}: {title}",
        "your_answer": "Your answer",
        "accept": "Accept",
        "maybe": "Maybe",
        "decline": "Decline",
        "thanks": "Thank you",
        "answered": "You have {answer} “{title}”; {organizer} is told.",
        "not_recorded": "Answer not recorded",
        "link_incomplete": "This answer link is incomplete.",
        "link_invalid": "This answer link is not valid.",
        "link_expired": "This event is over; the link has expired.",
        "unknown_answer": "Unknown answer.",
        "event_gone": "This event no longer exists.",
        "not_invited": "You are not invited to this event.",
    },
    "de": {
        "invite": "Einladung",
        "update": "Geänderte Einladung",
        "cancel": "Abgesagt",
        "when": "Wann",
        "where": "Wo",
        "from": "Von",
        "ACCEPTED": "zugesagt",
        "DECLINED": "abgesagt",
        "TENTATIVE": "vorläufig zugesagt",
        "answer": "Antworten",
        "replied": "{who} hat {answer}: {title}",
        "your_answer": "Ihre Antwort",
        "accept": "Zusagen",
        "maybe": "Vielleicht",
        "decline": "Absagen",
        "thanks": "Vielen Dank",
        "answered": "Sie haben {answer}: „{title}“; {organizer} wird benachrichtigt.",
        "not_recorded": "Antwort nicht gespeichert",
        "link_incomplete": "Dieser Antwort-Link ist unvollständig.",
        "link_invalid": "Dieser Antwort-Link ist ungültig.",
        "link_expired": "Dieser Termin ist vorbei; der Link ist abgelaufen.",
        "unknown_answer": "Unbekannte Antwort.",
        "event_gone": "Diesen Termin gibt es nicht mehr.",
        "not_invited": "Sie sind zu diesem Termin nicht eingeladen.",
    },
    "fr": {
        "invite": "Invitation",
        "update": "Invitation modifiée",
        "cancel": "Annulé",
        "when": "Quand",
        "where": "Où",
        "from": "De",
        "ACCEPTED": "accepté",
        "DECLINED": "refusé",
        "TENTATIVE": "accepté provisoirement",
        "answer": "Répondre",
        "replied": "{who} a {answer} : {title}",
        "your_answer": "Votre réponse",
        "accept": "Accepter",
        "maybe": "Peut-être",
        "decline": "Refuser",
        "thanks": "Merci",
        "answered": "Vous avez {answer} « {title} » ; {organizer} en est informé.",
        "not_recorded": "Réponse non enregistrée",
        "link_incomplete": "Ce lien de réponse est incomplet.",
        "link_invalid": "Ce lien de réponse n’est pas valide.",
        "link_expired": "Cet événement est passé ; le lien a expiré.",
        "unknown_answer": "Réponse inconnue.",
        "event_gone": "Cet événement n’existe plus.",
        "not_invited": "Vous n’êtes pas invité à cet événement.",
    },
    "it": {
        "invite": "Invito",
        "update": "Invito modificato",
        "cancel": "Annullato",
        "when": "Quando",
        "where": "Dove",
        "from": "Da",
        "ACCEPTED": "accettato",
        "DECLINED": "rifiutato",
        "TENTATIVE": "accettato con riserva",
        "answer": "Rispondi",
        "replied": "{who} ha {answer}: {title}",
        "your_answer": "La tua risposta",
        "accept": "Accetta",
        "maybe": "Forse",
        "decline": "Rifiuta",
        "thanks": "Grazie",
        "answered": "Hai {answer} «{title}»; {organizer} viene avvisato.",
        "not_recorded": "Risposta non registrata",
        "link_incomplete": "Questo link di risposta è incompleto.",
        "link_invalid": "Questo link di risposta non è valido.",
        "link_expired": "Questo evento è terminato; il link è scaduto.",
        "unknown_answer": "Risposta sconosciuta.",
        "event_gone": "Questo evento non esiste più.",
        "not_invited": "Non sei invitato a questo evento.",
    },
}


def language_of(language: str | None) -> str:
    """The supported language closest to ``language`` (English when none is)."""
    code = (language or "en")[:2].lower()
    return code if code in WORDS else "en"


def words(language: str | None) -> dict[str, str]:
    """Mail and answer-page wording in ``language``."""
    return WORDS[language_of(language)]


def address(value: object) -> str:
    """A calendar user address, compared without 'mailto:' and case."""
    return str(value or "").strip().lower().removeprefix("mailto:")


def events(calendar: icalendar.Calendar) -> list:
    return [c for c in calendar.subcomponents if c.name == "VEVENT"]


def attendees(component) -> list:
    found = component.get("ATTENDEE", [])
    return found if isinstance(found, list) else [found]


def attendee_addresses(calendar: icalendar.Calendar) -> set[str]:
    return {address(a) for event in events(calendar) for a in attendees(event)}


def named_addresses(text: str) -> set[str]:
    """The ORGANIZER and ATTENDEE addresses of an iCalendar text, found without parsing it.

    Cheap enough to run before a write transaction starts, to know whose
    calendars scheduling may touch (see scheduling.owners_involved).
    """
    found = set()
    for line in re.sub(r"\r?\n[ \t]", "", text).splitlines():
        name = re.split(r"[;:]", line, maxsplit=1)[0].strip().upper()
        if name in ("ORGANIZER", "ATTENDEE"):
            value = re.sub(r'"[^"]*"', "", line).split(":", 1)
            if len(value) == 2:
                found.add(address(value[1]))
    return found - {""}


def significant(old: icalendar.Calendar, new: icalendar.Calendar) -> bool:
    def key(calendar):
        return sorted(
            (
                str(e.get("RECURRENCE-ID", "")),
                name,
                e.get(name).to_ical() if hasattr(e.get(name), "to_ical") else str(e.get(name)),
            )
            for e in events(calendar)
            for name in SIGNIFICANT
            if e.get(name) is not None
        )

    return key(old) != key(new)


def content_changed(old: icalendar.Calendar, new: icalendar.Calendar) -> bool:
    """Anything attendees would see, ignoring stamps and answers."""
    ignored = {"DTSTAMP", "LAST-MODIFIED", "SEQUENCE", "ATTENDEE", "CREATED"}

    def key(calendar):
        return sorted(
            (str(e.get("RECURRENCE-ID", "")), name, str(value))
            for e in events(calendar)
            for name, value in e.property_items(recursive=False)
            if name not in ignored and name not in ("BEGIN", "END")
        ) + sorted(attendee_addresses(calendar))

    return key(old) != key(new)


def message(calendar: icalendar.Calendar, method: str, only: str | None = None) -> str:
    """A copy of the event as an iTIP message; REPLY keeps only the answering attendee."""
    out = icalendar.Calendar()
    out.add("VERSION", "2.0")
    out.add("PRODID", "-//calcard//scheduling//EN")
    out.add("METHOD", method)
    for component in calendar.subcomponents:
        if component.name == "VTIMEZONE":
            out.add_component(component)
        elif component.name == "VEVENT":
            event = copy.deepcopy(component)
            event.subcomponents = [c for c in event.subcomponents if c.name != "VALARM"]
            if method == "CANCEL":
                event["STATUS"] = "CANCELLED"
            if only is not None:
                keep = [a for a in attendees(event) if address(a) == only]
                event.pop("ATTENDEE", None)
                for attendee in keep:
                    event.add("ATTENDEE", attendee)
            for person in [*attendees(event), event.get("ORGANIZER")]:
                for name in SCHEDULING_PARAMS:
                    getattr(person, "params", {}).pop(name, None)
            out.add_component(event)
    return out.to_ical().decode()


def attendee_copy(
    calendar: icalendar.Calendar, previous: icalendar.Calendar | None, me: str, reset: bool
) -> str:
    """The organizer's event as an attendee keeps it: no organizer alarms, own answer kept."""
    mine = None
    if previous is not None and not reset:
        for event in events(previous):
            for attendee in attendees(event):
                if address(attendee) == me:
                    mine = attendee.params.get("PARTSTAT")
    out = icalendar.Calendar.from_ical(message(calendar, "REQUEST"))
    out.pop("METHOD", None)
    for event in events(out):
        for attendee in attendees(event):
            if address(attendee) == me:
                attendee.params["PARTSTAT"] = mine or "NEEDS-ACTION"
    return out.to_ical().decode()


def set_partstat(
    calendar: icalendar.Calendar, who: str, partstat: str, schedule_status: str | None = None
) -> bool:
    changed = False
    for event in events(calendar):
        for attendee in attendees(event):
            if address(attendee) == who:
                attendee.params["PARTSTAT"] = partstat
                if schedule_status:
                    attendee.params["SCHEDULE-STATUS"] = schedule_status
                changed = True
    return changed


def partstat_of(calendar: icalendar.Calendar, who: str) -> str | None:
    for event in events(calendar):
        for attendee in attendees(event):
            if address(attendee) == who:
                return str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
    return None


def summary_lines(calendar: icalendar.Calendar, language: str) -> tuple[str, list[str]]:
    """The title and the when/where lines of a mail."""
    w = words(language)
    first = events(calendar)[0]
    title = str(first.get("SUMMARY", "")) or "(no title)"
    lines = []
    if first.get("DTSTART") is not None:
        start = first["DTSTART"].dt
        if isinstance(start, datetime):
            shown = (
                start.strftime("%Y-%m-%d %H:%M %Z").strip()
                if start.tzinfo
                else start.strftime("%Y-%m-%d %H:%M")
            )
        else:
            shown = start.isoformat()
        lines.append(f"{w['when']}: {shown}")
    if first.get("LOCATION"):
        lines.append(f"{w['where']}: {first['LOCATION']}")
    return title, lines


def last_end(calendar: icalendar.Calendar, now: datetime) -> datetime:
    """When RSVP links stop working: the end of the event, or a year for endless series."""
    first = events(calendar)[0]
    if first.get("RRULE") is not None:
        rule = first["RRULE"]
        if "UNTIL" in rule:
            until = rule["UNTIL"][0]
            return (
                until
                if isinstance(until, datetime) and until.tzinfo
                else now.replace(year=now.year + 1)
            )
        return now.replace(year=now.year + 1)
    end = first.get("DTEND") or first.get("DTSTART")
    value = end.dt if end is not None else now
    return times.as_utc(value)
