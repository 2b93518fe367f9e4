"""Import of real-world export files (with broken entries) and streamed export, CLI and API."""

from __future__ import annotations

from conftest import sync_report
from helpers import FIXTURES, api_import, many_events


def reasons(report: dict) -> str:
    return "\n".join(s["reason"] for s in report["skipped"])


def test_google_export_with_feed_time_zone_and_detached_override(server):
    login = server.user()
    base = f"/{login}/calendar/"
    with server.client(login) as http:
        report = api_import(http, "google.ics")
        assert (report["added"], report["updated"], len(report["skipped"])) == (3, 0, 2)
        assert "without UID" in reasons(report) and "broken-date@google.com" in reasons(report)
        floating = http.get(base + "floating-lunch@google.com.ics").text
        assert "DTSTART;TZID=Europe/Zurich:20260110T140000" in floating
        assert "BEGIN:VTIMEZONE" in floating
        series = http.get(base + "7kukuqrfedlm2f9t0vr42q2lsf@google.com.ics").text
        assert series.count("BEGIN:VEVENT") == 2 and "RECURRENCE-ID" in series
        again = api_import(http, "google.ics")
        assert (again["added"], again["updated"]) == (0, 3)


def test_apple_export_with_x_apple_properties_and_a_truncated_event(server):
    login = server.user()
    base = f"/{login}/calendar/"
    with server.client(login) as http:
        report = api_import(http, "apple.ics")
        assert (report["added"], len(report["skipped"])) == (3, 1)
        assert "no END:VEVENT" in reasons(report)
        dentist = http.get(base + "6B29FC40-CA47-1067-B31D-00DD010662DA.ics").text
        assert "X-APPLE-STRUCTURED-LOCATION" in dentist and "TZID=America/New_York" in dentist
        assert "X-APPLE-SORT-ORDER" in http.get(base + "A1B2C3D4-TODO-0001.ics").text
        after = http.get(base + "AFTER-TRUNCATED-0001.ics").text
        assert "DTSTART;TZID=America/New_York:20260402T100000" in after


def test_outlook_export_with_windows_zone_names(server, cli, tmp_path):
    login = server.user()
    result = cli("import", login, str(FIXTURES / "outlook.ics"))
    assert result.stdout.strip() == "added 2, updated 0, skipped 2"
    assert "Nowhere Standard Time is not defined" in result.stderr
    assert "broken DTEND" in result.stderr
    with server.client(login) as http:
        found = http.get(f"/{login}/calendar/")
        assert found.status_code == 200
        text = found.text
    assert "DTSTART;TZID=Europe/Berlin:20260420T100000" in text
    assert "DTSTART;TZID=America/Los_Angeles:20260422T090000" in text
    assert "W. Europe Standard Time" not in text
    assert "X-MICROSOFT-CDO-BUSYSTATUS:BUSY" in text


def test_vcards_from_apple_and_vcard4_with_broken_cards(server):
    login = server.user()
    with server.client(login) as http:
        report = api_import(http, "apple.vcf")
        assert (report["added"], len(report["skipped"])) == (4, 2)
        assert "not a property" in reasons(report) and "no END:VCARD" in reasons(report)
        alice = http.get(f"/{login}/contacts/1C0B3E0A-ALICE.vcf").text
        assert "item1.EMAIL" in alice and "PHOTO" in alice
        assert api_import(http, "contacts4.vcf")["added"] == 2
        refused = http.post("/api/import", content=b"hello", headers={"Content-Type": "text/plain"})
        assert refused.status_code == 415
        garbage = http.post("/api/import", content=b"hello", headers={"Content-Type": "text/vcard"})
        assert garbage.status_code == 400 and "not a vCard file" in garbage.json()["error"]
        wrong = http.post(
            "/api/import",
            params={"into": f"/{login}/contacts/"},
            content=(FIXTURES / "google.ics").read_bytes(),
            headers={"Content-Type": "text/calendar"},
        )
        assert wrong.status_code == 400 and "not a calendar" in wrong.json()["error"]


def test_thousands_of_events_stream_in_with_progress_and_back_out(server, cli, tmp_path):
    login = server.user()
    big = tmp_path / "big.ics"
    big.write_text(many_events(3000))
    result = cli("import", login, str(big), timeout=900)  # a shared CI machine can be slow
    assert result.stdout.strip() == "added 2998, updated 0, skipped 2"
    progress = [line for line in result.stderr.splitlines() if line.startswith("...")]
    assert progress == [f"... {n} entries read" for n in (1000, 2000, 3000)]
    with server.client(login) as http:
        _, listing = sync_report(http, f"/{login}/calendar/")
        assert listing.count(".ics</") >= 2998
        with http.stream("GET", "/api/export", params={"path": f"/{login}/calendar/"}) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
            exported = "".join(r.iter_text())
        assert exported.count("BEGIN:VEVENT") == 2998
        assert exported.startswith("BEGIN:VCALENDAR") and exported.endswith("END:VCALENDAR\r\n")


def test_export_api_streams_address_books_and_refuses_others(server):
    login, other = server.user(), server.user()
    with server.client(login) as http:
        api_import(http, "contacts4.vcf")
        response = http.get("/api/export", params={"path": f"/{login}/contacts/"})
        assert response.status_code == 200 and response.text.count("BEGIN:VCARD") == 2
        assert response.headers["content-type"].startswith("text/vcard")
        assert http.get("/api/export", params={"path": f"/{other}/contacts/"}).status_code == 404
