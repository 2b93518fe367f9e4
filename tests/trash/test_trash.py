"""Trash over DAV, the API and the CLI: restore where it was, clashes, retention purge."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from calcard import accounts, store, trash

from conftest import PASSWORD
from helpers import dav, event

VCARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\nEND:VCARD\r\n"


def put(http, path: str, text: str, media: str = "text/calendar") -> None:
    response = http.put(path, content=text.encode(), headers={"Content-Type": media})
    assert response.status_code in (201, 204), response.text


def trash_ids(http) -> dict[str, dict]:
    """Trash entries by path."""
    response = http.get("/api/trash")
    assert response.status_code == 200, response.text
    return {e["path"]: e for e in response.json()["trash"]}


def test_deleted_event_comes_back_in_the_clients_next_sync(server):
    login = server.user()
    cal = dav(server, login).principal().calendar(cal_id="calendar")
    cal.save_event(event("keep-1", "20261201T100000Z", "20261201T110000Z", "Keep"))
    doomed = cal.save_event(event("gone-1", "20261202T100000Z", "20261202T110000Z", "Budget"))
    token = cal.objects_by_sync_token(load_objects=False, disable_fallback=True).sync_token
    doomed.delete()
    after_delete = cal.objects_by_sync_token(
        sync_token=token, load_objects=False, disable_fallback=True
    )
    assert [str(u).rsplit("/", 1)[-1] for u in after_delete.deleted_urls] == ["gone-1.ics"]

    with server.client(login) as http:
        entry = trash_ids(http)[f"/{login}/calendar/gone-1.ics"]
        assert entry["kind"] == "vevent" and entry["uid"] == "gone-1"
        assert entry["title"] == "Budget" and entry["from"] == f"/{login}/calendar/"
        assert entry["deleted_by"] == login
        purge_at = datetime.fromisoformat(entry["purge_at"])
        assert purge_at - datetime.fromisoformat(entry["deleted_at"]) == timedelta(days=30)
        restored = http.post(f"/api/trash/{entry['id']}/restore")
        assert restored.status_code == 200, restored.text
        assert restored.json() == {"restored": f"/{login}/calendar/gone-1.ics", "uid": "gone-1"}
        assert trash_ids(http) == {}
        assert http.post(f"/api/trash/{entry['id']}/restore").status_code == 404

    changes = cal.objects_by_sync_token(
        sync_token=after_delete.sync_token, load_objects=True, disable_fallback=True
    )
    assert [str(o.icalendar_component["UID"]) for o in changes] == ["gone-1"]
    assert list(changes.deleted_urls) == []


def test_reused_uid_asks_for_a_target_or_a_new_uid(server):
    login = server.user()
    base = f"/{login}/calendar/"
    with server.client(login) as http:
        put(http, base + "a.ics", event("dup", "20261203T100000Z", "20261203T110000Z", "Old"))
        assert http.delete(base + "a.ics").status_code == 200
        put(http, base + "b.ics", event("dup", "20261203T100000Z", "20261203T110000Z", "New"))
        assert http.request("MKCALENDAR", f"/{login}/other/").status_code == 201
        entry = trash_ids(http)[base + "a.ics"]

        conflict = http.post(f"/api/trash/{entry['id']}/restore")
        assert conflict.status_code == 409
        body = conflict.json()
        assert "in use again" in body["error"]
        assert body["options"] == {"into": [f"/{login}/other/"], "new_uid": True}
        assert "SUMMARY:New" in http.get(base + "b.ics").text  # nothing overwritten

        renamed = http.post(f"/api/trash/{entry['id']}/restore", json={"new_uid": True})
        assert renamed.status_code == 200, renamed.text
        new_uid = renamed.json()["uid"]
        assert new_uid != "dup"
        text = http.get(renamed.json()["restored"]).text
        assert f"UID:{new_uid}" in text and "SUMMARY:Old" in text

        put(http, base + "c.ics", event("dup2", "20261204T100000Z", "20261204T110000Z"))
        assert http.delete(base + "c.ics").status_code == 200
        put(http, base + "c.ics", event("dup2", "20261204T100000Z", "20261204T110000Z"))
        entry = trash_ids(http)[base + "c.ics"]
        moved = http.post(f"/api/trash/{entry['id']}/restore", json={"into": f"/{login}/other/"})
        assert moved.json() == {"restored": f"/{login}/other/dup2.ics", "uid": "dup2"}
        bad = http.post(f"/api/trash/{entry['id']}/restore", json={"into": 3})
        assert bad.status_code == 400


def test_deleted_calendar_restores_under_another_path_when_its_name_is_taken(server, cli):
    login = server.user()
    with server.client(login) as http:
        put(
            http,
            f"/{login}/calendar/x.ics",
            event("in-cal", "20261205T100000Z", "20261205T110000Z"),
        )
        assert http.delete(f"/{login}/calendar/").status_code == 200
        assert http.request("MKCALENDAR", f"/{login}/calendar/").status_code == 201
        listed = cli("trash", "list", login).stdout.splitlines()
        entry = next(line for line in listed if line.startswith("collection-")).split("\t")[0]
        refused = cli("trash", "restore", login, entry, ok=False).stderr
        assert "exists again" in refused and f"--into /{login}/calendar-restored/" in refused
        done = cli("trash", "restore", login, entry, "--into", f"/{login}/old-calendar/")
        assert done.stdout.strip() == f"restored /{login}/old-calendar/"
        assert "in-cal" in http.get(f"/{login}/old-calendar/x.ics").text


def test_deleted_contact_restores_over_carddav(server):
    login = server.user()
    path = f"/{login}/contacts/ann.vcf"
    with server.client(login) as http:
        put(http, path, VCARD.format(uid="ann", name="Ann Lee"), "text/vcard")
        assert http.delete(path).status_code == 200
        assert http.get(path).status_code == 404
        entry = trash_ids(http)[path]
        assert (entry["kind"], entry["title"]) == ("vcard", "Ann Lee")
        assert http.post(f"/api/trash/{entry['id']}/restore").status_code == 200
        assert "FN:Ann Lee" in http.get(path).text


def test_purge_keeps_trash_for_the_plans_retention(server):
    db = server.backend.db
    team = server.user()
    free_org = f"free-{uuid.uuid4().hex[:8]}"
    with db.transaction(write=True) as s:
        accounts.create_org(s, free_org, plan="free")
    free = server.user(org=free_org)
    for login in (team, free):
        with server.client(login) as http:
            put(
                http, f"/{login}/calendar/p.ics", event("p", "20261206T100000Z", "20261206T110000Z")
            )
            assert http.delete(f"/{login}/calendar/p.ics").status_code == 200
            assert http.delete(f"/{login}/contacts/").status_code == 200
    now = datetime.now(UTC)

    def left(login: str, days: float) -> int:
        with db.transaction(write=True, owners=[login]) as s:
            trash.purge_owner(s, login, now + timedelta(days=days))
            return len(trash.list_trash(s, login))

    assert left(free, 6.9) == 2
    assert left(free, 7.1) == 0
    assert left(team, 29.9) == 2
    assert left(team, 30.1) == 0
    with db.transaction() as s:
        assert store.get_collection(s, f"{team}/calendar") is not None


def test_purge_command_and_periodic_job_leave_recent_trash(server, cli):
    login = server.user()
    with server.client(login) as http:
        put(http, f"/{login}/calendar/r.ics", event("r", "20261207T100000Z", "20261207T110000Z"))
        assert http.delete(f"/{login}/calendar/r.ics").status_code == 200
    assert cli("trash", "purge").stdout.startswith("purged ")
    assert len(cli("trash", "list", login).stdout.splitlines()) == 1
    later = (datetime.now(UTC) + timedelta(days=31)).isoformat()
    assert cli("trash", "purge", "--now", later).stdout.startswith("purged ")
    assert cli("trash", "list", login).stdout.strip() == ""


def test_trash_api_needs_a_login(server):
    import httpx

    assert httpx.get(server.url + "/api/trash").status_code == 401
    login = server.user()
    with server.client(login, PASSWORD) as http:
        assert http.post("/api/trash/item-1/restore").status_code == 404
        assert http.post("/api/trash/nonsense/restore").status_code == 400
