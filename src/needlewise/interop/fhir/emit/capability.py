"""The CapabilityStatement of the FHIR facade (``GET /fhir/metadata``): exactly what it
supports — each resource type with its interactions and search parameters, the write
side (create Patient and QuestionnaireResponse; a ``transaction`` Bundle), JSON only,
bearer API tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from needlewise import __version__
from needlewise.interop.fhir.emit.common import JsonObject
from needlewise.knowledge.base import KnowledgeBase

FHIR_VERSION = "4.0.1"

#: the write side's interactions (web/fhir/writes.py): create per type, and at the
#: system level a transaction Bundle
CREATE_TYPES = frozenset({"Patient", "QuestionnaireResponse"})
SYSTEM_INTERACTIONS = ("transaction",)

_DATE_DOC = (
    "eq, lt, le, gt, ge prefixes; YYYY, YYYY-MM, YYYY-MM-DD (a whole day in UTC) or a "
    "time with its zone"
)


@dataclass(frozen=True)
class TypeSupport:
    """What the facade reads for one type: its date parameter and whether it takes
    ``patient``."""

    name: str
    date_param: str | None
    patient_param: bool
    identifier_param: bool = False


def _search_params(support: TypeSupport) -> list[JsonObject]:
    params: list[JsonObject] = [
        {
            "name": "_id",
            "type": "token",
            "documentation": "The resource id (e.g. session-12)",
        }
    ]
    if support.patient_param:
        params.append(
            {
                "name": "patient",
                "type": "reference",
                "documentation": "Patient/patient-N (the patient's id on this server)",
            }
        )
    if support.identifier_param:
        params.append(
            {
                "name": "identifier",
                "type": "token",
                "documentation": "system|value (an identifier another system gave the "
                "patient, or our own number), |value or value",
            }
        )
    if support.date_param is not None:
        params.append({"name": support.date_param, "type": "date", "documentation": _DATE_DOC})
    return params


def capability_statement(
    kb: KnowledgeBase,
    fhir_base: str,
    types: Sequence[TypeSupport],
) -> JsonObject:
    """The facade's CapabilityStatement (``fhir_base``: this server's ``…/fhir``)."""
    resources = []
    for support in types:
        interactions = [{"code": "read"}, {"code": "search-type"}]
        if support.name in CREATE_TYPES:
            interactions.append({"code": "create"})
        resource: JsonObject = {
            "type": support.name,
            "interaction": interactions,
            "versioning": "no-version",
            "readHistory": False,
            "updateCreate": False,
            "conditionalCreate": False,
            "conditionalRead": "not-supported",
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
            "searchParam": _search_params(support),
        }
        resources.append(resource)
    return {
        "resourceType": "CapabilityStatement",
        "id": "needlewise",
        "url": f"{kb.data.meta.canonical_base}/CapabilityStatement/needlewise",
        "version": __version__,
        "name": "NeedlewiseFhirFacade",
        "title": "needlewise FHIR R4 facade",
        "status": "active",
        "experimental": False,
        "date": kb.data.meta.released.isoformat(),
        "publisher": "needlewise",
        "description": (
            "What a dry-needling clinic recorded in needlewise, read and searched as FHIR "
            "R4; Patients, intake QuestionnaireResponses and transaction Bundles taken in."
        ),
        "kind": "instance",
        "software": {"name": "needlewise", "version": __version__},
        "implementation": {"description": "needlewise FHIR facade", "url": fhir_base},
        "fhirVersion": FHIR_VERSION,
        "format": ["json", "application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Search parameters are read strictly: an unknown or repeated parameter "
                    "or a malformed value is a 400 OperationOutcome. Paging with _count "
                    "(default 20, at most 100) and the Bundle's next/previous links."
                ),
                "security": {
                    "cors": False,
                    "service": [{"text": "Bearer API token"}],
                    "description": (
                        "Send Authorization: Bearer <API token> (minted by an admin for a "
                        "staff user; the user's role decides what may be read). "
                        "/fhir/metadata needs no token."
                    ),
                },
                "resource": resources,
                "interaction": [{"code": code} for code in SYSTEM_INTERACTIONS],
            }
        ],
    }
