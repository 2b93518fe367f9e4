"""`calcard user export` and `calcard user import`: moving one person with a bundle."""

from __future__ import annotations

import io
import json
import zipfile

from helpers import zoned_event

WEEKLY = zoned_event(
    "weekly", "20160104T090000", "20160104T100000", "\r\nRRULE:FREQ=WEEKLY;COUNT=900"
).replace("SUMMARY:weekly", "SUMMARY:Réunion d’équipe – 週会")
CARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nEND:VCARD\r\n"
MKCALENDAR = (
    '<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:set><D:prop><D:displayname>Arbeit – Büro</D:displayname></D:prop></D:set>"
    "</C:mkcalendar>"
)


def fill(server, login: str) -> None:
    with server.client(login) as http:
        assert (
            http.request("MKCALENDAR", f"/{login}/arbeit/", content=MKCALENDAR).status_code == 201
        )
        for path, body in (
            (f"/{login}/calendar/weekly.ics", WEEKLY),
            (f"/{login}/arbeit/far.ics", zoned_event("far", "20460301T100000", "20460301T110000")),
            (f"/{login}/contacts/c1.vcf", CARD.format(uid="c1", name="Zoë Ünal")),
            (f"/{login}/contacts/c2.vcf", CARD.format(uid="c2", name="Дмитрий Ковалёв")),
        ):
            assert http.put(path, content=body.encode()).status_code == 201
        changed = http.patch(
            "/api/me/preferences",
            json={
                "timezone": "Europe/Zurich",
                "week_start": 0,
                "default_calendar": f"/{login}/arbeit/",
            },
        )
        assert changed.status_code == 200, changed.text


def events_of(cli, path: str) -> list[str]:
    """The VEVENT blocks of an export, without the lines that differ between homes."""
    text = cli("export", path).stdout.replace("\r\n ", "")
    blocks = text.split("BEGIN:VEVENT")[1:]
    return sorted(b.split("END:VEVENT")[0] for b in blocks)


def test_a_person_moves_with_everything_to_another_account(server, cli, tmp_path):
    alice = server.user()
    fill(server, alice)
    cli("user", "set", alice, "--language", "de")
    file = tmp_path / "alice.zip"
    assert "3 collections" in cli("user", "export", alice, str(file)).stdout
    newcomer = server.user()  # another organization, a new account with its defaults
    imported = cli("user", "import", newcomer, str(file)).stdout
    assert f"/{newcomer}/arbeit/" in imported and "contacts/: added 2," in imported

    for name in ("calendar", "arbeit"):
        assert events_of(cli, f"/{alice}/{name}/") == events_of(cli, f"/{newcomer}/{name}/")
    cards = cli("export", f"/{newcomer}/contacts/").stdout
    assert "Zoë Ünal" in cards and "Дмитрий Ковалёв" in cards
    with server.client(newcomer) as http:
        prefs = http.get("/api/me/preferences").json()
        assert prefs["timezone"] == "Europe/Zurich"
        assert prefs["week_start"] == 0
        assert prefs["default_calendar"] == f"/{newcomer}/arbeit/"  # the new home's
        listing = http.request("PROPFIND", f"/{newcomer}/", headers={"Depth": "1"}).text
        assert "Arbeit – Büro" in listing
    # importing the same bundle again merges by UID: nothing doubles
    again = cli("user", "import", newcomer, str(file)).stdout
    assert "added 0" in again and "added 1" not in again
    assert events_of(cli, f"/{alice}/calendar/") == events_of(cli, f"/{newcomer}/calendar/")


def bundle_with(tmp_path, name: str, manifest: dict | None, files: dict[str, str]) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        if manifest is not None:
            zf.writestr("manifest.json", json.dumps(manifest))
        for member, text in files.items():
            zf.writestr(member, text)
    path = tmp_path / name
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_a_hostile_or_broken_bundle_is_refused_and_changes_nothing(server, cli, tmp_path):
    victim = server.user()
    fill(server, victim)
    before = {name: cli("export", f"/{victim}/{name}/").stdout for name in ("calendar", "arbeit")}
    with server.client(victim) as http:
        prefs = http.get("/api/me/preferences").json()
    good = {
        "format": "calcard-user-bundle",
        "version": 1,
        "login": "x",
        "timezone": "Asia/Tokyo",
        "settings": {"week_start": 3},
    }
    cal = {"tag": "VCALENDAR", "props": {}}
    ics = zoned_event("evil", "20270101T100000", "20270101T110000")
    bad = {
        "not a zip": None,
        "no manifest": bundle_with(tmp_path, "a.zip", None, {"calendars/x.ics": ics}),
        "other format": bundle_with(tmp_path, "b.zip", {**good, "format": "x"}, {}),
        "escaping name": bundle_with(
            tmp_path,
            "c.zip",
            {**good, "collections": [{**cal, "name": ".."}]},
            {"calendars/...ics": ics},
        ),
        "slash in name": bundle_with(
            tmp_path,
            "d.zip",
            {**good, "collections": [{**cal, "name": "a/b"}]},
            {"calendars/a/b.ics": ics},
        ),
        "missing file": bundle_with(
            tmp_path, "e.zip", {**good, "collections": [{**cal, "name": "calendar"}]}, {}
        ),
        "contacts into a calendar": bundle_with(
            tmp_path,
            "f.zip",
            {**good, "collections": [{"tag": "VADDRESSBOOK", "name": "arbeit", "props": {}}]},
            {"addressbooks/arbeit.vcf": CARD.format(uid="z", name="Z")},
        ),
        "control codes": bundle_with(
            tmp_path,
            "g.zip",
            {**good, "collections": [{**cal, "name": "new", "props": {"D:displayname": "a\x07"}}]},
            {"calendars/new.ics": ics},
        ),
    }
    not_zip = tmp_path / "plain.zip"
    not_zip.write_text("BEGIN:VCALENDAR\r\n")
    bad["not a zip"] = str(not_zip)
    for reason, path in bad.items():
        refused = cli("user", "import", victim, path, ok=False)
        assert "Traceback" not in refused.stderr, reason
    for name, text in before.items():
        assert cli("export", f"/{victim}/{name}/").stdout == text
    with server.client(victim) as http:
        assert http.get("/api/me/preferences").json() == prefs
        listing = http.request("PROPFIND", f"/{victim}/", headers={"Depth": "1"}).text
        assert f"/{victim}/new/" not in listing
