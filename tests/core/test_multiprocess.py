"""Two server processes on one database, writing the same calendar at once.

PostgreSQL is the multi-node deployment; SQLite in WAL mode must hold up the
same way for several processes on one machine.
"""

from __future__ import annotations

import re
import threading

from conftest import sync_report
from helpers import event

THREADS = 6
WRITES_PER_THREAD = 20


def test_concurrent_writers_on_two_processes_lose_nothing_and_sync_skips_nothing(
    backend, two_servers
):
    a, b = two_servers
    login = a.user()
    path = f"/{login}/calendar/"
    acknowledged: set[str] = set()
    lock = threading.Lock()
    failures: list[str] = []
    done = threading.Event()
    synced: set[str] = set()

    def writer(n: int) -> None:
        srv = two_servers[n % 2]
        with srv.client(login) as http:
            for i in range(WRITES_PER_THREAD):
                href = f"w{n}-{i}.ics"
                body = event(f"w{n}-{i}", "20260801T100000Z", "20260801T110000Z", f"t{n} {i}")
                response = http.put(
                    path + href, content=body.encode(), headers={"Content-Type": "text/calendar"}
                )
                if response.status_code == 201:
                    with lock:
                        acknowledged.add(href)
                else:
                    failures.append(f"{href}: {response.status_code}")
                # Everyone also rewrites one shared event: last writer wins, nothing breaks.
                shared = event("shared", "20260802T100000Z", "20260802T110000Z", f"{n}-{i}")
                http.put(
                    path + "shared.ics",
                    content=shared.encode(),
                    headers={"Content-Type": "text/calendar"},
                )

    def syncer() -> None:
        token = ""
        with b.client(login) as http:
            while True:
                finished = done.is_set()
                token, text = sync_report(http, path, token)
                synced.update(re.findall(r"/([^/<]+\.ics)</href>", text))
                if finished:
                    return

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    sync_thread = threading.Thread(target=syncer)
    sync_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    sync_thread.join()

    assert failures == []
    assert len(acknowledged) == THREADS * WRITES_PER_THREAD
    with a.client(login) as http:
        listing = http.request("PROPFIND", path, headers={"Depth": "1"}).text
    stored = set(re.findall(r"/([^/<]+\.ics)</href>", listing))
    assert acknowledged <= stored
    assert acknowledged | {"shared.ics"} <= synced
