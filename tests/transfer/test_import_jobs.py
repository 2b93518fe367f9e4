"""Background imports for the web UI: start a job, poll its progress from any node, refusals."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from calcard.core.models import ImportJob, Item

from conftest import sync_report
from helpers import FIXTURES, many_events, web_session

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
