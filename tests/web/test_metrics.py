"""GET /metrics: Prometheus text to the operator's bearer token, values that move with
requests and reminder deliveries, summed over two worker processes."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from calcard.core import mailqueue
from calcard.core.models import Reminder

from conftest import PASSWORD, Server, start_server, stop_server

TOKEN = "metrics-" + uuid.uuid4().hex
BEARER = {"Authorization": f"Bearer {TOKEN}"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: Server) -> Samples:
    """Every sample of one scrape, by name and labels."""
    response = httpx.get(server.url + "/metrics", headers=BEARER, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests_total(samples: Samples, method: str, status: int) -> float:
    return value(samples, "calcard_http_requests_total", method=method, status=str(status))


def route_count(samples: Samples, route: str) -> float:
    return value(samples, "calcard_http_request_duration_seconds_count", route=route)


@pytest.fixture(scope="module")
def metered(backend, tmp_path_factory) -> Iterator[Server]:
    srv = start_server(
        backend,
        tmp_path_factory.mktemp(f"metrics-{backend.name}"),
        {"CALCARD_METRICS_TOKEN": TOKEN},
    )
    yield srv
    stop_server(srv)


def event(uid: str, start: datetime) -> bytes:
    """An event with an e-mail alarm 15 minutes before ``start``."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:t\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\n"
        f"DTEND:{start + timedelta(hours=1):%Y%m%dT%H%M%SZ}\r\nSUMMARY:Metered {uid}\r\n"
        "BEGIN:VALARM\r\nTRIGGER:-PT15M\r\nACTION:EMAIL\r\nDESCRIPTION:r\r\nSUMMARY:r\r\n"
        "END:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def put_events(server: Server, login: str, starts: list[datetime]) -> None:
    with server.client(login) as http:
        for start in starts:
            uid = uuid.uuid4().hex
            response = http.put(
                f"/{login}/calendar/{uid}.ics",
                content=event(uid, start),
                headers={"Content-Type": "text/calendar"},
            )
            assert response.status_code == 201, response.text


def test_counters_and_histograms_move_with_requests(metered):
    login = metered.user()
    before = scrape(metered)
    with metered.client(login) as http:
        for _ in range(5):
            assert http.request("PROPFIND", f"/{login}/", headers={"Depth": "0"}).status_code == 207
        for _ in range(3):
            assert http.get("/api/me").status_code == 200
    put_events(metered, login, [datetime.now(UTC) + timedelta(days=d) for d in range(1, 5)])
    after = scrape(metered)
    assert requests_total(after, "PROPFIND", 207) >= requests_total(before, "PROPFIND", 207) + 5
    assert requests_total(after, "PUT", 201) >= requests_total(before, "PUT", 201) + 4
    assert route_count(after, "dav:PROPFIND") >= route_count(before, "dav:PROPFIND") + 5
    assert route_count(after, "dav:PUT") >= route_count(before, "dav:PUT") + 4
    assert route_count(after, "api:me") >= route_count(before, "api:me") + 3
    assert value(after, "calcard_database_up") == 1
    assert any(name == "calcard_db_pool_checked_out" for name, _ in after)


def test_labels_stay_bounded_whatever_clients_send(metered):
    """Paths, logins and invented methods never become label values."""
    login = metered.user()
    odd = f"/{login}/calendar/secret-{uuid.uuid4().hex}.ics"
    with metered.client(login) as http:
        http.get(odd)
        http.request("BREW", f"/{login}/")
        http.get(f"/api/nothing-{uuid.uuid4().hex}")
    text = httpx.get(metered.url + "/metrics", headers=BEARER).text
    assert login not in text and "secret-" not in text and "BREW" not in text
    assert "nothing-" not in text
    samples = scrape(metered)
    assert route_count(samples, "dav:other") >= 1 and route_count(samples, "api:other") >= 1


def test_metrics_only_to_the_right_bearer_token(metered):
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ):
        response = httpx.get(metered.url + "/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert "calcard_" not in response.text
    login = metered.user()  # a person's own DAV password is no metrics token either
    with metered.client(login) as http:
        response = http.get("/metrics")
        assert response.status_code == 401 and "calcard_" not in response.text
    assert httpx.post(metered.url + "/metrics", headers=BEARER).status_code == 405
    assert (
        httpx.get(
            metered.url + "/metrics", headers={"Authorization": f"bearer {TOKEN}"}
        ).status_code
        == 200
    )
    # a principal's path /metrics/ is still DAV's: no metrics there
    assert "calcard_" not in httpx.get(metered.url + "/metrics/", headers=BEARER).text


def test_without_a_token_metrics_are_not_served(server):
    login = server.user()
    for auth in (None, (login, PASSWORD)):
        response = httpx.get(server.url + "/metrics", auth=auth, headers=BEARER)
        assert response.status_code in (401, 403, 404), response.status_code
        assert "calcard_http_requests" not in response.text


def test_reminder_queue_gauges_and_the_mail_queue(own_backend, tmp_path):
    """Pending and overdue reminders and unsent mail come from the database."""
    srv = start_server(own_backend, tmp_path, {"CALCARD_METRICS_TOKEN": TOKEN})
    try:
        login = srv.user()
        now = datetime.now(UTC)
        put_events(srv, login, [now + timedelta(hours=1), now + timedelta(days=2)])
        with own_backend.db.transaction(write=True) as s:
            # the first was due 5 minutes ago: nobody dispatched it (CALCARD_REMINDERS=off)
            soonest = s.scalars(select(Reminder).order_by(Reminder.fire_at)).first()
            soonest.due_at = now - timedelta(minutes=5)
            mailqueue.enqueue(s, login, "someone@example.com", "queued", "text")
        samples = scrape(srv)
        assert value(samples, "calcard_reminders_pending") == 2
        assert value(samples, "calcard_reminders_overdue") == 1
        assert value(samples, "calcard_mail_queue") == 1
    finally:
        stop_server(srv)


def firing_soon() -> datetime:
    """The start of an event whose 15-minute alarm fires in 3 seconds."""
    return datetime.now(UTC) + timedelta(minutes=15, seconds=3)


def wait_for(check, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_two_workers_sum_requests_and_reminder_deliveries(own_backend, tmp_path, smtp):
    """Requests land on both worker processes; a scrape, whichever worker answers it,
    counts them all, and the deliveries of both workers' dispatchers."""
    srv = start_server(
        own_backend,
        tmp_path,
        {
            "CALCARD_METRICS_TOKEN": TOKEN,
            "CALCARD_LOG_FORMAT": "json",
            "CALCARD_REMINDERS": "on",
            "CALCARD_SMTP_URL": smtp.url,
        },
        workers=2,
    )
    try:
        login = srv.user()
        before = scrape(srv)

        def propfind(_: int) -> int:
            with srv.client(login) as http:  # a connection of its own: either worker takes it
                return http.request("PROPFIND", f"/{login}/", headers={"Depth": "0"}).status_code

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert set(pool.map(propfind, range(40))) == {207}
        lines = [
            json.loads(line) for line in srv.log.read_text().splitlines() if line.startswith("{")
        ]
        workers = {e["process"] for e in lines if e.get("method") == "PROPFIND"}
        assert len(workers) == 2, "the requests did not reach both workers"
        for _ in range(4):  # whichever worker answers the scrape
            after = scrape(srv)
            assert (
                requests_total(after, "PROPFIND", 207)
                >= requests_total(before, "PROPFIND", 207) + 40
            )
            assert len([1 for name, _ in after if name == "calcard_db_pool_checked_out"]) == 2

        put_events(srv, login, [firing_soon()] * 3)
        wait_for(lambda: len(smtp.messages) >= 3)
        wait_for(
            lambda: (
                value(
                    scrape(srv),
                    "calcard_reminder_deliveries_total",
                    channel="email",
                    outcome="sent",
                )
                >= 3
            )
        )
        smtp.refuse = True
        put_events(srv, login, [firing_soon()])
        wait_for(
            lambda: (
                value(
                    scrape(srv),
                    "calcard_reminder_deliveries_total",
                    channel="email",
                    outcome="failed",
                )
                >= 1
            )
        )
    finally:
        stop_server(srv)


def pool_pids(samples: Samples) -> set[str]:
    return {
        dict(labels)["pid"] for name, labels in samples if name == "calcard_db_pool_checked_out"
    }


def test_a_killed_worker_keeps_its_counts_and_loses_its_gauges(own_backend, tmp_path):
    """uvicorn replaces a worker killed with SIGKILL; the dead one's requests stay in
    the totals (counters never go backwards), its live gauge goes."""
    srv = start_server(own_backend, tmp_path, {"CALCARD_METRICS_TOKEN": TOKEN}, workers=2)
    try:
        for _ in range(20):
            assert httpx.get(srv.url + "/api/health").status_code == 200
        before = scrape(srv)
        pids = pool_pids(before)
        assert len(pids) == 2
        victim = int(sorted(pids)[0])
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: len(pool_pids(scrape(srv)) - pids) == 1, timeout=60)
        after = scrape(srv)
        assert str(victim) not in pool_pids(after) and len(pool_pids(after)) == 2
        assert requests_total(after, "GET", 200) >= requests_total(before, "GET", 200)
    finally:
        stop_server(srv)
