"""Import benchmark: a generated .ics of N events through `calcard import`, time and peak memory.

    .venv/bin/python benchmarks/import_bench.py                 # 20,000 events on SQLite
    .venv/bin/python benchmarks/import_bench.py --events 5000 --postgres

The import runs as the real CLI in a child process on a fresh database; its
peak resident memory comes from the kernel (``ru_maxrss`` of the child), so
the figure includes the interpreter and every library calcard loads. A second
run with a tenth of the events shows how much of that grows with the file.
Figures depend on the machine and its load: compare runs on the same machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PG_ADMIN_URL = os.environ.get(
    "CALCARD_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def write_feed(path: Path, count: int) -> None:
    """A Google-like feed: a VTIMEZONE, 10% weekly series, 5% with an alarm, a few broken."""
    with path.open("w") as out:
        out.write(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calcard bench//EN\r\n"
            "X-WR-TIMEZONE:Europe/Zurich\r\n"
        )
        for n in range(count):
            start = f"{2026 + n % 3}{1 + n % 12:02d}{1 + n % 28:02d}T{8 + n % 10:02d}0000"
            extra = "RRULE:FREQ=WEEKLY;COUNT=10\r\n" if n % 10 == 0 else ""
            if n % 20 == 0:
                extra += "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT10M\r\nEND:VALARM\r\n"
            if n % 5000 == 4999:
                start = "broken"
            out.write(
                f"BEGIN:VEVENT\r\nUID:bench-{n}@example.com\r\nDTSTAMP:20260101T000000Z\r\n"
                f"DTSTART:{start}\r\nDURATION:PT1H\r\nSUMMARY:Event {n}\r\n{extra}END:VEVENT\r\n"
            )
        out.write("END:VCALENDAR\r\n")


def calcard(env: dict, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "calcard.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )


def measure(url: str, feed: Path) -> tuple[float, float, str]:
    """(seconds, peak MiB, summary) of one `calcard import` into a fresh user."""
    env = {**os.environ, "CALCARD_DATABASE_URL": url}
    login = f"bench{uuid.uuid4().hex[:6]}"
    org = f"Bench {login}"
    calcard(env, "org", "create", org, "--plan", "team")
    calcard(env, "user", "add", login, "--org", org, "--role", "legal-representative",
            "--password-stdin", stdin="bench-password\n")  # fmt: skip
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "calcard.cli", "import", login, str(feed)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak, not all children's
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"calcard import failed with exit code {child.returncode}")
    return seconds, usage.ru_maxrss / 1024, output.strip().splitlines()[-1]


def database(postgres: bool, tmp: Path, size: int) -> str:
    if not postgres:
        return f"sqlite:///{tmp / f'bench-{size}.db'}"
    import psycopg

    name = f"calcard_importbench_{os.getpid()}_{size}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def drop(url: str) -> None:
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for size in (max(args.events // 10, 1), args.events):
            feed = tmp / f"feed-{size}.ics"
            write_feed(feed, size)
            url = database(args.postgres, tmp, size)
            try:
                seconds, peak, summary = measure(url, feed)
            finally:
                drop(url)
            mib = feed.stat().st_size / 2**20
            print(
                f"{'postgresql' if args.postgres else 'sqlite'}: {size} events "
                f"({mib:.1f} MiB file): {seconds:.1f} s, {size / seconds:.0f} events/s, "
                f"peak RSS {peak:.0f} MiB; {summary}"
            )


if __name__ == "__main__":
    main()
