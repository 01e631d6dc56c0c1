"""``/app/patients/{patient_id}/sessions/new``: the session note, with a body chart.

The clinician picks the muscles needled — on a keyboard-operable list (a checkbox,
a side and a needle count per muscle, grouped by region), which works with no script at
all, or by clicking the muscles on the front and back figures (``static/app/body_chart.js``
ticks the same checkboxes). The CPT line and the coverage notes are derived by the same
use case as ``POST /api/code-session``: the "Check coding" button shows them, and with
htmx they follow every change (``POST .../sessions/preview`` answers just that part).

Saving calls the use case of ``POST /api/patients/{id}/sessions``
(:func:`needlewise.services.sessions.create_session`): a session is refused without a
screening, after a not-eligible one unless a clinician overrides it with one of the
knowledge base's override reasons, or without a signed consent in force — the page says
which rule and why, with its sources. After saving, the chart opens with a notice and the
take-home sheet in the patient's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from needlewise.domain.coding import CodingResult
from needlewise.errors import InputError, RuleViolation
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import OverrideReason
from needlewise.languages import Language
from needlewise.services import patients, providers, sessions
from needlewise.services.actor import Actor
from needlewise.services.coding import code_session_document
from needlewise.services.paging import PageParams
from needlewise.services.patient_status import patient_statuses
from needlewise.services.runtime import Runtime
from needlewise.services.session_rules import REQUIRES_ELIGIBLE_SCREENING
from needlewise.services.sessions import SessionIn
from needlewise.web.api.deps import Knowledge, RecordId, RuntimeDep, SessionsWrite
from needlewise.web.pages.body_chart import by_region, hotspots
from needlewise.web.pages.citations import sources_of
from needlewise.web.pages.language import chosen_language
from needlewise.web.pages.rendering import clinic_zone, gettext, render

router = APIRouter(include_in_schema=False)

SIDES = ("left", "right", "bilateral", "midline")
PAYERS = ("medicare", "commercial", "workers-comp", "military")
#: the form field that shows a problem the session body has at a JSON field
FIELD_OF = {"override": "override_text", "retention_seconds": "retention_minutes"}
#: the form has a checkbox, a side and a needle count per muscle, and a dozen more
MAX_FIELDS = 200


@dataclass
class Note:
    """The form as sent (or as first shown), with the problems found in it."""

    picked: dict[str, str] = field(default_factory=dict)  # muscle id -> side
    needles: dict[str, str] = field(default_factory=dict)  # muscle id -> count as typed
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def value(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)


def read_note(form: FormData, kb: KnowledgeBase) -> Note:
    """The fields of the form (unknown muscles and sides are dropped, never trusted)."""
    note = Note()
    known = {m.id for m in kb.data.muscles}
    for raw in form.getlist("muscle"):
        muscle = str(raw)
        if muscle not in known:
            continue
        side = str(form.get(f"side-{muscle}") or "left")
        note.picked[muscle] = side if side in SIDES else "left"
    for muscle in known:
        count = form.get(f"needles-{muscle}")
        if isinstance(count, str) and count.strip():
            note.needles[muscle] = count.strip()[:4]
    for name in (
        "provider_id", "performed_at", "tz_offset", "technique", "retention_minutes",
        "electrical_stimulation", "response", "in_session_events", "notes", "payer",
        "pain_before", "pain_after", "override_reason", "override_text",
    ):  # fmt: skip
        sent = form.get(name)
        if isinstance(sent, str):
            note.values[name] = sent.strip()[:10_000]
    return note


def coding_of(kb: KnowledgeBase, note: Note, language: Language) -> CodingResult | None:
    """The CPT line and notes for the muscles picked (``None`` when none is): the same use
    case as ``POST /api/code-session``."""
    if not note.picked:
        return None
    payer = note.value("payer")
    document = {
        "muscles": [{"muscle": m, "laterality": side} for m, side in note.picked.items()],
        "payer": payer if payer in PAYERS else None,
        "language": language,
    }
    return code_session_document(document, kb)


def _int(text: str, low: int, high: int) -> int | None:
    if not text.isdigit() or len(text) > 6:
        raise ValueError(text)
    value = int(text)
    if not low <= value <= high:
        raise ValueError(text)
    return value


def _performed_at(note: Note, zone: ZoneInfo) -> datetime:
    """When: the form's local time with the browser's offset (set by the script; without
    it the time is read in the clinic's time zone); empty means now."""
    text = note.value("performed_at")
    if not text:
        return datetime.now(UTC)
    local = datetime.fromisoformat(text)
    if local.tzinfo is not None:
        return local
    offset = note.value("tz_offset")
    if not (offset.lstrip("-").isdigit() and abs(int(offset)) <= 900):
        return local.replace(tzinfo=zone).astimezone(UTC)
    return (local - timedelta(minutes=int(offset))).replace(tzinfo=UTC)


def override_text(kb: KnowledgeBase, note: Note, language: Language) -> str | None:
    """The override reason to store: the chosen reason's English title, then what the
    clinician wrote (``None``: no override asked). A reason that needs words and has none
    is an error on the form."""
    chosen = note.value("override_reason")
    if not chosen:
        return None
    reason = next((r for r in kb.data.override_reasons if r.id == chosen), None)
    if reason is None:
        note.errors["override_reason"] = gettext(language, "Choose one of the reasons.")
        return None
    written = note.value("override_text")
    if reason.requires_text and not written:
        note.errors["override_text"] = gettext(language, "This reason needs your own words.")
        return None
    return f"{reason.title.en}: {written}" if written else reason.title.en


def session_in(
    kb: KnowledgeBase, note: Note, language: Language, zone: ZoneInfo | None = None
) -> SessionIn | None:
    """The note as the JSON API's session body (``None``, with ``note.errors`` filled,
    when a field is not right)."""
    say = partial(gettext, language)
    if not note.picked:
        note.errors["muscles"] = say("Pick at least one muscle.")
    muscles = []
    for muscle, side in note.picked.items():
        try:
            count = _int(note.needles.get(muscle, "1"), 1, 100)
        except ValueError:
            note.errors["muscles"] = say("Each needle count is a whole number from 1 to 100.")
            continue
        muscles.append({"muscle": muscle, "laterality": side, "needle_count": count})
    body: dict[str, Any] = {"muscles": muscles}
    try:
        body["provider_id"] = _int(note.value("provider_id"), 1, 2_000_000_000)
    except ValueError:
        note.errors["provider_id"] = say("Choose the provider who needled.")
    try:
        body["performed_at"] = _performed_at(note, zone or ZoneInfo("UTC"))
    except ValueError:
        note.errors["performed_at"] = say("Give the date and time, or leave it empty for now.")
    checks = (
        ("retention_minutes", 0, 60, say("Minutes from 0 to 60.")),
        ("pain_before", 0, 10, say("A whole number from 0 to 10.")),
        ("pain_after", 0, 10, say("A whole number from 0 to 10.")),
    )
    for name, low, high, problem in checks:
        text = note.value(name)
        if text:
            try:
                body[name] = _int(text, low, high)
            except ValueError:
                note.errors[name] = problem
    if "retention_minutes" in body:
        body["retention_seconds"] = body.pop("retention_minutes") * 60
    stimulation = note.value("electrical_stimulation")
    if stimulation not in {"yes", "no"}:
        note.errors["electrical_stimulation"] = say("Say whether electrical stimulation was used.")
    body["electrical_stimulation"] = stimulation == "yes"
    for name in ("technique", "response", "in_session_events", "notes"):
        if note.value(name):
            body[name] = note.value(name)
    if note.value("payer") in PAYERS:
        body["payer"] = note.value("payer")
    reason = override_text(kb, note, language)
    if reason is not None:
        body["override"] = {"reason": reason}
    if note.errors:
        return None
    try:
        return SessionIn.model_validate(body)
    except ValidationError as invalid:
        for found in invalid.errors():
            where = str(found["loc"][0]) if found["loc"] else "form"
            note.errors[FIELD_OF.get(where, where)] = say("Please check this value.")
        return None


@dataclass(frozen=True)
class Refusal:
    """Why the service refused the session, for the page (in the reader's language)."""

    rule: str
    title: str
    explanation: str
    sources: list[Any]
    detail: str
    overridable: bool


def refusal_of(kb: KnowledgeBase, refused: RuleViolation, language: Language) -> Refusal:
    rule = str(refused.detail.get("rule", ""))
    policy_id = str(refused.detail.get("policy", ""))
    try:
        policy = kb.policy(policy_id)
        title, explanation = policy.title.get(language), policy.explanation.get(language)
    except LookupError:
        title, explanation = rule, ""
    sent = refused.detail.get("sources")
    source_ids = [str(s) for s in sent] if isinstance(sent, list) else []
    return Refusal(
        rule=rule,
        title=title,
        explanation=explanation,
        sources=sources_of(kb, source_ids),
        detail=refused.message,
        overridable=rule == REQUIRES_ELIGIBLE_SCREENING,
    )


def _page(
    request: Request,
    rt: Runtime,
    actor: Actor,
    patient_id: int,
    note: Note,
    *,
    coding: CodingResult | None = None,
    refusal: Refusal | None = None,
    status: int = 200,
) -> Response:
    kb = rt.kb
    language = chosen_language(request)
    patient = patients.get_patient(rt, actor, patient_id)
    state = patient_statuses(rt, actor, [patient_id]).get(patient_id)
    listed = providers.list_providers(rt, actor, PageParams(limit=100), active=True)
    if not note.value("provider_id"):
        mine = next((p for p in listed.items if p.user_id == actor.user_id), None)
        if mine is not None:
            note.values["provider_id"] = str(mine.id)
    blocked = state is not None and state.decision == "not-eligible"
    reasons: list[OverrideReason] = list(kb.data.override_reasons)
    return render(
        request,
        "clinic/session_note.html",
        {
            "patient": patient,
            "state": state,
            "providers": listed.items,
            "note": note,
            "regions": by_region(kb, language),
            "front": hotspots(kb, "front", language),
            "back": hotspots(kb, "back", language),
            "coding": coding,
            "sources_of": partial(sources_of, kb),
            "refusal": refusal,
            "show_override": blocked or (refusal is not None and refusal.overridable),
            "override_reasons": reasons,
            "sides": SIDES,
            "payers": PAYERS,
        },
        status=status,
    )


@router.get("/app/patients/{patient_id}/sessions/new", response_class=HTMLResponse)
def new_session(
    request: Request, rt: RuntimeDep, patient_id: RecordId, actor: SessionsWrite
) -> Response:
    """An empty session note (clinicians)."""
    return _page(request, rt, actor, patient_id, Note())


@router.post("/app/patients/{patient_id}/sessions/preview", response_class=HTMLResponse)
async def preview(
    request: Request, kb: Knowledge, patient_id: RecordId, actor: SessionsWrite
) -> Response:
    """Just the coding part of the note, for htmx (the muscles picked so far)."""
    note = read_note(await request.form(max_files=0, max_fields=MAX_FIELDS), kb)
    coding = coding_of(kb, note, chosen_language(request))
    return render(
        request,
        "clinic/_coding.html",
        {"coding": coding, "sources_of": partial(sources_of, kb), "patient_id": patient_id},
    )


@router.post("/app/patients/{patient_id}/sessions", response_class=HTMLResponse)
async def save_session(
    request: Request, rt: RuntimeDep, patient_id: RecordId, actor: SessionsWrite
) -> Response:
    """Check the coding (``action=check``) or save the session (``action=save``)."""
    kb = rt.kb
    language = chosen_language(request)
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    note = read_note(form, kb)
    coding = coding_of(kb, note, language)
    show = partial(_page, request, rt, actor, patient_id, note, coding=coding)
    if form.get("action") != "save":
        return await run_in_threadpool(show)
    zone = await run_in_threadpool(clinic_zone, request)
    data = session_in(kb, note, language, zone)
    if data is None:
        return await run_in_threadpool(partial(show, status=422))
    try:
        saved = await run_in_threadpool(sessions.create_session, rt, actor, patient_id, data)
    except RuleViolation as refused:
        refusal = refusal_of(kb, refused, language)
        return await run_in_threadpool(partial(show, refusal=refusal, status=422))
    except InputError as wrong:
        name = wrong.where.removeprefix("$.").split(".")[0].split("[")[0] or "form"
        note.errors[FIELD_OF.get(name, name)] = wrong.problem
        return await run_in_threadpool(partial(show, status=422))
    return RedirectResponse(
        f"/app/patients/{patient_id}?saved={saved.id}#sessions", status_code=303
    )
