"""FHIR R4 clinical resources -> :class:`~needlewise.domain.facts.ClinicalRecord`.

Only records that may still be true fire screening rules. A resource is dropped when:

* Condition / AllergyIntolerance: ``clinicalStatus`` is inactive, remission or resolved,
  or ``verificationStatus`` is refuted or entered-in-error;
* MedicationRequest: ``status`` stopped, cancelled, completed or entered-in-error, or
  ``doNotPerform`` is true;
* MedicationStatement: ``status`` completed, stopped, not-taken or entered-in-error;
* Observation: ``status`` cancelled or entered-in-error;
* Procedure: ``status`` not-done or entered-in-error.

A missing status is unclear, so the record is kept (it can only escalate) and the
finding says so. Provisional or unconfirmed records are kept and labelled.
"""

from __future__ import annotations

from collections.abc import Callable

from needlewise.domain.facts import ClinicalRecord, Code
from needlewise.interop.fhir.access import (
    JsonObject,
    child,
    codings,
    expect_object,
    opt_list,
    opt_object,
    opt_str,
    status_codes,
)

SCREENED_TYPES = frozenset(
    {
        "Condition",
        "AllergyIntolerance",
        "MedicationRequest",
        "MedicationStatement",
        "Observation",
        "Procedure",
    }
)

_INACTIVE_CLINICAL = {"inactive", "remission", "resolved"}
_VOID_VERIFICATION = {"refuted", "entered-in-error"}
_TENTATIVE_VERIFICATION = {"unconfirmed", "provisional", "differential"}
_DROPPED_STATUS = {
    "MedicationRequest": {"stopped", "cancelled", "completed", "entered-in-error"},
    "MedicationStatement": {"completed", "stopped", "not-taken", "entered-in-error"},
    "Observation": {"cancelled", "entered-in-error"},
    "Procedure": {"not-done", "entered-in-error"},
}

#: Resolves a medicationReference to a Medication resource (from the bundle or contained).
MedicationResolver = Callable[[str], JsonObject | None]


def _codes(concept: JsonObject | None, path: str) -> tuple[Code, ...]:
    return tuple(Code(s, c, d) for s, c, d in codings(concept, path))


def _first_date(resource: JsonObject, path: str, *keys: str) -> str | None:
    for key in keys:
        if "." in key:
            outer, inner = key.split(".", 1)
            holder = opt_object(resource, outer, path)
            value = opt_str(holder, inner, child(path, outer)) if holder else None
        else:
            value = opt_str(resource, key, path)
        if value:
            return value[:10]
    return None


def _clinical_qualifier(resource: JsonObject, path: str) -> tuple[bool, str | None]:
    """(keep?, qualifier) from clinicalStatus / verificationStatus."""
    clinical = status_codes(
        opt_object(resource, "clinicalStatus", path), child(path, "clinicalStatus")
    )
    verification = status_codes(
        opt_object(resource, "verificationStatus", path), child(path, "verificationStatus")
    )
    if clinical & _INACTIVE_CLINICAL or verification & _VOID_VERIFICATION:
        return False, None
    notes = []
    if not clinical:
        notes.append("clinical status not recorded")
    tentative = verification & _TENTATIVE_VERIFICATION
    if tentative:
        notes.append(f"verification {sorted(tentative)[0]}")
    return True, "; ".join(notes) or None


def read_record(
    resource: JsonObject, path: str, resolve_medication: MedicationResolver | None = None
) -> ClinicalRecord | None:
    """The record for a screened resource, or ``None`` when it cannot fire a rule."""
    kind = resource["resourceType"]
    rid = opt_str(resource, "id", path) or "(no id)"
    reference = f"{kind}/{rid}"
    qualifier: str | None = None
    text: str | None = None

    status = opt_str(resource, "status", path)
    if status is not None and status in _DROPPED_STATUS.get(kind, ()):
        return None
    if kind in _DROPPED_STATUS and status is None:
        qualifier = "status not recorded"

    if kind in ("Condition", "AllergyIntolerance"):
        keep, qualifier = _clinical_qualifier(resource, path)
        if not keep:
            return None

    values: tuple[Code, ...] = ()
    interpretations: tuple[str, ...] = ()
    if kind == "Condition":
        concept = opt_object(resource, "code", path)
        codes = _codes(concept, child(path, "code"))
        when = _first_date(resource, path, "onsetDateTime", "recordedDate")
    elif kind == "AllergyIntolerance":
        concept = opt_object(resource, "code", path)
        codes = _codes(concept, child(path, "code"))
        for i, raw in enumerate(opt_list(resource, "reaction", path)):
            where = child(child(path, "reaction"), i)
            reaction = expect_object(raw, where)
            codes += _codes(opt_object(reaction, "substance", where), child(where, "substance"))
        when = _first_date(resource, path, "recordedDate", "onsetDateTime")
    elif kind in ("MedicationRequest", "MedicationStatement"):
        if resource.get("doNotPerform") is True:
            return None
        concept = opt_object(resource, "medicationCodeableConcept", path)
        codes = _codes(concept, child(path, "medicationCodeableConcept"))
        ref_holder = opt_object(resource, "medicationReference", path)
        if ref_holder is not None:
            where = child(path, "medicationReference")
            target = opt_str(ref_holder, "reference", where)
            medication = resolve_medication(target) if (target and resolve_medication) else None
            if medication is not None:
                concept = opt_object(medication, "code", where)
                codes += _codes(concept, child(where, "code"))
            text = opt_str(ref_holder, "display", where)
        when = _first_date(
            resource,
            path,
            "authoredOn",
            "effectiveDateTime",
            "effectivePeriod.start",
            "dateAsserted",
        )
    elif kind == "Observation":
        concept = opt_object(resource, "code", path)
        codes = _codes(concept, child(path, "code"))
        values = _codes(
            opt_object(resource, "valueCodeableConcept", path), child(path, "valueCodeableConcept")
        )
        flags: list[str] = []
        for i, raw in enumerate(opt_list(resource, "interpretation", path)):
            where = child(child(path, "interpretation"), i)
            flags.extend(c for _s, c, _d in codings(expect_object(raw, where), where))
        interpretations = tuple(flags)
        when = _first_date(resource, path, "effectiveDateTime", "effectivePeriod.start", "issued")
    else:  # Procedure
        concept = opt_object(resource, "code", path)
        codes = _codes(concept, child(path, "code"))
        when = _first_date(resource, path, "performedDateTime", "performedPeriod.start")

    if concept is not None:
        text = opt_str(concept, "text", path) or text
    if not codes and not text:
        return None
    return ClinicalRecord(
        resource_type=kind,
        reference=reference,
        codes=codes,
        text=text,
        values=values,
        interpretations=interpretations,
        when=when,
        qualifier=qualifier,
    )
