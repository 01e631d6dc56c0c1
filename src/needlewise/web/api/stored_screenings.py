"""Stored screenings: screen a patient and keep the result (every read and write is
audited). ``POST /api/screen`` is the same screening without storing anything."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from needlewise.languages import Language
from needlewise.services import stored_screenings
from needlewise.services.idempotency import Answer, Once
from needlewise.services.paging import Page
from needlewise.web.api import idempotency as idempotent
from needlewise.web.api.deps import (
    IdFilter,
    Paging,
    RecordId,
    RuntimeDep,
    ScreeningsRead,
    ScreeningsWrite,
)
from needlewise.web.api.stateless_screening import SCREENING_DOCUMENT
from needlewise.web.bodies import json_body
from needlewise.web.openapi import CREATE, READ, READ_ONE, created, ok, request_body

router = APIRouter(tags=["screenings"])

_BODY = request_body(
    "What POST /api/screen takes: a FHIR R4 Bundle (collection, searchset, transaction, "
    "batch or document) of this patient's records, an intake QuestionnaireResponse, or a "
    "Bundle holding both. When it holds no Patient, one with the birth date on the "
    "patient's record is added before screening (so the age rule applies) and stored with "
    "the inputs; a Patient in the document wins.",
    SCREENING_DOCUMENT,
)


@router.post(
    "/api/patients/{patient_id}/screenings",
    status_code=201,
    response_model=None,
    openapi_extra=idempotent.documented(_BODY),
    responses={**created(stored_screenings.ScreeningRecord), **CREATE},
)
async def create_screening(
    request: Request,
    rt: RuntimeDep,
    patient_id: RecordId,
    actor: ScreeningsWrite,
    electrical_stimulation: Annotated[
        bool | None, Query(description="Is electrical stimulation planned? Omit when not known.")
    ] = None,
    language: Annotated[Language, Query(description="Language of the titles")] = "en",
) -> Any:
    """Screen this patient and store the inputs, the result and the knowledge version.
    Unreadable input gets 422 naming the JSON path, and nothing is stored. Send an
    `Idempotency-Key` to make a retry safe."""
    document = await json_body(request)

    async def create(
        once: Once[stored_screenings.ScreeningRecord] | None,
    ) -> stored_screenings.ScreeningRecord:
        return await run_in_threadpool(
            lambda: stored_screenings.create_screening(
                rt,
                actor,
                patient_id,
                document,
                electrical_stimulation=electrical_stimulation,
                language=language,
                once=once,
            )
        )

    return await idempotent.run(request, actor, document, _created, create)


def _created(out: stored_screenings.ScreeningRecord) -> Answer:
    return Answer(201, out.model_dump(mode="json"))


@router.get(
    "/api/screenings",
    response_model=None,
    responses={**ok(Page[stored_screenings.ScreeningRecord]), **READ},
)
def list_screenings(
    rt: RuntimeDep,
    page: Paging,
    actor: ScreeningsRead,
    patient_id: IdFilter = None,
    decision: Annotated[Literal["eligible", "review", "not-eligible"] | None, Query()] = None,
) -> Any:
    """Stored screenings, newest first, without their inputs. Each one returned is
    recorded in the audit log."""
    return stored_screenings.list_screenings(
        rt, actor, page, patient_id=patient_id, decision=decision
    ).model_dump(mode="json")


@router.get(
    "/api/screenings/{screening_id}",
    response_model=None,
    responses={**ok(stored_screenings.ScreeningRecord), **READ_ONE},
)
def get_screening(rt: RuntimeDep, screening_id: RecordId, actor: ScreeningsRead) -> Any:
    """One stored screening with the document as screened (audited)."""
    return stored_screenings.get_screening(rt, actor, screening_id).model_dump(mode="json")


@router.get(
    "/api/patients/{patient_id}/decisive-screening",
    response_model=None,
    responses={**ok(stored_screenings.DecisiveOut), **READ_ONE},
)
def get_decisive_screening(rt: RuntimeDep, patient_id: RecordId, actor: ScreeningsRead) -> Any:
    """The screening the session rules decide on, who entered it and why: the latest
    not-eligible screening stays decisive until a clinician screens the patient after it;
    otherwise the latest screening is (audited; 404 when the patient has none)."""
    return stored_screenings.get_decisive(rt, actor, patient_id).model_dump(mode="json")
