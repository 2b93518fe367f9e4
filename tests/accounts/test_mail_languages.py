"""Mails and the Apple profile in their reader's language (docs/languages.md): the
organization invitation in the invitee's (their setting, else their organization's
default; never the inviting organization's), the e-mail verification of a newly added
user in the organization's default when they have none, the Apple profile's
descriptions in the user's setting, else the browser's."""

from __future__ import annotations

import plistlib
from email.header import decode_header, make_header

from calcard import accounts

from helpers import flush_mail, web_session


def subject_and_body(mail) -> tuple[str, str]:
    plain = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    subject = str(make_header(decode_header(mail["Subject"])))
    return subject, plain.get_payload(decode=True).decode().replace("\r\n", "\n").strip()


def add_member(server, manager: str, org: str, **body: str) -> None:
    with server.client(manager) as http:
        response = http.post(f"/api/orgs/{org}/members", json=body)
    assert response.status_code == 201, response.text


def test_the_organization_invitation_is_in_german_and_in_italian(server, smtp):
    manager = server.user("administrator")
    org = f"org-{manager}"
    german, italian = server.user(), server.user()  # each in an organization of their own
    with server.backend.db.transaction(write=True) as s:
        accounts.update_settings(s, german, {"language": "de"})
        accounts.set_org_language(s, f"org-{italian}", "it")  # no setting: their org's
        accounts.set_org_language(s, org, "fr")  # the inviting organization's is not theirs
    add_member(server, manager, org, login=german, role="collaborator")
    add_member(server, manager, org, login=italian, role="external")
    flush_mail(server, smtp)
    (to_german,) = smtp.to(f"{german}@example.com")
    assert subject_and_body(to_german) == (
        f"Einladung in die Organisation {org}",
        f"{manager} lädt Sie ein, der Organisation „{org}“ auf calcard mit der Rolle "
        "„Mitarbeiter“ beizutreten.\nNehmen Sie die Einladung in den Einstellungen des "
        "Kalenders an oder lehnen Sie sie ab; bis Sie annehmen, sieht die Organisation "
        "nichts von Ihren Daten.",
    )
    (to_italian,) = smtp.to(f"{italian}@example.com")
    assert subject_and_body(to_italian) == (
        f"Invito a unirti a {org}",
        f"{manager} ti invita a unirti all’organizzazione «{org}» su calcard come esterno.\n"
        "Accetta o rifiuta nelle Impostazioni del calendario; finché non accetti, "
        "l’organizzazione non vede nulla dei tuoi dati.",
    )


def test_a_new_users_verification_mail_is_in_the_organizations_language(server, smtp):
    manager = server.user("administrator")
    org = f"org-{manager}"
    with server.backend.db.transaction(write=True) as s:
        accounts.set_org_language(s, org, "de")
    new, address = f"neu{manager}", f"neu.{manager}@example.org"
    add_member(
        server, manager, org, login=new, role="collaborator", password="long enough", email=address
    )
    flush_mail(server, smtp)
    (mail,) = smtp.to(address)
    subject, body = subject_and_body(mail)
    assert subject == "Bestätigen Sie Ihre E-Mail-Adresse"
    assert f"für das calcard-Konto „{new}“ verwenden" in body and "gilt 3 Tage" in body


def test_the_apple_profile_describes_its_accounts_in_german_and_in_french(server):
    german, french = server.user(), server.user()
    with server.backend.db.transaction(write=True) as s:
        accounts.update_settings(s, german, {"language": "de"})
    expected = {  # the German's setting wins over an English browser; the French: the browser
        german: (
            "en",
            "Kalender und Kontakte von {login} auf 127.0.0.1",
            "calcard-Kalender von {login}",
            "calcard-Adressbücher von {login}",
            "Apple-Geräteprofil ",
        ),
        french: (
            "fr-FR, en;q=0.5",
            "Calendriers et contacts de {login} sur 127.0.0.1",
            "Calendriers calcard de {login}",
            "Carnets d’adresses calcard de {login}",
            "Profil d’appareil Apple ",
        ),
    }
    for login, (header, description, calendars, books, label) in expected.items():
        http, csrf = web_session(server, login)
        try:
            answer = http.post(
                "/api/me/apple-profile",
                json={},
                headers={"X-CSRF-Token": csrf, "Accept-Language": header},
            )
            assert answer.status_code == 200, answer.text
            profile = plistlib.loads(answer.content)
            assert profile["PayloadDescription"] == description.format(login=login)
            payloads = {p["PayloadType"]: p for p in profile["PayloadContent"]}
            caldav, carddav = (
                payloads["com.apple.caldav.account"],
                payloads["com.apple.carddav.account"],
            )
            assert caldav["CalDAVAccountDescription"] == calendars.format(login=login)
            assert carddav["CardDAVAccountDescription"] == books.format(login=login)
            assert caldav["PayloadDisplayName"] == calendars.format(login=login) + " (CalDAV)"
            passwords = http.get("/api/me/app-passwords").json()["app_passwords"]
            assert passwords[-1]["label"].startswith(label)
        finally:
            http.close()
