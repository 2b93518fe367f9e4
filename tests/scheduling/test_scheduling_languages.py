"""Invitation mails and the answer page in the reader's language (issue 20): the
recipient's when they are a user, else the organizer's; the answer page the visitor's
browser's, else the organizer's; dates written by Babel. Real SMTP (``smtp`` fixture)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header

import httpx
from babel.dates import format_date

from calcard import accounts

from helpers import dav_calendar, flush_mail, invitation, rsvp_link


def _subject(mail) -> str:
    return " ".join(str(make_header(decode_header(mail["Subject"]))).split())


def _text(mail) -> str:
    plain = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    return plain.get_payload(decode=True).decode()


def _start(days: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )


def _form(page: str) -> dict[str, str]:
    found = dict(re.findall(r"name='(\w+)' value='([^']*)'", page))
    return {k: v.replace("&amp;", "&") for k, v in found.items()}


def _speaks(server, login: str, language: str) -> None:
    with server.backend.db.transaction(write=True) as s:
        accounts.update_settings(s, login, {"language": language})


def test_an_italian_organizers_invitation_and_the_answer_page_by_accept_language(
    server, team, smtp
):
    organizer = team[0]
    _speaks(server, organizer, "it")
    external, start = "ospite@altrove.example", _start(11)
    dav_calendar(server, organizer).save_event(invitation("riunione", organizer, [external], start))
    flush_mail(server, smtp)
    (invite,) = smtp.to(external)
    assert _subject(invite) == "Invito: Planning riunione"
    text = _text(invite)
    day = format_date(start.date(), "full", locale="it")  # e.g. "venerdì 11 dicembre 2026"
    assert f"Quando: {day}, 09:00 (UTC)" in text
    assert "Dove: HQ" in text and f"Da: {organizer}" in text and "Rispondi: http" in text
    html = next(p for p in invite.walk() if p.get_content_type() == "text/html")
    assert "<h2>Invito: Planning riunione</h2>" in html.get_payload(decode=True).decode()

    link = rsvp_link(invite)
    german = httpx.get(link, headers={"Accept-Language": "de-CH, de;q=0.9"})
    assert german.status_code == 200
    assert "<html lang='de'>" in german.text and "<h1>Ihre Antwort</h1>" in german.text
    assert ">Zusagen</button>" in german.text and ">Vielleicht</button>" in german.text
    assert f"Wann: {format_date(start.date(), 'full', locale='de')}, 09:00" in german.text

    unknown = httpx.get(link, headers={"Accept-Language": "ja"})  # -> the organizer's
    assert "<html lang='it'>" in unknown.text and ">Accetta</button>" in unknown.text
    done = httpx.post(
        f"{server.url}/api/rsvp",
        data={**_form(unknown.text), "answer": "TENTATIVE"},
        headers={"Accept-Language": "ja"},
    )
    assert done.status_code == 200, done.text
    assert "<h1>Grazie</h1>" in done.text
    assert "Hai accettato con riserva «Planning riunione»" in done.text

    flush_mail(server, smtp)  # the organizer is a user: told in their language
    (told,) = smtp.to(f"{organizer}@example.com")
    assert _subject(told) == f"{external} ha accettato con riserva: Planning riunione"


def test_a_german_organizers_update_and_cancellation(server, team, smtp):
    organizer = team[0]  # speaks German (the team fixture)
    external, start = "gast@anderswo.example", _start(13)
    calendar = dav_calendar(server, organizer)
    calendar.save_event(invitation("termin", organizer, [external], start))
    event = calendar.event_by_uid("termin")
    event.data = invitation("termin", organizer, [external], start + timedelta(hours=2))
    event.save()
    calendar.event_by_uid("termin").delete()
    flush_mail(server, smtp)
    invite, update, cancel = smtp.to(external)
    assert _subject(invite) == "Einladung: Planning termin"
    assert _subject(update) == "Geänderte Einladung: Planning termin"
    assert _subject(cancel) == "Abgesagt: Planning termin"
    day = format_date(start.date(), "full", locale="de")  # e.g. "Sonntag, 13. Dezember 2026"
    assert f"Wann: {day}, 11:00 (UTC)" in _text(update)
    assert f"Von: {organizer}" in _text(cancel)


def test_an_unsupported_language_gives_english_mails_and_pages(server, team, smtp):
    organizer = team[0]
    _speaks(server, organizer, "tlh")
    external, start = "guest@away.example", _start(15)
    dav_calendar(server, organizer).save_event(invitation("meet", organizer, [external], start))
    flush_mail(server, smtp)
    (invite,) = smtp.to(external)
    assert _subject(invite) == "Invitation: Planning meet"
    assert f"When: {format_date(start.date(), 'full', locale='en')}" in _text(invite)
    page = httpx.get(rsvp_link(invite), headers={"Accept-Language": "tlh, ja;q=0.5"})
    assert "<html lang='en'>" in page.text and "<h1>Your answer</h1>" in page.text


def test_a_forged_answer_link_is_refused_in_the_visitors_language(server):
    page = httpx.get(
        f"{server.url}/api/rsvp?c=1&h=x.ics&a=a@b.example&e=9999999999&sig=forged",
        headers={"Accept-Language": "fr"},
    )
    assert page.status_code == 403
    assert "<html lang='fr'>" in page.text and "Ce lien de réponse n’est pas valide." in page.text
