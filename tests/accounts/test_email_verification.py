"""Account e-mail addresses are unique (case-blind) and verified (issue 14, finding 4).

Written as the attacker: a user claims a colleague's address (refused: taken)
or a partner's unused one (kept pending: invitations to it still go out as
mail to the partner, and the attacker's answers are not recorded as the
partner's). The verification link is read from a real SMTP server.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.header import decode_header, make_header

import httpx
import pytest
from alembic import command
from sqlalchemy import text

from calcard import accounts
from calcard.core.db import Database, alembic_config
from calcard.core.errors import Kind, Refusal

from helpers import flush_mail, invitation, partstats

ICS = {"Content-Type": "text/calendar; charset=utf-8"}
START = datetime(2032, 5, 17, 8, 0, tzinfo=UTC)


def set_email(server, login: str, address: str) -> httpx.Response:
    with server.client(login) as http:
        return http.patch("/api/me/preferences", json={"email": address})


def addresses(server, login: str) -> tuple[str, str]:
    with server.client(login) as http:
        data = http.get("/api/me").json()
    return data["email"], data["email_pending"]


def verification_link(smtp_box, address: str) -> str:
    (mail,) = smtp_box.to(address)
    assert mail["Subject"] == "Confirm your e-mail address"
    plain = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    body = plain.get_payload(decode=True).decode()
    return re.search(r"(http://\S+/api/verify-email\?\S+)", body)[1]


def press_the_button(page: httpx.Response) -> httpx.Response:
    """Submit the page's form as a browser would (its hidden fields, to its action)."""
    action = re.search(r"<form method='post' action='([^']+)'", page.text)[1]
    fields = dict(re.findall(r"name='([^']+)' value='([^']*)'", page.text))
    return httpx.post(str(page.url.join(action)), data=fields, timeout=30)


@pytest.fixture
def colleagues(server):
    """An organizer and the attacker, colleagues in one organization."""
    organizer = server.user("administrator")
    attacker = server.user(org=f"org-{organizer}")
    return organizer, attacker


def test_a_colleagues_address_is_taken_in_any_case(server, colleagues):
    organizer, attacker = colleagues
    for claimed in (f"{organizer}@example.com", f"{organizer.upper()}@EXAMPLE.com"):
        response = set_email(server, attacker, claimed)
        assert response.status_code == 409, response.text
        assert "another account" in response.json()["error"]
        with server.client(attacker) as http:
            response = http.patch(f"/api/users/{attacker}", json={"email": claimed})
            assert response.status_code == 409
    assert addresses(server, attacker) == (f"{attacker}@example.com", "")
    assert addresses(server, organizer) == (f"{organizer}@example.com", "")


def test_an_unverified_partner_address_diverts_nothing(server, colleagues, smtp):
    organizer, attacker = colleagues
    partner = f"zoë.{uuid.uuid4().hex[:6]}@partner.example"
    assert set_email(server, attacker, partner).status_code == 200
    assert addresses(server, attacker) == (f"{attacker}@example.com", partner)
    uid = f"kickoff-{uuid.uuid4().hex[:8]}"
    with server.client(organizer) as http:
        body = invitation(uid, organizer, [partner], START)
        response = http.put(f"/{organizer}/calendar/{uid}.ics", content=body, headers=ICS)
        assert response.status_code == 201, response.text
        # The partner is no user: free/busy says unknown rather than the attacker's calendar.
        found = http.post(
            "/api/freebusy/find",
            json={"attendees": [partner], "start": START.isoformat(), "duration_minutes": 30},
        ).json()
        assert found["unknown"] == [partner]
    with server.client(attacker) as http:
        listing = http.request("PROPFIND", f"/{attacker}/calendar/", headers={"Depth": "1"})
        assert listing.status_code == 207 and uid not in listing.text
        # The attacker answers as the partner from a copy of their own: not recorded.
        answer = invitation(uid, organizer, [partner], START).replace(
            f"NEEDS-ACTION;RSVP=TRUE:mailto:{partner}", f"ACCEPTED:mailto:{partner}"
        )
        response = http.put(f"/{attacker}/calendar/{uid}.ics", content=answer, headers=ICS)
        assert response.status_code == 201, response.text
    with server.client(organizer) as http:
        organizer_copy = http.get(f"/{organizer}/calendar/{uid}.ics").text
    assert partstats(organizer_copy)[partner] == "NEEDS-ACTION"
    flush_mail(server, smtp)
    to_partner = smtp.to(partner)
    assert [m["Subject"] for m in to_partner if "Confirm" in m["Subject"]] == [
        "Confirm your e-mail address"
    ]
    invitations = [m for m in to_partner if "Confirm" not in m["Subject"]]
    assert len(invitations) == 1
    (ical,) = [p for p in invitations[0].walk() if p.get_content_type() == "text/calendar"]
    assert ical.get_param("method") == "REQUEST"
    assert smtp.to(f"{attacker}@example.com") == []


def test_verifying_a_new_address_through_the_mailed_link(server, smtp):
    login = server.user()
    new = f"Ærlig.{login}@Example.org"
    assert set_email(server, login, new).json()["email_pending"] == new
    flush_mail(server, smtp)
    link = verification_link(smtp, new)
    # A forged or cut link is refused and shows why; nothing changes.
    assert httpx.get(link.replace("sig=", "sig=0"), timeout=30).status_code == 403
    assert httpx.get(link.split("&sig=")[0], timeout=30).status_code == 403
    # GET (what a mail scanner does) only shows the page.
    page = httpx.get(link, timeout=30)
    assert page.status_code == 200 and "<button" in page.text and login in page.text
    assert addresses(server, login) == (f"{login}@example.com", new)
    done = press_the_button(page)
    assert done.status_code == 200 and "verified" in done.text
    assert addresses(server, login) == (new, "")
    # Used once: the account no longer asks for that address.
    assert press_the_button(page).status_code == 403
    # Now the address is taken for everyone else, any case.
    other = server.user()
    assert set_email(server, other, new.lower()).status_code == 409
    # And setting one's verified address again (any case) changes nothing.
    assert set_email(server, login, new.upper()).status_code == 200
    assert addresses(server, login) == (new, "")


def test_the_first_to_verify_an_address_wins(server, smtp):
    first, second = server.user(), server.user()
    shared = f"équipe.{uuid.uuid4().hex[:6]}@example.net"
    assert set_email(server, first, shared).status_code == 200
    assert set_email(server, second, shared.upper()).status_code == 200
    flush_mail(server, smtp)
    page_first = httpx.get(verification_link(smtp, shared), timeout=30)
    page_second = httpx.get(verification_link(smtp, shared.upper()), timeout=30)
    assert first in page_first.text and second in page_second.text
    assert press_the_button(page_first).status_code == 200
    refused = press_the_button(page_second)
    assert refused.status_code == 409 and "another account" in refused.text
    assert addresses(server, second) == (f"{second}@example.com", shared.upper())
    assert addresses(server, first) == (shared, "")


def test_an_address_the_operator_sets_counts_as_verified_and_is_unique(server, cli):
    login, other = server.user(), server.user()
    address = f"Chef.{login}@example.org"
    cli("user", "set", login, "--email", address)
    assert addresses(server, login) == (address, "")
    refused = cli("user", "set", other, "--email", address.lower(), ok=False)
    assert "another account" in refused.stderr
    newcomer = f"n{uuid.uuid4().hex[:8]}"
    refused = cli(
        "user", "add", newcomer, "--org", f"org-{login}", "--role", "collaborator",
        "--email", address.upper(), "--password-stdin", stdin="long enough pass\n", ok=False,
    )  # fmt: skip
    assert "another account" in refused.stderr
    with server.backend.db.transaction() as s:
        assert accounts.find_user(s, newcomer) is None
    assert addresses(server, other) == (f"{other}@example.com", "")


def test_a_manager_gives_a_new_login_a_pending_address(server, smtp):
    boss = server.user("legal-representative")
    newcomer = f"n{uuid.uuid4().hex[:8]}"
    address = f"{newcomer}@example.org"
    with server.client(boss) as http:
        response = http.post(
            f"/api/orgs/org-{boss}/members",
            json={
                "login": newcomer,
                "role": "collaborator",
                "password": "long enough pass",
                "email": address,
            },
        )
    assert response.status_code == 201, response.text
    with httpx.Client(base_url=server.url, auth=(newcomer, "long enough pass")) as http:
        data = http.get("/api/me").json()
    assert (data["email"], data["email_pending"]) == ("", address)
    flush_mail(server, smtp)
    assert len(smtp.to(address)) == 1


def test_the_migration_keeps_the_oldest_accounts_address(empty_url):
    db = Database(empty_url)
    try:
        command.upgrade(alembic_config(empty_url), "0015")
        with db.engine.begin() as conn:
            for i, (login, email) in enumerate(
                [("old", "Same@Example.com"), ("mid", "same@example.com"), ("own", "o@x.org")]
            ):
                conn.execute(
                    text(
                        "INSERT INTO users (login, name, email, password_hash, chat_webhook, "
                        "timezone, settings, created_at, totp_secret, totp_enabled, "
                        "totp_last_step) VALUES (:l, '', :e, 'x', '', 'UTC', '{}', :c, '', "
                        "false, 0)"
                    ),
                    {"l": login, "e": email, "c": datetime(2020, 1, 1 + i, tzinfo=UTC)},
                )
        command.upgrade(alembic_config(empty_url), "head")
        with db.engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT login, email FROM users")).all())
            keys = dict(conn.execute(text("SELECT login, email_key FROM users")).all())
        assert rows == {"old": "Same@Example.com", "mid": "", "own": "o@x.org"}
        assert keys == {"old": "same@example.com", "mid": "", "own": "o@x.org"}
        with db.transaction(write=True) as s, pytest.raises(Refusal) as refused:
            accounts.set_user(s, "mid", email="SAME@example.com")
        assert refused.value.kind is Kind.CONFLICT
    finally:
        db.dispose()


def test_two_accounts_claiming_one_address_at_once_the_second_gets_a_conflict(backend):
    """Two operators set the same address on two accounts in overlapping transactions.

    The first holds its transaction open after its claim; the second must wait for
    it and then be refused with a conflict (409), not fail on the unique index
    (a 500), and the first account keeps the address.
    """
    first, second = (f"a{uuid.uuid4().hex[:10]}" for _ in range(2))
    org, address = f"org-{first}", f"Shared-{first}@Example.com"
    with backend.db.transaction(write=True, owners=[first, second]) as s:
        accounts.create_org(s, org, plan="team")
        for login in (first, second):
            accounts.add_user(s, login, org, "collaborator", "a long password 1")
    claimed, may_commit = threading.Event(), threading.Event()

    def claim_and_hold() -> None:
        with backend.db.transaction(write=True, owners=[first]) as s:
            accounts.set_user(s, first, email=address)
            claimed.set()
            may_commit.wait(10)

    def claim_too() -> Kind | str:
        claimed.wait(10)
        try:
            with backend.db.transaction(write=True, owners=[second]) as s:
                accounts.set_user(s, second, email=address.lower())
        except Refusal as refusal:
            return refusal.kind
        except Exception as error:  # the unique index's error would land here
            return type(error).__name__
        return "accepted"

    with ThreadPoolExecutor(2) as pool:
        holder = pool.submit(claim_and_hold)
        contender = pool.submit(claim_too)
        time.sleep(0.5)  # the contender is now inside its transaction, waiting
        may_commit.set()
        holder.result(15)
        assert contender.result(15) is Kind.CONFLICT
    with backend.db.transaction() as s:
        assert accounts.find_user(s, first).email == address
        assert accounts.find_user(s, second).email == ""


def test_the_verification_mail_is_in_the_accounts_language_and_the_page_in_the_browsers(
    server, smtp
):
    login = server.user()
    with server.backend.db.transaction(write=True) as s:
        accounts.update_settings(s, login, {"language": "de"})
    new = f"neu.{login}@example.org"
    set_email(server, login, new)
    flush_mail(server, smtp)
    (mail,) = smtp.to(new)
    subject = str(make_header(decode_header(mail["Subject"])))
    assert subject == "Bestätigen Sie Ihre E-Mail-Adresse"
    body = mail.get_payload(decode=True).decode()
    assert f"für das calcard-Konto „{login}“ verwenden" in body and "gilt 3 Tage" in body
    link = re.search(r"(http://\S+/api/verify-email\?\S+)", body)[1]
    page = httpx.get(link, headers={"Accept-Language": "es"}, timeout=30)
    assert "<html lang='es'>" in page.text and ">Confirmar esta dirección</button>" in page.text
    forged = httpx.get(link.replace("sig=", "sig=0"), headers={"Accept-Language": "it"})
    assert forged.status_code == 403 and "Questo link non è valido." in forged.text
