"""Log lines: JSON with CALCARD_LOG_FORMAT=json, and a request id in the response's
X-Request-Id and in every line written for that request; a hostile id is replaced."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from conftest import Server, free_port, start_server, stop_server

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(scope="module")
def json_server(backend, tmp_path_factory) -> Iterator[Server]:
    srv = start_server(
        backend, tmp_path_factory.mktemp(f"logs-{backend.name}"), {"CALCARD_LOG_FORMAT": "json"}
    )
    yield srv
    stop_server(srv)


def entries(server: Server) -> list[dict]:
    """Every line of the server's log, each of which must be one JSON object."""
    time.sleep(0.3)  # the access line is written as the answer ends
    lines = server.log.read_text().splitlines()
    assert lines
    return [json.loads(line) for line in lines]


def test_json_lines_carry_the_request_id_the_response_shows(json_server):
    login = json_server.user()
    with json_server.client(login, "wrong password") as http:
        refused = http.request("PROPFIND", f"/{login}/", headers={"X-Request-Id": "lb-7f3a.1_x"})
    assert refused.status_code == 401 and refused.headers["x-request-id"] == "lb-7f3a.1_x"
    with json_server.client(login) as http:
        ok = http.get("/api/me")
    rid = ok.headers["x-request-id"]
    assert GENERATED.fullmatch(rid)
    found = entries(json_server)
    access = [e for e in found if e["logger"] == "calcard.access"]
    mine = [e for e in access if e.get("request_id") == rid]
    assert len(mine) == 1
    assert mine[0] | {"duration_ms": 0} == {
        **mine[0],
        "level": "INFO",
        "user": login,
        "method": "GET",
        "path": "/api/me",
        "status": 200,
        "duration_ms": 0,
    }
    # the refusal is logged by the DAV side, in its worker thread: with the request's id
    refusal = [e for e in found if e.get("request_id") == "lb-7f3a.1_x"]
    assert {e["logger"] for e in refusal} >= {"calcard.access", "calcard.auth"}, refusal
    assert all("login refused" in e["message"] for e in refusal if e["logger"] == "calcard.auth")
    assert all(e.get("request_id") for e in access)


def test_hostile_request_ids_are_replaced(json_server):
    for hostile in ("x" * 10_000, "a b", 'a"b', "a" * 65, "ünï".encode(), "a/../b", "a;b"):
        response = httpx.get(json_server.url + "/api/health", headers={"X-Request-Id": hostile})
        assert response.status_code == 200
        assert GENERATED.fullmatch(response.headers["x-request-id"]), hostile
    assert "x" * 100 not in json_server.log.read_text()
    # a bare line feed inside the header, sent as is: refused or replaced, never a log line
    forged = '{"level": "ERROR", "logger": "calcard.access", "message": "forged"}'
    with socket.create_connection(("127.0.0.1", int(json_server.url.rsplit(":", 1)[1]))) as sock:
        sock.sendall(
            f"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\n{forged}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith((b"HTTP/1.1 200", b"HTTP/1.1 400")), answer[:100]
    assert forged.encode() not in answer
    assert all(e["message"] != "forged" for e in entries(json_server))


def test_plain_lines_name_the_request_id(server):
    rid = "plain-" + uuid.uuid4().hex[:8]
    response = httpx.get(server.url + "/api/health", headers={"X-Request-Id": rid})
    assert response.headers["x-request-id"] == rid
    time.sleep(0.3)
    lines = [line for line in server.log.read_text().splitlines() if rid in line]
    assert len(lines) == 1
    assert re.search(
        rf"INFO calcard\.access: - GET /api/health 200 \S+ms \[request {rid}\]$", lines[0]
    )


def test_an_unknown_log_format_is_refused_in_one_line(tmp_path):
    env = {**os.environ, "CALCARD_DATA_DIR": str(tmp_path), "CALCARD_LOG_FORMAT": "xml"}
    env.pop("CALCARD_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "calcard.cli", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "calcard: CALCARD_LOG_FORMAT must be one of plain, json"
