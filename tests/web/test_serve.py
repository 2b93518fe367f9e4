"""`calcard serve` as operators run it: migrations on start, routes, workers, clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from conftest import Backend, free_port


def wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("server did not become healthy")


def test_fresh_database_demo_workers_routes_and_sigterm(tmp_path):
    port = free_port()
    env = {**os.environ, "CALCARD_DATA_DIR": str(tmp_path)}
    env.pop("CALCARD_DATABASE_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "calcard.cli",
            "serve",
            "--demo",
            "--workers",
            "2",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        assert (tmp_path / "calcard.db").exists()  # the embedded default, migrated on start
        assert httpx.get(url + "/api/health").json() == {"status": "ok", "database": "sqlite"}
        missing = httpx.get(url + "/api/nothing")
        assert missing.status_code == 404 and "error" in missing.json()
        for kind in ("caldav", "carddav"):
            response = httpx.get(f"{url}/.well-known/{kind}", follow_redirects=False)
            assert response.status_code == 301 and response.headers["location"] == "/"
        with httpx.Client(base_url=url, auth=("alice", "alice-demo-pass")) as http:
            listing = http.request("PROPFIND", "/alice/", headers={"Depth": "1"})
            assert listing.status_code == 207
            assert "/alice/calendar/" in listing.text and "/alice/contacts/" in listing.text
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "login alice" in output
    assert "alice PROPFIND /alice/ 207" in output  # the access log line


def test_db_upgrade_command_is_idempotent(backend: Backend):
    env = {**os.environ, "CALCARD_DATABASE_URL": backend.url}
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "calcard.cli", "db", "upgrade"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert "up to date" in result.stdout
