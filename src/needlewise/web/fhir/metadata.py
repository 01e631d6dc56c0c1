"""``GET /fhir/metadata``: the CapabilityStatement (no token needed, as FHIR clients
expect to discover a server before they authenticate)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from needlewise.interop.fhir.emit.capability import TypeSupport, capability_statement
from needlewise.services.fhir_read import READ_TYPES, fhir_type
from needlewise.web.fhir.negotiation import check_format
from needlewise.web.fhir.outcome import FhirJson
from needlewise.web.state import runtime_of

router = APIRouter(prefix="/fhir", include_in_schema=False)


def supported() -> list[TypeSupport]:
    """Every type the facade reads, with its search parameters."""
    found = []
    for name in READ_TYPES:
        kind = fhir_type(name)
        if kind is None:  # Questionnaire: from the knowledge base, searched by _id only
            found.append(TypeSupport(name, None, patient_param=False))
        else:
            found.append(
                TypeSupport(name, kind.date_param, kind.patient_param, kind.identifier_param)
            )
    return found


@router.get("/metadata", response_class=FhirJson)
async def metadata(request: Request) -> FhirJson:
    check_format(request)
    base = str(request.base_url).rstrip("/") + "/fhir"
    return FhirJson(capability_statement(runtime_of(request).kb, base, supported()))
