"""The check-ins a session will send, and a patient's opt-out from them.

* ``GET /api/sessions/{id}/check-in-schedule`` — every check-in invitation and reminder
  of the session, in time order, with its state (the answer of recording the session
  also carries the plan, with the reasons for each time).
* ``POST /api/patients/{id}/check-in-opt-out`` — record that the patient wants no
  check-in messages (e.g. they phoned): every scheduled one is cancelled (``opted-out``).
* ``DELETE /api/patients/{id}/check-in-opt-out`` — clear it: the next recorded session
  schedules check-ins again.

See :mod:`needlewise.services.aftercare_schedule`; every call is audited.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from needlewise.services import aftercare_schedule, check_in_opt_out
from needlewise.web.api.deps import PatientsWrite, RecordId, RuntimeDep, SessionsRead
from needlewise.web.openapi import READ_ONE, error_responses, ok

router = APIRouter(tags=["check-in schedule"])
CHANGE = error_responses(404, 422, 500)


@router.get(
    "/api/sessions/{session_id}/check-in-schedule",
    response_model=None,
    responses={**ok(aftercare_schedule.ScheduleOut), **READ_ONE},
)
def get_check_in_schedule(rt: RuntimeDep, session_id: RecordId, actor: SessionsRead) -> Any:
    """The check-in messages of a session: when each is due, its channel and state."""
    return aftercare_schedule.session_schedule(rt, actor, session_id).model_dump(mode="json")


@router.post(
    "/api/patients/{patient_id}/check-in-opt-out",
    response_model=None,
    responses={**ok(check_in_opt_out.OptOutOut), **CHANGE},
)
async def record_opt_out(rt: RuntimeDep, patient_id: RecordId, actor: PatientsWrite) -> Any:
    """Record that the patient wants no check-in messages; cancels the scheduled ones."""
    out = await run_in_threadpool(check_in_opt_out.set_opt_out, rt, actor, patient_id, True)
    return out.model_dump(mode="json")


@router.delete(
    "/api/patients/{patient_id}/check-in-opt-out",
    response_model=None,
    responses={**ok(check_in_opt_out.OptOutOut), **CHANGE},
)
async def clear_opt_out(rt: RuntimeDep, patient_id: RecordId, actor: PatientsWrite) -> Any:
    """Clear the opt-out: sessions recorded from now on schedule check-ins again."""
    out = await run_in_threadpool(check_in_opt_out.set_opt_out, rt, actor, patient_id, False)
    return out.model_dump(mode="json")
