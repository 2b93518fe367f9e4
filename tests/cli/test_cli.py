"""The administration CLI as operators run it: real subprocesses on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from conftest import sync_report
from helpers import event


@pytest.fixture
def org(cli):
    name = f"Org {uuid.uuid4().hex[:6]}"
    cli("org", "create", name, "--plan", "team")
    return name


def add_user(cli, org: str, role: str = "collaborator", password: str = "s3cret-pass") -> str:
    login = f"cli{uuid.uuid4().hex[:8]}"
    cli(
        "user",
        "add",
        login.upper(),
        "--org",
        org,
        "--role",
        role,
        "--email",
        f"{login}@example.com",
        "--name",
        "Some One",
        "--password-stdin",
        stdin=password + "\n",
    )
    return login


def test_users_roles_and_refusals(cli, org, server):
    boss = add_user(cli, org, "legal-representative")
    worker = add_user(cli, org)
    with server.client(worker, "s3cret-pass") as http:
        assert http.request("PROPFIND", f"/{worker}/", headers={"Depth": "1"}).status_code == 207

    assert (
        "no organization"
        in cli(
            "user",
            "add",
            "x1",
            "--org",
            "Nope",
            "--role",
            "collaborator",
            "--password-stdin",
            stdin="pw-long-enough\n",
            ok=False,
        ).stderr
    )
    assert "already exists" in cli("org", "create", org, ok=False).stderr
    assert "last legal representative" in cli("user", "remove", boss, "--org", org, ok=False).stderr
    assert (
        "last legal representative"
        in cli("user", "role", boss, "--org", org, "--role", "administrator", ok=False).stderr
    )
    cli("user", "role", worker, "--org", org, "--role", "legal-representative")
    cli("user", "role", boss, "--org", org, "--role", "administrator")
    assert (
        "unknown time zone"
        in cli("user", "set", worker, "--timezone", "Mars/Base", ok=False).stderr
    )
    cli(
        "user",
        "set",
        worker,
        "--timezone",
        "Europe/Zurich",
        "--chat-webhook",
        "http://127.0.0.1:9/hook",
        "--email",
        "new@example.com",
    )
    for language in ("en", "de", "fr", "it", "es"):  # CONTRACT.md's languages
        cli("user", "set", worker, "--language", language)
    cli("user", "remove", boss, "--org", org)
    with server.client(boss, "s3cret-pass") as http:
        assert http.request("PROPFIND", f"/{boss}/", headers={"Depth": "0"}).status_code == 401


def test_app_password_is_printed_last_and_logs_in(cli, org, server):
    login = add_user(cli, org)
    out = cli("app-password", "add", login, "--label", "Phone").stdout
    secret = out.strip().splitlines()[-1]
    with server.client(login, secret) as http:
        assert http.request("PROPFIND", f"/{login}/", headers={"Depth": "0"}).status_code == 207
    with server.client(login, secret + "x") as http:
        assert http.request("PROPFIND", f"/{login}/", headers={"Depth": "0"}).status_code == 401


def test_shares_give_read_then_write_and_exclude_externals_from_org_shares(cli, org, server):
    owner = add_user(cli, org)
    reader = add_user(cli, org)
    external = add_user(cli, org, "external")
    path = f"/{owner}/calendar/"
    body = event("shared-1", "20260901T100000Z", "20260901T110000Z").encode()
    headers = {"Content-Type": "text/calendar"}
    with server.client(owner, "s3cret-pass") as http:
        assert http.put(path + "s.ics", content=body, headers=headers).status_code == 201

    with server.client(reader, "s3cret-pass") as http:
        assert http.get(path + "s.ics").status_code == 403
        cli("share", "add", path, "--user", reader, "--access", "read")
        assert http.get(path + "s.ics").status_code == 200
        assert (
            http.put(
                path + "r.ics", content=body.replace(b"shared-1", b"r"), headers=headers
            ).status_code
            == 403
        )
        cli("share", "add", path, "--user", reader, "--access", "read-write")
        assert (
            http.put(
                path + "r.ics", content=body.replace(b"shared-1", b"r"), headers=headers
            ).status_code
            == 201
        )
        assert http.request("DELETE", path).status_code == 403
        cli("share", "remove", path, "--user", reader)
        assert http.get(path + "s.ics").status_code == 403

    cli("share", "add", path, "--org", org, "--access", "read")
    with server.client(reader, "s3cret-pass") as http:
        assert http.get(path + "s.ics").status_code == 200
    with server.client(external, "s3cret-pass") as http:
        assert http.get(path + "s.ics").status_code == 403
    assert "exactly one" in cli("share", "add", path, "--access", "read", ok=False).stderr
    assert (
        "no single workgroup"
        in cli("share", "add", path, "--group", "Nobody", "--access", "read", ok=False).stderr
    )


def test_import_reports_and_export_round_trips(cli, org, server, tmp_path):
    login = add_user(cli, org)
    ics = tmp_path / "in.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n"
        "BEGIN:VTIMEZONE\r\nTZID:Europe/Zurich\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
        "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
        "BEGIN:VEVENT\r\nUID:imp-1\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART;TZID=Europe/Zurich:20261005T090000\r\nDURATION:PT1H\r\nSUMMARY:One\r\n"
        "END:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:imp-2\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261006T090000Z\r\n"
        "RRULE:FREQ=DAILY;COUNT=3\r\nSUMMARY:Two\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20261007T090000Z\r\n"
        "SUMMARY:No UID\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    result = cli("import", login, str(ics))
    assert result.stdout.strip().splitlines()[-1] == "added 2, updated 0, skipped 1"
    assert "without UID" in result.stderr
    assert cli("import", login, str(ics)).stdout.strip().endswith("added 0, updated 2, skipped 1")

    with server.client(login, "s3cret-pass") as http:
        found = http.get(f"/{login}/calendar/imp-2.ics")
        assert found.status_code == 200 and "RRULE:FREQ=DAILY;COUNT=3" in found.text
        query = """<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:"
            xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>
            <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
            <C:time-range start="20261008T000000Z" end="20261009T000000Z"/>
            </C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"""
        response = http.request(
            "REPORT",
            f"/{login}/calendar/",
            content=query.encode(),
            headers={"Depth": "1", "Content-Type": "application/xml"},
        )
        assert "imp-2.ics" in response.text and "imp-1.ics" not in response.text

    exported = cli("export", f"/{login}/calendar/").stdout
    assert exported.count("BEGIN:VEVENT") == 2
    assert exported.count("BEGIN:VTIMEZONE") == 1
    vcf = tmp_path / "in.vcf"
    vcf.write_text("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No Uid\r\nN:Uid;No;;;\r\nEND:VCARD\r\n")
    assert cli("import", login, str(vcf)).stdout.strip().endswith("added 1, updated 0, skipped 0")
    assert "FN:No Uid" in cli("export", f"/{login}/contacts/").stdout
    assert "no calendar" in cli("export", "/nobody/nothing/", ok=False).stderr


def test_trash_list_and_restore_reappears_in_sync(cli, org, server):
    login = add_user(cli, org)
    path = f"/{login}/calendar/"
    with server.client(login, "s3cret-pass") as http:
        http.put(
            path + "t.ics",
            content=event("trash-1", "20261101T100000Z", "20261101T110000Z").encode(),
            headers={"Content-Type": "text/calendar"},
        )
        token, _ = sync_report(http, path)
        assert http.delete(path + "t.ics").status_code == 200
        lines = cli("trash", "list", login).stdout.strip().splitlines()
        assert len(lines) == 1 and "trash-1" in lines[0]
        entry = lines[0].split("\t")[0]
        assert cli("trash", "restore", login, entry).stdout.startswith("restored")
        assert http.get(path + "t.ics").status_code == 200
        _, delta = sync_report(http, path, token)
        assert "t.ics" in delta
        assert "no trash entry" in cli("trash", "restore", login, "item-999999", ok=False).stderr
        assert http.request("DELETE", path).status_code == 200
        lines = cli("trash", "list", login).stdout.strip().splitlines()
        entry = [line for line in lines if line.startswith("collection-")][0].split("\t")[0]
        cli("trash", "restore", login, entry)
        assert http.get(path + "t.ics").status_code == 200


def test_cli_refuses_to_remove_or_demote_the_last_legal_representative(cli, org):
    boss = add_user(cli, org, "legal-representative")
    stderr = cli("user", "role", boss, "--org", org, "--role", "collaborator", ok=False).stderr
    assert "last legal representative" in stderr
    assert "last legal representative" in cli("user", "remove", boss, "--org", org, ok=False).stderr


def test_cli_app_passwords_list_and_revoke(cli, org, server):
    login = add_user(cli, org)
    secret = cli("app-password", "add", login, "--label", "Tablet").stdout.strip().splitlines()[-1]
    listed = cli("app-password", "list", login).stdout.strip().splitlines()
    assert len(listed) == 1 and "\tTablet\t" in listed[0]
    password_id = listed[0].split("\t")[0]
    cli("app-password", "revoke", login, password_id)
    assert cli("app-password", "list", login).stdout.strip() == ""
    assert "no app password" in cli("app-password", "revoke", login, password_id, ok=False).stderr
    with server.client(login, secret) as http:
        assert http.request("PROPFIND", f"/{login}/", headers={"Depth": "0"}).status_code == 401


def test_cli_workgroups_as_share_targets_and_public_links(cli, org, server):
    owner = add_user(cli, org)
    member = add_user(cli, org)
    cli("workgroup", "add", "Ops", "--org", org)
    assert "already exists" in cli("workgroup", "add", "Ops", "--org", org, ok=False).stderr
    cli("workgroup", "join", "Ops", member, "--org", org)
    assert cli("workgroup", "list", "--org", org).stdout.strip() == f"Ops\t{member}"
    cli("share", "add", f"/{owner}/calendar/", "--group", "Ops", "--access", "read")
    with server.client(member, "s3cret-pass") as http:
        response = http.request("PROPFIND", f"/{member}/", headers={"Depth": "1"})
        assert f"/{member}/shared-{owner}-calendar/" in response.text
    cli("workgroup", "remove", "Ops", "--org", org)
    with server.client(member, "s3cret-pass") as http:
        response = http.request("PROPFIND", f"/{member}/", headers={"Depth": "1"})
        assert "shared-" not in response.text
    url = cli("public-link", "add", f"/{owner}/calendar/", "--expires", "30d").stdout
    token_path = url.strip().splitlines()[-1].split("/api/", 1)[1]
    with server.client(owner, "s3cret-pass") as http:
        assert http.get("/api/" + token_path).status_code == 200
    link_id = cli("public-link", "list", f"/{owner}/calendar/").stdout.split("\t")[0]
    cli("public-link", "revoke", f"/{owner}/calendar/", link_id)
    with server.client(owner, "s3cret-pass") as http:
        assert http.get("/api/" + token_path).status_code == 404


def test_usage_errors_are_one_line_with_exit_code_2_and_change_nothing(cli, org, server):
    """CONTRACT.md: a refusal is one line on stderr. Click's own usage errors (a missing
    argument, an unknown command, option or choice) are refusals too."""
    login = f"cli{uuid.uuid4().hex[:8]}"
    wrong = (
        ("user", "add"),
        ("nosuch",),
        ("user", "add", login, "--org", org, "--role", "emperor", "--password-stdin"),
        ("db", "upgrade", "--bogus"),
    )
    for args in wrong:
        result = cli(*args, stdin="pw-long-enough\n", ok=False)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1, (args, result.stderr)
        assert "calcard" in lines[0] and "--help" in lines[0], lines
    with server.client(login, "pw-long-enough") as http:
        assert http.request("PROPFIND", f"/{login}/", headers={"Depth": "0"}).status_code == 401
    assert cli("--help").returncode == 0
