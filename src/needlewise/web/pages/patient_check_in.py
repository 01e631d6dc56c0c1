"""``/p/{token}/check-in``: the patient tells the clinic how they feel after treatment,
and is told at once what to do.

The form is the aftercare Questionnaire the JSON twin serves
(:func:`needlewise.services.check_in_form.check_in_form`), in the patient's language:
the symptoms of the knowledge base, emergency signs first (Yes / No / Not sure, nothing
chosen in advance), the temperature in °F or °C, when the needling was (the time windows
of the Questionnaire) and where, and free text. The answers become an aftercare
QuestionnaireResponse sent to :func:`needlewise.services.check_ins.submit_check_in`, as
``POST /api/p/{token}/check-in`` does; the link can be used again until it expires.

The answer page leads with what to do (the disposition texts of ``dispositions.yaml``,
as :mod:`needlewise.services.check_in_presenter` words them): an emergency starts with a
full-width "Call 911 now" ``tel:911`` link before anything else; call-provider shows the
clinic's phones as ``tel:`` links; self-care says what to expect and when to call. The
same answers sent again, or too many check-ins in a short time, still get the patient's
own advice, with a note that the clinic already has them. A temperature that is not a
number, or not plausible, shows the form again with the reason; nothing is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse

from needlewise.domain.facts import PLAUSIBLE_TEMPERATURE
from needlewise.errors import InputError
from needlewise.interop.fhir.canonical import (
    DETAILS_ITEM,
    PAIN_ITEM,
    REGIONS_ITEM,
    TEMPERATURE_ITEM,
    TIME_ITEM,
    UCUM,
)
from needlewise.languages import Language
from needlewise.services import check_ins
from needlewise.services.check_in_form import check_in_form
from needlewise.web.api.deps import CheckInLink, RuntimeDep
from needlewise.web.pages.form_guard import read_form
from needlewise.web.pages.patient_link import link_language
from needlewise.web.pages.rendering import render

router = APIRouter(include_in_schema=False)

UNIT_FIELD = "temperature_unit"
#: the free text a patient may send (the Questionnaire's limit is larger)
MAX_DETAILS = 2000


@dataclass
class Symptom:
    link_id: str
    text: str
    codings: dict[str, dict[str, Any]]


@dataclass
class Group:
    link_id: str
    text: str
    tier: str
    symptoms: list[Symptom]


@dataclass
class CheckInForm:
    """The aftercare Questionnaire as the page shows it."""

    questionnaire: dict[str, Any]
    groups: list[Group] = field(default_factory=list)
    temperature: str = ""
    units: list[tuple[str, str]] = field(default_factory=list)  # (UCUM code, °F)
    time: str = ""
    times: list[dict[str, Any]] = field(default_factory=list)
    regions_text: str = ""
    regions: list[dict[str, Any]] = field(default_factory=list)
    details: str = ""
    #: the optional 0-10 pain question ("" when the Questionnaire has none)
    pain: str = ""

    @property
    def answer_words(self) -> list[tuple[str, str]]:
        first = self.groups[0].symptoms[0]
        return [(code, c["display"]) for code, c in first.codings.items()]


def form_of(questionnaire: dict[str, Any]) -> CheckInForm:
    """Read the aftercare Questionnaire's items into the page's form."""
    out = CheckInForm(questionnaire)
    for item in questionnaire.get("item", []):
        link_id = item["linkId"]
        if item.get("type") == "group":
            symptoms = [
                Symptom(
                    s["linkId"],
                    s["text"],
                    {o["valueCoding"]["code"]: o["valueCoding"] for o in s["answerOption"]},
                )
                for s in item.get("item", [])
            ]
            out.groups.append(Group(link_id, item["text"], link_id.split(".", 1)[-1], symptoms))
        elif link_id == TEMPERATURE_ITEM:
            out.temperature = item["text"]
            out.units = [
                (e["valueCoding"]["code"], e["valueCoding"]["display"])
                for e in item.get("extension", [])
                if "valueCoding" in e
            ]
            out.units.sort(key=lambda unit: unit[0] != "[degF]")  # °F first (US clinics)
        elif link_id == TIME_ITEM:
            out.time = item["text"]
            out.times = [o["valueCoding"] for o in item["answerOption"]]
        elif link_id == REGIONS_ITEM:
            out.regions_text = item["text"]
            out.regions = [o["valueCoding"] for o in item["answerOption"]]
        elif link_id == DETAILS_ITEM:
            out.details = item["text"]
        elif link_id == PAIN_ITEM:
            out.pain = item["text"]
    return out


def _one(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def read_check_in(
    shown: CheckInForm, form: FormData, language: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """(the QuestionnaireResponse, field -> error) from the posted form."""
    errors: dict[str, str] = {}
    groups = []
    for group in shown.groups:
        answered = []
        for symptom in group.symptoms:
            code = _one(form, symptom.link_id)
            if not code:
                continue
            if code not in symptom.codings:
                errors[symptom.link_id] = "unknown"
                continue
            answered.append(
                {
                    "linkId": symptom.link_id,
                    "answer": [{"valueCoding": dict(symptom.codings[code])}],
                }
            )
        if answered:
            groups.append({"linkId": group.link_id, "item": answered})
    items: list[dict[str, Any]] = list(groups)
    pain = _one(form, PAIN_ITEM)
    if pain and shown.pain:
        if not pain.isdigit() or int(pain) > 10:
            errors[PAIN_ITEM] = "range"
        else:
            items.append({"linkId": PAIN_ITEM, "answer": [{"valueInteger": int(pain)}]})
    temperature = _one(form, TEMPERATURE_ITEM).replace(",", ".")
    if temperature:
        unit = _one(form, UNIT_FIELD)
        units = dict(shown.units)
        try:
            value = float(temperature)
        except ValueError:
            value = None
        if unit not in units:
            errors[TEMPERATURE_ITEM] = "unit"
        elif value is None or value != value:  # not a number (or NaN)
            errors[TEMPERATURE_ITEM] = "number"
        else:
            low, high = PLAUSIBLE_TEMPERATURE[unit]
            if not low <= value <= high:
                errors[TEMPERATURE_ITEM] = "range"
            else:
                quantity = {"value": value, "unit": units[unit], "system": UCUM, "code": unit}
                items.append({"linkId": TEMPERATURE_ITEM, "answer": [{"valueQuantity": quantity}]})
    time = _one(form, TIME_ITEM)
    if time:
        coding = next((c for c in shown.times if c["code"] == time), None)
        if coding is None:
            errors[TIME_ITEM] = "unknown"
        else:
            items.append({"linkId": TIME_ITEM, "answer": [{"valueCoding": dict(coding)}]})
    chosen = {v for v in form.getlist(REGIONS_ITEM) if isinstance(v, str)}
    regions = [dict(c) for c in shown.regions if c["code"] in chosen]
    if len(regions) != len(chosen):
        errors[REGIONS_ITEM] = "unknown"
    elif regions:
        items.append({"linkId": REGIONS_ITEM, "answer": [{"valueCoding": c} for c in regions]})
    details = _one(form, DETAILS_ITEM)
    if len(details) > MAX_DETAILS:
        errors[DETAILS_ITEM] = "long"
    elif details:
        items.append({"linkId": DETAILS_ITEM, "answer": [{"valueString": details}]})
    questionnaire = shown.questionnaire
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "language": language,
        "questionnaire": f"{questionnaire['url']}|{questionnaire['version']}",
        "item": items,
    }
    return response, errors


def _page(
    request: Request,
    token: str,
    language: Language,
    shown: CheckInForm,
    form: FormData | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    values: dict[str, Any] = {"regions": []}
    if form is not None:
        values = {key: _one(form, key) for key in form.keys()}  # noqa: SIM118 - FormData
        values["regions"] = [v for v in form.getlist(REGIONS_ITEM) if isinstance(v, str)]
    return render(
        request,
        "patient/check_in.html",
        {
            "token": token,
            "shown": shown,
            "values": values,
            "errors": errors or {},
            "limits": PLAUSIBLE_TEMPERATURE,
            "max_details": MAX_DETAILS,
        },
        language=language,
        status=422 if errors else 200,
    )


@router.get("/p/{token}/check-in", response_class=HTMLResponse)
async def check_in_page(
    request: Request, rt: RuntimeDep, token: str, actor: CheckInLink
) -> HTMLResponse:
    """The check-in questions."""
    _info, language = await run_in_threadpool(link_language, request, rt, actor)
    questionnaire = await run_in_threadpool(check_in_form, rt, actor)
    return _page(request, token, language, form_of(questionnaire))


def tel(phone: str) -> str:
    """A phone number as a ``tel:`` URL (digits and a leading +)."""
    return "tel:" + re.sub(r"[^0-9+]", "", phone)


@router.post("/p/{token}/check-in", response_class=HTMLResponse)
async def send_check_in(
    request: Request, rt: RuntimeDep, token: str, actor: CheckInLink
) -> HTMLResponse:
    """Send the check-in; the answer leads with what to do now."""
    form = await read_form(request, actor)
    _info, language = await run_in_threadpool(link_language, request, rt, actor)
    shown = form_of(await run_in_threadpool(check_in_form, rt, actor))
    document, errors = read_check_in(shown, form, language)
    if errors:
        return _page(request, token, language, shown, form, errors)
    try:
        answer = await check_ins.submit_check_in(
            rt, actor, actor.patient_id or -1, document, actor.session_id
        )
    except InputError:
        return _page(request, token, language, shown, form, {"form": "input"})
    told = answer.body
    return render(
        request,
        "patient/check_in_done.html",
        {
            "token": token,
            "told": told,
            "phones": [(phone, tel(phone)) for phone in told.get("clinic_phones", [])],
        },
        language=language,
    )
