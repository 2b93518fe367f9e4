"""The deployment's secrets: made once, whoever asks first; a race lost inside a read
transaction is an outage the retry survives (503), never a 500 or a second secret."""

from __future__ import annotations

import threading
import time
import uuid

from calcard.core import serversecrets
from calcard.core.db import unavailable


def test_two_readers_that_both_find_a_secret_missing_make_it_once(backend):
    """Both find it missing inside read transactions (as a request does when the start
    could not make it); the second waits on the first's insert and loses it. On
    PostgreSQL its snapshot predates the winner's row, on SQLite its write lock does:
    either way an outage to answer 503, and the next read has the winner's value."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    first_in, outcome = threading.Event(), {}

    def first() -> None:
        with backend.db.transaction() as s:
            outcome["first"] = serversecrets.stored(s, name, lambda: "first")
            first_in.set()
            time.sleep(0.5)  # the second is waiting on this insert now

    def second() -> None:
        first_in.wait(10)
        try:
            with backend.db.transaction() as s:
                outcome["second"] = serversecrets.stored(s, name, lambda: "second")
        except Exception as error:  # noqa: BLE001 - judged below
            outcome["second"] = error

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcome["first"] == "first"
    lost = outcome["second"]
    assert lost == "first" or (isinstance(lost, Exception) and unavailable(lost)), repr(lost)
    with backend.db.transaction() as s:
        assert serversecrets.stored(s, name, lambda: "third") == "first"
