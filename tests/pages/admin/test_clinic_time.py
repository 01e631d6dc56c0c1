"""The clinic's time zone: set on the admin's clinic page (or ``PUT /api/clinic``), and
used for every time the pages show; its quiet hours, alert address and alert repeats."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from bs4 import Tag

from needlewise.errors import InputError
from needlewise.security.roles import Role
from needlewise.services.clinic_time import ClinicZones, local, parse_zone
from support.pages import sign_in, soup, visible_text
from support.service import Service

ADMIN = "admin@clinic.example"


@pytest.mark.parametrize(
    ("moment", "zone", "shown"),
    [
        (datetime(2026, 12, 8, 15, 30, tzinfo=UTC), "America/Chicago", "2026-12-08 09:30 CST"),
        (datetime(2026, 7, 8, 15, 30, tzinfo=UTC), "America/Chicago", "2026-07-08 10:30 CDT"),
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "Europe/Madrid", "2026-03-29 01:59 CET"),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "Europe/Madrid", "2026-03-29 03:00 CEST"),
        (datetime(2026, 12, 8, 15, 30), "UTC", "2026-12-08 15:30 UTC"),  # no zone: UTC
        (datetime(2026, 12, 8, 3, 30, tzinfo=UTC), "America/Los_Angeles", "2026-12-07 19:30 PST"),
    ],
)
def test_a_stored_time_is_shown_in_the_clinic_zone(moment: datetime, zone: str, shown: str) -> None:
    assert local(moment, ZoneInfo(zone)) == shown


def test_the_date_alone_is_the_clinic_date_and_no_time_is_a_dash() -> None:
    late = datetime(2026, 12, 8, 3, 30, tzinfo=UTC)
    assert local(late, ZoneInfo("America/New_York"), "%Y-%m-%d") == "2026-12-07"
    assert local(None, ZoneInfo("UTC")) == "\u2013"


@pytest.mark.parametrize(
    "name", ["EST", "", "Mars/Olympus", "America/Chicago ; drop", "posixrules"]
)
def test_only_iana_zone_names_are_accepted(name: str) -> None:
    with pytest.raises(InputError) as refused:
        parse_zone(name)
    assert refused.value.where == "time_zone"
    assert "time zone name" in refused.value.problem


def test_the_api_sets_and_checks_the_aftercare_settings(service: Service) -> None:
    client, headers = service.client, service.headers(Role.admin)
    first = client.get("/api/clinic", headers=headers)
    clinic = first.json()
    assert clinic["time_zone"] == "UTC"  # the default until the clinic sets its own
    assert (clinic["quiet_hours_start"], clinic["quiet_hours_end"]) == ("21:00", "08:00")
    body = {"name": clinic["name"], "phones": clinic["phones"], "languages": clinic["languages"]}
    etag = {"If-Match": first.headers["etag"]}
    bad = client.put("/api/clinic", json={**body, "time_zone": "CST"}, headers={**headers, **etag})
    assert bad.status_code == 422, bad.text
    assert "time_zone" in bad.text
    assert client.get("/api/clinic", headers=headers).json()["version"] == clinic["version"]
    for field, wrong in (("quiet_hours_start", "9pm"), ("quiet_hours_end", "24:00")):
        refused = client.put(
            "/api/clinic", json={**body, field: wrong}, headers={**headers, **etag}
        )
        assert refused.status_code == 422
        assert field in refused.text
    done = client.put(
        "/api/clinic",
        json={
            **body,
            "time_zone": "America/Chicago",
            "quiet_hours_start": "22:00",
            "quiet_hours_end": "07:30",
            "alert_email": "alerts@clinic.example",
            "aftercare": {"alert_repeat_minutes": {"emergency": 10}},
        },
        headers={**headers, **etag},
    )
    assert done.status_code == 200, done.text
    saved = done.json()
    assert saved["time_zone"] == "America/Chicago"
    assert (saved["quiet_hours_start"], saved["quiet_hours_end"]) == ("22:00", "07:30")
    assert saved["alert_email"] == "alerts@clinic.example"
    assert saved["aftercare"]["alert_repeat_minutes"] == {"emergency": 10}
    # a client that leaves the aftercare fields out keeps them
    again = client.put(
        "/api/clinic", json=body, headers={**headers, "If-Match": done.headers["etag"]}
    )
    assert again.status_code == 200, again.text
    assert again.json()["time_zone"] == "America/Chicago"
    assert again.json()["alert_email"] == "alerts@clinic.example"


def _version(page_html: object) -> str:
    version = soup(page_html).find("input", attrs={"name": "version"})  # type: ignore[arg-type]
    assert isinstance(version, Tag)
    return str(version["value"])


def test_the_admin_page_sets_the_zone_and_pages_show_local_times(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, ADMIN)
    page = client.get("/app/admin/clinic")
    assert "Still UTC" in visible_text(page)
    form = {
        "csrf_token": csrf,
        "name": "Synthetic Test Clinic",
        "phones": "555-0100",
        "languages": ["en", "es"],
        "time_zone": "Mars/Olympus",
        "quiet_hours_start": "21:00",
        "quiet_hours_end": "08:00",
        "alert_email": "",
        "repeat_emergency": "",
        "repeat_call_provider": "90",
    }
    refused = client.post("/app/admin/clinic", data={**form, "version": _version(page)})
    assert refused.status_code == 422
    problem = soup(refused).find(id="time_zone-error")
    assert problem is not None
    assert "America/Chicago" in problem.get_text()
    assert (
        client.get("/api/clinic", headers=service.headers(Role.admin)).json()["time_zone"] == "UTC"
    )
    too_long = client.post(
        "/app/admin/clinic",
        data={**form, "time_zone": "America/Denver", "repeat_call_provider": "5000",
              "version": _version(page)},
    )  # fmt: skip
    assert too_long.status_code == 422
    assert "1440" in visible_text(too_long)
    saved = client.post(
        "/app/admin/clinic",
        data={**form, "time_zone": "America/Denver", "version": _version(page)},
    )
    assert saved.status_code == 303, visible_text(saved)[:400]
    clinic = client.get("/api/clinic", headers=service.headers(Role.admin)).json()
    assert clinic["time_zone"] == "America/Denver"
    assert clinic["alert_email"] is None
    assert clinic["aftercare"]["alert_repeat_minutes"] == {"call-provider": 90}
    shown = client.get("/app/admin/clinic")
    assert "Still UTC" not in visible_text(shown)
    # the audit log shows its entries in Mountain time
    audit = visible_text(client.get("/app/admin/audit"))
    assert " MST" in audit or " MDT" in audit
    assert " UTC" not in audit


def test_spanish_admin_page_names_the_zone_problem_in_spanish(service: Service) -> None:
    client = service.client
    csrf = sign_in(client, ADMIN)
    page = client.get("/app/admin/clinic?lang=es")
    assert "Zona horaria" in visible_text(page)
    refused = client.post(
        "/app/admin/clinic?lang=es",
        data={"csrf_token": csrf, "version": _version(page), "name": "Clínica", "phones": "",
              "languages": ["en", "es"], "time_zone": "EST", "quiet_hours_start": "7pm",
              "quiet_hours_end": "08:00"},
    )  # fmt: skip
    assert refused.status_code == 422
    text = visible_text(refused)
    assert "Escriba el nombre de una zona horaria" in text


def test_a_zone_is_remembered_until_the_admin_changes_it(service: Service) -> None:
    zones = ClinicZones()
    db = service.runtime.db
    assert zones.zone(db, service.clinic_id).key == "UTC"
    assert zones.zone(db, None).key == "UTC"
    assert zones.zone(db, 999_999).key == "UTC"  # no such clinic
    client, headers = service.client, service.headers(Role.admin)
    first = client.get("/api/clinic", headers=headers)
    clinic = first.json()
    body = {"name": clinic["name"], "phones": clinic["phones"], "languages": clinic["languages"],
            "time_zone": "Pacific/Honolulu"}  # fmt: skip
    changed = client.put(
        "/api/clinic", json=body, headers={**headers, "If-Match": first.headers["etag"]}
    )
    assert changed.status_code == 200, changed.text
    assert zones.zone(db, service.clinic_id).key == "UTC"  # this cache was not told
    zones.forget(service.clinic_id)
    assert zones.zone(db, service.clinic_id).key == "Pacific/Honolulu"
    # the app's own cache was told at once
    assert service.runtime.clinic_zones.zone(db, service.clinic_id).key == "Pacific/Honolulu"
