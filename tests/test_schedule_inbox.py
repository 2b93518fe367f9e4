"""RFC 6638 schedule inbox and outbox over DAV, the RSVP page's language, and
cross-owner writes of scheduling under concurrency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from test_scheduling import invitation


def test_two_organizers_inviting_each_other_concurrently(server):
    alice, bob = server.user(), server.user()
    start = (datetime.now(UTC) + timedelta(days=20)).replace(minute=0, second=0, microsecond=0)
    rounds, threads_per_user = 4, 4
    barrier = threading.Barrier(2 * threads_per_user)
    statuses: list[int] = []
    uids: list[tuple[str, str]] = []

    def invite(organizer: str, guest: str, worker: int) -> None:
        with server.client(organizer) as http:
            barrier.wait()
            for n in range(rounds):
                uid = f"mutual-{organizer}-{worker}-{n}"
                body = invitation(uid, organizer, [f"{guest}@example.com"], start)
                response = http.put(
                    f"/{organizer}/calendar/{uid}.ics",
                    content=body.encode(),
                    headers={"Content-Type": "text/calendar"},
                )
                statuses.append(response.status_code)
                uids.append((organizer, uid))

    threads = [
        threading.Thread(target=invite, args=(who, other, worker))
        for who, other in ((alice, bob), (bob, alice))
        for worker in range(threads_per_user)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses and all(200 <= code < 300 for code in statuses), statuses
    assert len(uids) == 2 * threads_per_user * rounds
    for login in (alice, bob):
        with server.client(login) as http:
            listing = http.request("PROPFIND", f"/{login}/calendar/", headers={"Depth": "1"}).text
        for _, uid in uids:
            assert f"{uid}.ics" in listing, (login, uid)
