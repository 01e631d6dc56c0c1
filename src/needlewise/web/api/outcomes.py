"""``/api/patients/{id}/outcomes``: outcome scores (NPRS, PSFS, NDI, ODI).

``POST`` records one score from its item scores (clinicians); the score is computed by
the measure's method in the knowledge base, never sent. Bad input is refused with 422
naming the item (``$.items[3].score``), audited, and nothing is stored. ``GET`` returns
every score of the patient oldest first, each judged against its baseline by every MCID
the knowledge base stores (with population and source), the NPRS series of sessions and
check-ins, and the function questionnaires due now (permissions as for sessions).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from needlewise.services import outcomes
from needlewise.web.api.deps import RecordId, RuntimeDep, SessionsRead, SessionsWrite
from needlewise.web.bodies import json_body
from needlewise.web.openapi import CREATE, READ_ONE, body_doc, created, ok
from needlewise.web.responses import JsonBytes, json_response

router = APIRouter(tags=["outcomes"])


@router.post(
    "/api/patients/{patient_id}/outcomes",
    status_code=201,
    response_model=None,
    openapi_extra=body_doc(outcomes.OutcomeScoreIn, "The measure and its item scores."),
    responses={**created(outcomes.OutcomeScoreOut), **CREATE},
)
async def record_outcome(
    request: Request, rt: RuntimeDep, patient_id: RecordId, actor: SessionsWrite
) -> JsonBytes:
    """Record an outcome score (clinicians): ``measure`` and its ``items`` (PSFS: 3 to 5
    activities named by the patient, each 0-10; NDI: all 10 sections 0-5 by ``key``;
    ODI: at least 8 of its 10 sections 0-5, a skipped section ``null``; NPRS: one 0-10)."""
    document = await json_body(request)
    out = await run_in_threadpool(outcomes.record_outcome_document, rt, actor, patient_id, document)
    return json_response(out.model_dump(mode="json"), status=201)


@router.get(
    "/api/patients/{patient_id}/outcomes",
    response_model=None,
    responses={**ok(outcomes.PatientOutcomesOut), **READ_ONE},
)
def patient_outcomes(rt: RuntimeDep, patient_id: RecordId, actor: SessionsRead) -> Any:
    """A patient's outcome scores with their MCID judgements, the NPRS series and the
    questionnaires due. Each score and session returned is recorded in the audit log."""
    return outcomes.patient_outcomes(rt, actor, patient_id).model_dump(mode="json")
