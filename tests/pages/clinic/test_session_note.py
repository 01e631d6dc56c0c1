"""The session note: the coding preview (same use case as /api/code-session), saving
through the session rules (refusals shown with their reason), the clinician's override,
CSRF and role refusals."""

from __future__ import annotations

from typing import Any

from needlewise.security.roles import Role
from support.audit import entries_after, last_id, ref
from support.pages import sign_in, soup, visible_text
from support.service import Service
from support.treatment import add_screening, make_patient, make_provider, ready_patient

THREE = ["muscle.upper-trapezius", "muscle.levator-scapulae", "muscle.infraspinatus"]


def note_form(csrf: str, muscles: list[str], **fields: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "csrf_token": csrf,
        "muscle": muscles,
        "electrical_stimulation": "no",
        **{f"side-{m}": "left" for m in muscles},
        **{f"needles-{m}": "2" for m in muscles},
    }
    form.update(fields)
    return form


def sessions_of(service: Service, patient: int) -> list[dict[str, Any]]:
    listed = service.client.get(
        "/api/sessions", params={"patient_id": patient}, headers=service.headers(Role.clinician)
    )
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


def test_the_note_lists_every_muscle_by_region_with_a_side_and_needles(service: Service) -> None:
    patient, _provider = ready_patient(service)
    sign_in(service.client, service.users[Role.clinician].email)
    page = service.client.get(f"/app/patients/{patient}/sessions/new")
    assert page.status_code == 200
    parsed = soup(page)
    boxes = parsed.select('input[type="checkbox"][name="muscle"]')
    assert len(boxes) == len(service.runtime.kb.data.muscles)
    for box in boxes:
        assert parsed.find("label", attrs={"for": box["id"]}) is not None
        side = parsed.find("select", attrs={"name": f"side-{box['value']}"})
        assert side is not None
        assert parsed.find("label", attrs={"for": side["id"]}) is not None
    hotspots = parsed.select("svg.body .hotspot")
    assert {h["data-muscle"] for h in hotspots} <= {b["value"] for b in boxes}
    assert not parsed.select("[style]")


def test_preview_gives_20561_for_three_muscles_and_20560_for_one(service: Service) -> None:
    patient, _provider = ready_patient(service)
    csrf = sign_in(service.client, service.users[Role.clinician].email)
    url = f"/app/patients/{patient}/sessions/preview"
    three = service.client.post(url, data=note_form(csrf, THREE, payer="medicare"))
    assert three.status_code == 200
    assert soup(three).select_one(".cpt-code").get_text() == "20561"  # type: ignore[union-attr]
    assert "Coverage notes" in visible_text(three)
    one = service.client.post(url, data=note_form(csrf, THREE[:1]))
    assert soup(one).select_one(".cpt-code").get_text() == "20560"  # type: ignore[union-attr]


def test_check_coding_without_scripts_shows_the_same_on_the_page(service: Service) -> None:
    patient, _provider = ready_patient(service)
    csrf = sign_in(service.client, service.users[Role.clinician].email)
    page = service.client.post(
        f"/app/patients/{patient}/sessions", data=note_form(csrf, THREE, action="check")
    )
    assert page.status_code == 200
    parsed = soup(page)
    assert parsed.select_one(".cpt-code").get_text() == "20561"  # type: ignore[union-attr]
    checked = [b["value"] for b in parsed.select('input[name="muscle"][checked]')]
    assert sorted(checked) == sorted(THREE)
    assert sessions_of(service, patient) == []


def test_saving_records_the_session_and_goes_to_the_chart(service: Service) -> None:
    patient, provider = ready_patient(service)
    csrf = sign_in(service.client, service.users[Role.clinician].email)
    form = note_form(
        csrf,
        THREE,
        action="save",
        provider_id=str(provider),
        retention_minutes="10",
        pain_before="6",
        pain_after="3",
        technique="fast in and out",
    )
    form["side-muscle.levator-scapulae"] = "bilateral"
    answer = service.client.post(f"/app/patients/{patient}/sessions", data=form)
    assert answer.status_code == 303, visible_text(answer)[:500]
    [stored] = sessions_of(service, patient)
    assert answer.headers["location"] == f"/app/patients/{patient}?saved={stored['id']}#sessions"
    assert stored["cpt_code"] == "20561"
    assert stored["retention_seconds"] == 600
    assert (stored["pain_before"], stored["pain_after"]) == (6, 3)
    sides = {m["muscle"]: m["laterality"] for m in stored["muscles"]}
    assert sides["muscle.levator-scapulae"] == "bilateral"
    chart = service.client.get(answer.headers["location"])
    assert "The session is saved." in visible_text(chart)
    assert soup(chart).find("a", href=f"/app/patients/{patient}/aftercare.pdf") is not None


def test_saving_without_consent_is_refused_with_the_reason(service: Service) -> None:
    patient = make_patient(service)
    add_screening(service, patient, "eligible")
    provider = make_provider(service)
    csrf = sign_in(service.client, service.users[Role.clinician].email)
    before = last_id(service)
    answer = service.client.post(
        f"/app/patients/{patient}/sessions",
        data=note_form(csrf, THREE, action="save", provider_id=str(provider)),
    )
    assert answer.status_code == 422
    refusal = soup(answer).select_one("#refusal")
    assert refusal is not None
    text = refusal.get_text(" ", strip=True)
    assert "A session needs signed consent" in text
    assert "This cannot be overridden." in text
    assert "session.requires-consent" in text
    assert refusal.select("details.sources li")
    assert sessions_of(service, patient) == []
    refused = [e for e in entries_after(service, before) if e["outcome"] == "refused"]
    assert [(e["action"], e["resource_type"]) for e in refused] == [("create", "session")]
    # what was picked stays picked
    assert len(soup(answer).select('input[name="muscle"][checked]')) == 3


def test_the_refusal_in_spanish(service: Service) -> None:
    patient = make_patient(service)
    add_screening(service, patient, "eligible")
    provider = make_provider(service)
    csrf = sign_in(service.client, service.users[Role.clinician].email)
    answer = service.client.post(
        f"/app/patients/{patient}/sessions?lang=es",
        data=note_form(csrf, THREE, action="save", provider_id=str(provider)),
    )
    assert answer.status_code == 422
    assert "Una sesión necesita consentimiento firmado" in visible_text(answer)


def test_a_clinician_overrides_a_not_eligible_screening_with_a_reason(service: Service) -> None:
    patient, provider = ready_patient(service, "not-eligible")
    csrf = sign_in(service.client, service.users[Role.clinician].email)
    url = f"/app/patients/{patient}/sessions"
    base = note_form(csrf, THREE, action="save", provider_id=str(provider))
    refused = service.client.post(url, data=base)
    assert refused.status_code == 422
    assert "Not eligible for dry needling" in visible_text(refused)
    options = [i["value"] for i in soup(refused).select('input[name="override_reason"]')]
    assert "override-reason.other" in options
    # a reason that needs words, without them: shown at the field, nothing stored
    wordless = service.client.post(url, data={**base, "override_reason": "override-reason.other"})
    assert wordless.status_code == 422
    assert "This reason needs your own words." in visible_text(wordless)
    assert sessions_of(service, patient) == []
    before = last_id(service)
    done = service.client.post(
        url,
        data={
            **base,
            "override_reason": "override-reason.other",
            "override_text": "Patient is calm today and asked to go ahead",
        },
    )
    assert done.status_code == 303, visible_text(done)[:500]
    [stored] = sessions_of(service, patient)
    assert stored["override_reason"] == (
        "Other reason (written): Patient is calm today and asked to go ahead"
    )
    assert stored["override_by"] == service.users[Role.clinician].id
    overrides = [e for e in entries_after(service, before) if e["action"] == "override"]
    assert [e["actor"] for e in overrides] == [ref(service, Role.clinician)]


def test_a_missing_muscle_or_field_is_named_and_nothing_is_stored(service: Service) -> None:
    patient, provider = ready_patient(service)
    csrf = sign_in(service.client, service.users[Role.clinician].email)
    answer = service.client.post(
        f"/app/patients/{patient}/sessions",
        data=note_form(csrf, [], action="save", provider_id=str(provider), pain_before="11"),
    )
    assert answer.status_code == 422
    text = visible_text(answer)
    assert "Pick at least one muscle." in text
    assert "A whole number from 0 to 10." in text
    field = soup(answer).find("input", attrs={"name": "pain_before"})
    assert field is not None
    assert field["aria-describedby"] == "pain_before-error"
    assert sessions_of(service, patient) == []


def test_saving_without_the_csrf_token_is_refused(service: Service) -> None:
    patient, provider = ready_patient(service)
    csrf = sign_in(service.client, service.users[Role.clinician].email)
    form = note_form(csrf, THREE, action="save", provider_id=str(provider))
    del form["csrf_token"]
    before = last_id(service)
    answer = service.client.post(f"/app/patients/{patient}/sessions", data=form)
    assert answer.status_code == 403
    denied = [e for e in entries_after(service, before) if e["outcome"] == "denied"]
    assert [e["reason"] for e in denied] == ["csrf"]
    assert sessions_of(service, patient) == []


def test_front_desk_may_not_open_or_save_a_session_note(service: Service) -> None:
    patient, provider = ready_patient(service)
    csrf = sign_in(service.client, service.users[Role.front_desk].email)
    assert service.client.get(f"/app/patients/{patient}/sessions/new").status_code == 403
    before = last_id(service)
    answer = service.client.post(
        f"/app/patients/{patient}/sessions",
        data=note_form(csrf, THREE, action="save", provider_id=str(provider)),
    )
    assert answer.status_code == 403
    denied = [e for e in entries_after(service, before) if e["outcome"] == "denied"]
    assert [(e["actor"], e["reason"]) for e in denied] == [
        (ref(service, Role.front_desk), "forbidden")
    ]
    assert sessions_of(service, patient) == []
