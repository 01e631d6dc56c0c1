"""What the FHIR facade takes in: transaction Bundles, Patients and intake answers.

* ``POST /fhir`` — a ``transaction`` (or ``batch``) Bundle imported into the clinic's
  records (:func:`needlewise.services.fhir_import.import_document`), all or nothing;
  the answer is a ``transaction-response`` (``batch-response``) Bundle with one entry
  per entry sent, in order: ``201 Created`` or ``200 OK`` (matched, updated or
  unchanged), and for a Patient its ``location``. A resource type that is not imported
  is refused (a transaction is all or nothing; the CLI skips and lists them instead).
  Needs ``records:import`` (clinicians and admins).
* ``POST /fhir/Patient`` — create a patient, with its identifiers; ``If-None-Exist:
  identifier=system|value`` returns the patient who has it instead (200). An identifier
  another patient has is 409. The answer is the Patient as the read side serves it
  (``Location: /fhir/Patient/patient-{id}``). Needs ``patients:write``.
* ``POST /fhir/QuestionnaireResponse`` — an intake QuestionnaireResponse whose
  ``subject`` is ``Patient/patient-{id}`` (the read side's id; ``Patient/{id}``, the JSON
  API's number, is taken too) is screened and stored
  (:func:`needlewise.services.stored_screenings.create_screening`, SDC-style
  extraction); 201 with ``Location: /fhir/QuestionnaireResponse/screening-{id}``, the id
  the read side serves it under, next to the screening's DetectedIssues, and the
  QuestionnaireResponse as the read side serves it. Needs ``screenings:write``.

Every id and location these answers carry is the read side's
(:mod:`needlewise.interop.fhir.emit.ids`): ``Patient/patient-7`` can be read back with
``GET /fhir/Patient/patient-7``.

Bodies are ``application/fhir+json`` or ``application/json`` (415 otherwise), capped at
``NEEDLEWISE_MAX_BODY_BYTES`` (413), not JSON 400; a resource that is not valid R4 is
422 with one OperationOutcome issue per problem, each naming its JSON path and never
the value. Authentication and CSRF are the JSON API's (:mod:`needlewise.web.auth`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from needlewise.errors import InputError, NotFound
from needlewise.interop.fhir.access import kind_of
from needlewise.interop.fhir.emit import ids
from needlewise.interop.fhir.import_bundle import ImportProblem
from needlewise.interop.fhir.validation import validation_problems
from needlewise.languages import as_language
from needlewise.services import fhir_read
from needlewise.services.actor import Actor
from needlewise.services.fhir_import import ImportRefused, ImportSummary, import_document
from needlewise.services.fhir_patients import create_patient_resource, if_none_exist
from needlewise.services.stored_screenings import create_screening
from needlewise.web.api.deps import PatientsWrite, RuntimeDep, ScreeningsWrite
from needlewise.web.auth import staff
from needlewise.web.bodies import json_body
from needlewise.web.fhir.outcome import FHIR_JSON, FhirJson, operation_outcome
from needlewise.web.fhir.read import server_base
from needlewise.web.openapi import request_body

router = APIRouter(prefix="/fhir", tags=["fhir"])

RecordsImport = Annotated[Actor, Depends(staff("records:import"))]

_STATUS_TEXT = {
    200: "OK.",
    201: "Created.",
    400: "The body is empty or not valid JSON.",
    401: "Not logged in, or the session or token has ended.",
    403: "Your role may not do this, or the X-CSRF-Token header is missing or wrong.",
    404: "No such patient.",
    409: "An identifier belongs to another patient of this clinic.",
    413: "The body is larger than NEEDLEWISE_MAX_BODY_BYTES.",
    415: "The body is not application/fhir+json or application/json.",
    422: "Not a valid resource for this interaction; one issue per problem, with its path.",
    500: "Internal error (a bug); no details are exposed.",
}


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries: FHIR JSON bodies (a resource, a Bundle or an OperationOutcome)."""
    content = {FHIR_JSON: {"schema": {"type": "object"}}}
    return {s: {"description": _STATUS_TEXT[s], "content": content} for s in statuses}


_ERRORS = (400, 401, 403, 413, 415, 422, 500)


def refused(error: ImportRefused) -> FhirJson:
    """Every problem as one issue of an OperationOutcome (409 for conflicts, else 422)."""
    status = error.status
    issues = [
        operation_outcome(
            status, "conflict" if p.conflict else "invalid-input", p.problem, p.where
        )["issue"][0]
        for p in error.problems
    ]
    return FhirJson({"resourceType": "OperationOutcome", "issue": issues}, status_code=status)


def _resource(document: Any, kind: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise InputError(f"expected a FHIR {kind} (a JSON object), found {kind_of(document)}")
    if document.get("resourceType") != kind:
        raise InputError(f"this endpoint takes a {kind}", "$.resourceType")
    return document


# ------------------------------------------------------------------ POST /fhir


def response_bundle(kind: str, size: int, summary: ImportSummary) -> dict[str, Any]:
    """The ``transaction-response``/``batch-response`` Bundle of an import."""
    by_index = {e.index: e for e in summary.entries}
    entries = []
    for index in range(size):
        outcome = by_index.get(index)
        response: dict[str, Any] = {
            "status": "201 Created" if outcome and outcome.outcome == "created" else "200 OK"
        }
        patient_id = outcome.patient_id if outcome is not None else None
        if outcome is not None and outcome.resource_type == "Patient" and patient_id is not None:
            response["location"] = f"Patient/{ids.patient(patient_id)}"
        entries.append({"response": response})
    return {"resourceType": "Bundle", "type": f"{kind}-response", "entry": entries}


@router.post(
    "",
    response_model=None,
    openapi_extra=request_body(
        "A FHIR R4 Bundle of type transaction or batch: Patients (matched by identifier or "
        "created) and their Condition, MedicationStatement, MedicationRequest, Observation, "
        "AllergyIntolerance and Procedure records (and Medications they refer to).",
        {"type": "object", "required": ["resourceType"], "additionalProperties": True},
    ),
    responses=_responses(200, 409, *_ERRORS),
)
async def transaction(request: Request, rt: RuntimeDep, actor: RecordsImport) -> Response:
    """Import a transaction Bundle into the clinic's records, all or nothing."""
    bundle = _resource(await json_body(request), "Bundle")
    kind = bundle.get("type")
    if kind not in ("transaction", "batch"):
        raise InputError("POST /fhir takes a Bundle of type transaction or batch", "$.type")
    try:
        summary = await run_in_threadpool(
            lambda: import_document(rt, actor, bundle, skip_unsupported=False)
        )
    except ImportRefused as error:
        return refused(error)
    entries = bundle.get("entry")
    size = len(entries) if isinstance(entries, list) else 0
    return FhirJson(response_bundle(str(kind), size, summary))


# ------------------------------------------------------------------ POST /fhir/Patient


@router.post(
    "/Patient",
    response_model=None,
    openapi_extra=request_body(
        "A FHIR R4 Patient: name (family and given), and optionally identifier, birthDate, "
        "gender, telecom, address and communication.",
        {"type": "object", "required": ["resourceType"], "additionalProperties": True},
    ),
    responses=_responses(200, 201, 409, *_ERRORS),
)
async def create_patient(
    request: Request,
    rt: RuntimeDep,
    actor: PatientsWrite,
    condition: Annotated[
        str | None,
        Header(
            alias="If-None-Exist",
            max_length=600,
            description="identifier=system|value: return the patient who has it instead",
        ),
    ] = None,
) -> Response:
    """Create a patient (201, Location); with If-None-Exist, an existing one (200)."""
    resource = _resource(await json_body(request), "Patient")
    wanted = if_none_exist(condition)
    try:
        out = await run_in_threadpool(create_patient_resource, rt, actor, resource, wanted)
    except ImportRefused as error:
        return refused(error)
    resource_id = ids.patient(out.patient_id)
    headers = {"Location": f"/fhir/Patient/{resource_id}", "ETag": f'W/"{out.version}"'}
    if not out.created:
        message = f"a patient of this clinic has this identifier: Patient/{resource_id}"
        body = operation_outcome(200, "exists", message)
        body["issue"][0]["severity"] = "information"
        body["issue"][0]["code"] = "informational"
        return FhirJson(body, headers=headers)
    served = await run_in_threadpool(
        fhir_read.read_resource, rt, actor, "Patient", resource_id, server_base(request)
    )
    return FhirJson(served, 201, headers)


# ------------------------------------------------------------------ POST /fhir/QuestionnaireResponse


_SUBJECT = "$.subject.reference"


def subject_patient(resource: dict[str, Any]) -> int:
    """Our patient row id from ``subject.reference``: ``Patient/patient-{n}`` (the read
    side's id) or ``Patient/{n}`` (the JSON API's number), relative or an absolute URL
    ending in one. Anything else is an ``InputError`` at ``$.subject.reference``; a
    well-formed reference to a patient we do not have is ``NotFound`` (from the use
    case). The reference itself is never echoed."""
    subject = resource.get("subject")
    if not isinstance(subject, dict) or "reference" not in subject:
        raise InputError(
            "required: subject, a reference to the patient (Patient/patient-{id})", "$.subject"
        )
    reference = subject["reference"]
    parts = reference.split("/") if isinstance(reference, str) else []
    if len(parts) >= 2 and parts[-2] == "Patient":
        rid = parts[-1]
        parsed = ids.parse(rid)
        if parsed is not None and parsed[0] == ids.PATIENT and rid == ids.patient(parsed[1]):
            return parsed[1]
        if rid.isascii() and rid.isdigit():
            if len(rid) <= 10 and 1 <= int(rid) <= ids.MAX_ROW_ID:
                return int(rid)
            raise NotFound("no such patient")
    raise InputError(
        "subject.reference must be Patient/patient-{id} (or Patient/{id}, the JSON API's "
        "patient number), relative or an absolute URL ending in it",
        _SUBJECT,
    )


@router.post(
    "/QuestionnaireResponse",
    response_model=None,
    openapi_extra=request_body(
        "An intake QuestionnaireResponse (GET /api/questionnaires/intake) whose subject is "
        "Patient/patient-{id} (or Patient/{id}): screened and stored; its findings are "
        "readable as DetectedIssues.",
        {"type": "object", "required": ["resourceType"], "additionalProperties": True},
    ),
    responses=_responses(201, 404, *_ERRORS),
)
async def create_questionnaire_response(
    request: Request, rt: RuntimeDep, actor: ScreeningsWrite
) -> Response:
    """Screen a patient's intake answers and store the screening (201, Location)."""
    resource = _resource(await json_body(request), "QuestionnaireResponse")
    patient_id = subject_patient(resource)
    # fhir.resources validates slowly (and is imported on first use): off the event loop
    problems = await run_in_threadpool(validation_problems, resource, "QuestionnaireResponse", "$")
    if problems:
        return refused(ImportRefused([ImportProblem(w, p) for w, p in problems]))
    language = as_language(str(resource.get("language", "en")).split("-")[0].lower()) or "en"
    record = await run_in_threadpool(
        lambda: create_screening(rt, actor, patient_id, resource, language=language)
    )
    rid = ids.of(ids.SCREENING, record.id)
    headers = {"Location": f"/fhir/QuestionnaireResponse/{rid}"}
    served = await run_in_threadpool(
        fhir_read.read_resource, rt, actor, "QuestionnaireResponse", rid, server_base(request)
    )
    return FhirJson(served, 201, headers)
