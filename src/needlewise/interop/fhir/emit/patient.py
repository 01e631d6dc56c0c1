"""Patient: demographics, language and the identifiers other systems gave the patient."""

from __future__ import annotations

from collections.abc import Sequence

from needlewise.interop.fhir.emit import ids
from needlewise.interop.fhir.emit.common import BCP47, JsonObject, meta
from needlewise.knowledge.base import KnowledgeBase
from needlewise.persistence.models import Patient, PatientIdentifier

#: our sex values are FHIR AdministrativeGender codes already (services/patients.py)
GENDERS = frozenset({"female", "male", "other", "unknown"})


def patient_identifier_system(kb: KnowledgeBase) -> str:
    """The system of our own patient number (``Patient.identifier``)."""
    return f"{kb.data.meta.canonical_base}/patient-id"


def patient_resource(
    kb: KnowledgeBase, row: Patient, identifiers: Sequence[PatientIdentifier] = ()
) -> JsonObject:
    """One patient. Our own number comes first among the identifiers (``use: usual``),
    then each identifier another system gave them (imported), as it was given."""
    resource: JsonObject = {
        "resourceType": "Patient",
        "id": ids.patient(row.id),
        "meta": meta(row.updated_at),
        "identifier": [
            {"use": "usual", "system": patient_identifier_system(kb), "value": str(row.id)},
            *({"system": i.system, "value": i.value} for i in identifiers),
        ],
        "active": True,
        "name": [{"use": "official", "family": row.family_name, "given": [row.given_name]}],
        "communication": [
            {
                "language": {"coding": [{"system": BCP47, "code": row.preferred_language}]},
                "preferred": True,
            }
        ],
    }
    if row.sex in GENDERS:
        resource["gender"] = row.sex
    if row.birth_date is not None:
        resource["birthDate"] = row.birth_date.isoformat()
    telecom = []
    if row.phone:
        telecom.append({"system": "phone", "value": row.phone})
    if row.email:
        telecom.append({"system": "email", "value": row.email})
    if telecom:
        resource["telecom"] = telecom
    if row.address:
        resource["address"] = [{"text": row.address}]
    return resource
