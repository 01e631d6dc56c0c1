"""Procedure: one per treatment session.

``code`` is the session's CPT code (system ``http://www.ama-assn.org/go/cpt``, derived
from the muscles when the session was recorded), with the billed units in a note. Each
muscle needled is one ``bodySite``: our muscle code (``{canonical}/CodeSystem/muscle``,
the knowledge base's muscle ids — it holds no SNOMED CT codes for muscles, so none is
sent), its title as text with the side, and the side also as our ``laterality``
extension (``left`` / ``right`` / ``bilateral`` in ``{canonical}/CodeSystem/laterality``).
R4 has no laterality element on a CodeableConcept; the knowledge base holds no SNOMED CT
laterality qualifier either, so none is sent. The provider is the performer, as a
Practitioner reference with their name (Practitioner is not served by this facade).
"""

from __future__ import annotations

from needlewise.interop.fhir.emit import ids
from needlewise.interop.fhir.emit.common import (
    CPT,
    JsonObject,
    coding,
    instant,
    meta,
    our_extension,
    our_system,
    patient_ref,
)
from needlewise.knowledge.base import KnowledgeBase
from needlewise.persistence.models import SessionMuscle, TreatmentSession


def procedure_id(row_id: int) -> str:
    return ids.of(ids.SESSION, row_id)


def _cpt_display(row: TreatmentSession) -> str | None:
    for line in row.coding.get("lines") or []:
        if isinstance(line, dict) and line.get("code") == row.cpt_code:
            display = line.get("display")
            return display if isinstance(display, str) else None
    return None


def _body_site(kb: KnowledgeBase, muscle: SessionMuscle) -> JsonObject:
    known = kb.muscle(muscle.muscle)
    title = known.title.en if known is not None else muscle.muscle
    return {
        "extension": [
            {
                "url": our_extension(kb, "laterality"),
                "valueCoding": coding(our_system(kb, "laterality"), muscle.laterality),
            }
        ],
        "coding": [coding(our_system(kb, "muscle"), muscle.muscle, title)],
        "text": f"{title}, {muscle.laterality}",
    }


def procedure_resource(
    kb: KnowledgeBase, row: TreatmentSession, provider_name: str | None
) -> JsonObject:
    """One session as a completed Procedure."""
    units = "unit" if row.cpt_units == 1 else "units"
    notes = [f"Billed as CPT {row.cpt_code}, {row.cpt_units} {units}."]
    if row.technique:
        notes.append(f"Technique: {row.technique}")
    if row.notes:
        notes.append(row.notes)
    performer: JsonObject = {"reference": f"Practitioner/provider-{row.provider_id}"}
    if provider_name:
        performer["display"] = provider_name
    resource: JsonObject = {
        "resourceType": "Procedure",
        "id": procedure_id(row.id),
        "meta": meta(row.updated_at),
        "status": "completed",
        "code": {
            "coding": [coding(CPT, row.cpt_code, _cpt_display(row))],
            "text": f"Dry needling (CPT {row.cpt_code})",
        },
        "subject": patient_ref(row.patient_id),
        "performedDateTime": instant(row.performed_at),
        "performer": [{"actor": performer}],
        "bodySite": [_body_site(kb, m) for m in row.muscles],
        "note": [{"text": text} for text in notes],
    }
    if row.response:
        resource["outcome"] = {"text": row.response}
    if row.in_session_events:
        resource["complication"] = [{"text": row.in_session_events}]
    return resource
