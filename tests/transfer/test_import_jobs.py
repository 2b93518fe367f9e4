"""Background imports for the web UI: start a job, poll its progress from any node, refusals."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from calcard.core.models import ImportJob, Item
from calcard.transfer import importjobs

from conftest import sync_report
from helpers import FIXTURES, many_events, set_language, web_session

PATIENCE = 900  # seconds a loaded shared machine may need; not a speed requirement


def start(http: httpx.Client, body: bytes, name: str, **params: str) -> httpx.Response:
    return http.post("/api/import-jobs", params={"name": name, **params}, content=body)


def finished(http: httpx.Client, job_id: str) -> tuple[dict, list[dict]]:
    """Poll until the job is no longer running: (final state, every state seen)."""
    seen: list[dict] = []
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        answer = http.get(f"/api/import-jobs/{job_id}")
        assert answer.status_code == 200, answer.text
        seen.append(answer.json())
        if seen[-1]["status"] != "running":
            return seen[-1], seen
        time.sleep(0.2)
    raise AssertionError(f"the job did not end: {seen[-1]}")


def stored(server, login: str) -> tuple[int, int]:
    """(items, import jobs) the user has in the database."""
    with server.backend.db.transaction() as s:
        items = s.scalar(select(func.count()).select_from(Item).where(Item.owner == login))
        jobs = s.scalar(select(func.count()).select_from(ImportJob).where(ImportJob.owner == login))
    return items, jobs


def test_thousands_of_events_import_in_the_background_polled_on_another_node(two_servers):
    first, second = two_servers
    login = first.user()
    body = many_events(2000).encode()
    with first.client(login) as http, second.client(login) as poller:
        answer = start(http, body, "big.ics")
        assert answer.status_code == 202, answer.text
        job = answer.json()
        assert job["target"] == f"/{login}/calendar/" and job["size"] == len(body)
        assert job["status"] == "running"
        final, seen = finished(poller, job["id"])
        assert final["status"] == "done", final
        assert (final["added"], final["updated"], final["skipped_count"]) == (1998, 0, 2)
        assert final["entries"] == 2000 and final["position"] == len(body)
        reasons = [s["reason"] for s in final["skipped"]]
        assert len(reasons) == 2 and "bulk-10" in reasons[0] and "bulk-1995" in reasons[1]
        progress = [(s["entries"], s["position"]) for s in seen]
        assert progress == sorted(progress)  # never goes backwards
        _, listing = sync_report(poller, f"/{login}/calendar/")
        assert listing.count(".ics</") == 1998
        again = start(poller, body, "big.ics")
        final, _ = finished(http, again.json()["id"])
        assert (final["added"], final["updated"], final["skipped_count"]) == (0, 1998, 2)


def test_vcards_with_broken_cards_into_a_named_address_book(server):
    login = server.user()
    with server.client(login) as http:
        answer = start(http, (FIXTURES / "apple.vcf").read_bytes(), "Contacts export.vcf")
        assert answer.status_code == 202, answer.text
        final, _ = finished(http, answer.json()["id"])
        assert final["status"] == "done" and final["filename"] == "Contacts export.vcf"
        assert (final["added"], final["skipped_count"]) == (4, 2)
        reasons = " ".join(s["reason"] for s in final["skipped"])
        assert "not a property" in reasons and "no END:VCARD" in reasons
        card = http.get(f"/{login}/contacts/1C0B3E0A-ALICE.vcf")
        assert card.status_code == 200 and "item1.EMAIL" in card.text


def test_bad_files_are_refused_at_once_and_store_nothing(server):
    login = server.user()
    with server.client(login) as http:
        cases = [
            (b"hello, this is no calendar\n", "notes.ics", {}, 400, "not an iCalendar file"),
            ((FIXTURES / "apple.vcf").read_bytes(), "cards.ics", {}, 400, "not an iCalendar"),
            ((FIXTURES / "google.ics").read_bytes(), "cal.vcf", {}, 400, "not a vCard file"),
            (b"", "empty.ics", {}, 400, "not an iCalendar file"),
            (b"\x89PNG\r\n\x1a\n\x00\x00binary", "photo.ics", {}, 400, "not an iCalendar"),
            (b"BEGIN:VCALENDAR\r\n", "x.ics", {"into": f"/{login}/contacts/"}, 400, "not a cal"),
            (b"BEGIN:VCALENDAR\r\n", "x.ics", {"into": "/nobody/calendar/"}, 400, "no collect"),
            (b"hello", "notes.txt", {}, 415, "only .ics and .vcf"),
            (b"B" * 1_100_000, "huge.ics", {}, 413, "larger than"),
        ]
        for body, name, params, status, message in cases:
            answer = start(http, body, name, **params)
            assert answer.status_code == status, (name, answer.text)
            assert message in answer.json()["error"], (name, answer.text)
    assert stored(server, login) == (0, 0)


def test_jobs_are_private_and_changes_need_the_csrf_token(server):
    owner, other = server.user(), server.user()
    with server.client(owner) as http:
        job = start(http, (FIXTURES / "contacts4.vcf").read_bytes(), "c.vcf").json()
        finished(http, job["id"])
    with server.client(other) as http:
        found = http.get(f"/api/import-jobs/{job['id']}")
        assert found.status_code == 404 and "no import job" in found.json()["error"]
        assert http.get("/api/import-jobs/0123456789abcdef").status_code == 404
    anonymous = httpx.get(f"{server.url}/api/import-jobs/{job['id']}")
    assert anonymous.status_code == 401
    browser, csrf = web_session(server, other)
    try:
        refused = start(browser, b"BEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\n", "a.vcf")
        assert refused.status_code == 403
        accepted = browser.post(
            "/api/import-jobs",
            params={"name": "a.vcf"},
            content=b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nEND:VCARD\r\n",
            headers={"X-CSRF-Token": csrf},
        )
        assert accepted.status_code == 202, accepted.text
        final, _ = finished(browser, accepted.json()["id"])
        assert final["added"] == 1
    finally:
        browser.close()
    assert stored(server, other)[0] == 1


def test_one_running_import_per_user_and_a_job_whose_process_died_is_reported(server):
    login = server.user()
    now = datetime.now(UTC)
    with server.backend.db.transaction(write=True) as s:
        s.add(ImportJob(id="a" * 32, owner=login, target=f"{login}/calendar", heartbeat_at=now))
        s.add(
            ImportJob(
                id="b" * 32,
                owner=login,
                target=f"{login}/calendar",
                heartbeat_at=now - timedelta(minutes=11),
                entries=400,
            )
        )
    with server.client(login) as http:
        busy = start(http, b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "x.ics")
        assert busy.status_code == 409 and "still running" in busy.json()["error"]
        dead = http.get(f"/api/import-jobs/{'b' * 32}").json()
        assert dead["status"] == "failed" and "process ended" in dead["error"]
        assert dead["entries"] == 400
        with server.backend.db.transaction(write=True) as s:
            s.get(ImportJob, "a" * 32).heartbeat_at = now - timedelta(minutes=11)
        accepted = start(http, b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "x.ics")
        assert accepted.status_code == 202, accepted.text
        final, _ = finished(http, accepted.json()["id"])
        assert (final["status"], final["added"]) == ("done", 0)


# --- the report in its reader's language (docs/languages.md) --------------------------------

BAD_ENTRIES = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    b"BEGIN:VEVENT\r\nUID:good\r\nDTSTART:20260301T090000Z\r\nEND:VEVENT\r\n"
    b"BEGIN:VEVENT\r\nDTSTART:20260302T090000Z\r\nEND:VEVENT\r\n"
    b"BEGIN:VEVENT\r\nUID:bad-date\r\nDTSTART:2026-03-03 nine\r\nEND:VEVENT\r\n"
    b"BEGIN:VEVENT\r\nUID:often\r\nDTSTART:20260304T090000Z\r\nRRULE:FREQ=SECONDLY\r\n"
    b"END:VEVENT\r\n"
    b"BEGIN:VEVENT\r\nUID:no-zone\r\nDTSTART;TZID=Mars/Olympus:20260305T090000\r\n"
    b"END:VEVENT\r\n"
    b"BEGIN:VEVENT\r\nUID:cut\r\nDTSTART:20260306T090000Z\r\n"
)
# What the parser library says about the broken DTSTART: a value, never translated.
LIBRARY = "Wrong datetime format: 2026-03-03 nine"
REPORT = {  # the skipped entries' reasons, in the order the import met them
    "de": [
        "Eintrag Nr. 2 übersprungen: VEVENT ohne UID",
        "Eintrag Nr. 3 (bad-date): ",
        "often: eine Wiederholung häufiger als stündlich (FREQ=SECONDLY) wird nicht "
        "unterstützt: höchstens 24 Termine am Tag",
        "Eintrag Nr. 6 (VEVENT): die Datei endet mitten im Eintrag",
        "Eintrag Nr. 5 (no-zone): die Zeitzone Mars/Olympus ist nicht definiert",
    ],
    "fr": [
        "entrée n°\u00a02 ignorée\u00a0: VEVENT sans UID",
        "entrée n°\u00a03 (bad-date)\u00a0: ",
        "often\u00a0: une répétition plus fréquente que toutes les heures (FREQ=SECONDLY) "
        "n’est pas prise en charge\u00a0: au plus 24 occurrences par jour",
        "entrée n°\u00a06 (VEVENT)\u00a0: le fichier s’arrête au milieu de l’entrée",
        "entrée n°\u00a05 (no-zone)\u00a0: le fuseau horaire Mars/Olympus n’est pas défini",
    ],
    "en": [
        "entry #2: VEVENT without UID skipped",
        "entry #3 (bad-date): ",
        "often: a recurrence more frequent than hourly (FREQ=SECONDLY) is not supported: "
        "at most 24 occurrences a day",
        "entry #6 (VEVENT): file ends inside it",
        "entry #5 (no-zone): time zone Mars/Olympus is not defined",
    ],
}


def said(reasons: list[str], language: str) -> None:
    """The reasons are the report's in ``language``; the library's words stay its own."""
    want = REPORT[language]
    assert len(reasons) == len(want), reasons
    for got, expected in zip(reasons, want, strict=True):
        assert got.startswith(expected), (got, expected)
    assert reasons[1].endswith(LIBRARY), reasons[1]


def test_a_german_and_a_french_reader_read_the_skip_reasons_in_their_language(server):
    for language in ("de", "fr"):
        login = server.user()
        set_language(server, login, language)
        with server.client(login) as http:
            answer = start(http, BAD_ENTRIES, "bad.ics")
            assert answer.status_code == 202, answer.text
            final, _ = finished(http, answer.json()["id"])
            assert (final["status"], final["added"], final["skipped_count"]) == ("done", 1, 5)
            said([s["reason"] for s in final["skipped"]], language)
            # The whole body at once (POST /api/import) reports in the same words.
            whole = http.post(
                "/api/import", content=BAD_ENTRIES, headers={"content-type": "text/calendar"}
            )
            assert whole.status_code == 200, whole.text
            said([s["reason"] for s in whole.json()["skipped"]], language)


def test_a_report_falls_back_to_english_and_follows_a_changed_setting(server):
    login = server.user()
    with server.client(login) as http:
        job = start(http, BAD_ENTRIES, "bad.ics").json()
        final, _ = finished(http, job["id"])
        said([s["reason"] for s in final["skipped"]], "en")
        unsupported = http.get(f"/api/import-jobs/{job['id']}", headers={"Accept-Language": "ja"})
        said([s["reason"] for s in unsupported.json()["skipped"]], "en")
        browser = http.get(f"/api/import-jobs/{job['id']}", headers={"Accept-Language": "fr"})
        said([s["reason"] for s in browser.json()["skipped"]], "fr")
        set_language(server, login, "de")  # the report is said when read, not when written
        german = http.get(f"/api/import-jobs/{job['id']}", headers={"Accept-Language": "fr"})
        said([s["reason"] for s in german.json()["skipped"]], "de")


def test_a_failed_or_cut_off_job_says_why_in_the_readers_language(server, tmp_path):
    login = server.user()
    set_language(server, login, "de")
    spooled = tmp_path / "gone.ics"
    spooled.write_bytes(BAD_ENTRIES)
    # The target went away between the upload's check and the job's run.
    upload = importjobs.Upload(spooled, ".ics", f"{login}/gone", "gone.ics", len(BAD_ENTRIES))
    failed = importjobs.start(server.backend.db, login, upload)
    with server.backend.db.transaction(write=True) as s:
        s.add(
            ImportJob(
                id="d" * 32,
                owner=login,
                target=f"{login}/calendar",
                heartbeat_at=datetime.now(UTC) - timedelta(minutes=11),
            )
        )
    with server.client(login) as http:
        final, _ = finished(http, failed)
        assert final["status"] == "failed"
        assert final["error"] == f"kein Kalender oder Adressbuch unter '{login}/gone'"
        cut_off = http.get(f"/api/import-jobs/{'d' * 32}").json()
        assert cut_off["status"] == "failed"
        assert cut_off["error"] == (
            "der Import wurde abgebrochen (sein Serverprozess wurde beendet); "
            "was schon gespeichert war, bleibt erhalten"
        )


def test_a_job_kept_before_reasons_were_templates_shows_its_texts_as_they_are(server):
    login = server.user()
    set_language(server, login, "fr")
    now = datetime.now(UTC)
    old = ["entry #3 (a{b}): Wrong datetime format", "x: UID 'x' already exists in 'a/b'"]
    kept = {  # as the import writes them now: templates and values
        "template": "{uid}: {reason}",
        "values": {"uid": "x", "reason": {"template": "no calendar object", "values": {}}},
    }
    with server.backend.db.transaction(write=True) as s:
        for job_id, skipped, error in (
            ("e" * 32, old, "the import stopped: {odd} text"),
            (
                "f" * 32,
                [kept],
                json.dumps({"template": "no import job {id!r}", "values": {"id": "z"}}),
            ),
        ):
            s.add(
                ImportJob(
                    id=job_id,
                    owner=login,
                    target=f"{login}/calendar",
                    status="failed",
                    skipped=json.dumps(skipped),
                    skipped_count=len(skipped),
                    error=error,
                    finished_at=now,
                )
            )
    with server.client(login) as http:
        before = http.get(f"/api/import-jobs/{'e' * 32}")
        assert before.status_code == 200, before.text
        assert [s["reason"] for s in before.json()["skipped"]] == old
        assert before.json()["error"] == "the import stopped: {odd} text"
        now_kept = http.get(f"/api/import-jobs/{'f' * 32}").json()
        assert [s["reason"] for s in now_kept["skipped"]] == ["x\u00a0: aucun objet de calendrier"]
        assert now_kept["error"] == "aucun import 'z'"


def test_nobody_but_the_owner_reads_a_report_not_even_a_manager_of_their_organization(server):
    owner = server.user()
    org = f"org-{owner}"
    colleague = server.user(role="administrator", org=org)
    stranger = server.user()
    set_language(server, colleague, "de")
    with server.client(owner) as http:
        job = start(http, BAD_ENTRIES, "bad.ics").json()
        report, _ = finished(http, job["id"])
    for reader, error in (
        (colleague, f"kein Import '{job['id']}'"),
        (stranger, f"no import job '{job['id']}'"),
    ):
        with server.client(reader) as http:
            refused = http.get(f"/api/import-jobs/{job['id']}")
            assert (refused.status_code, refused.json()) == (404, {"error": error})
            missing = http.get(f"/api/import-jobs/{'0' * 32}")  # the same as no job at all
            assert missing.json() == {"error": error.replace(job["id"], "0" * 32)}
    browser, csrf = web_session(server, colleague)
    try:
        assert browser.get(f"/api/import-jobs/{job['id']}").status_code == 404
    finally:
        browser.close()
    with server.client(owner) as http:
        assert http.get(f"/api/import-jobs/{job['id']}").json() == report  # unchanged
