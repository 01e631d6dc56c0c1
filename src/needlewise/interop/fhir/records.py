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
from needlewise.errors import InputError
from needlewise.interop.fhir.access import (
    JsonObject,
    child,
    codings,
    concept_codes,
    expect_object,
    opt_list,
    opt_object,
    opt_str,
    status_codes,
)
from needlewise.knowledge.codeindex import CodeIndex

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

_V3_FLAGS = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
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


def _first_date(resource: JsonObject, path: str, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = resource.get(key)
        if type(value) is str and value:
            return value[:10]
        if "." in key:
            outer, inner = key.split(".", 1)
            holder = opt_object(resource, outer, path)
            value = opt_str(holder, inner, child(path, outer)) if holder else None
        else:
            value = opt_str(resource, key, path)
        if value:
            return value[:10]
    return None


def _status_codes(resource: JsonObject, key: str, path: str) -> set[str]:
    concept = resource.get(key)
    if concept is None:
        return set()
    if type(concept) is dict:
        coding = concept.get("coding")
        if type(coding) is list and all(
            type(c) is dict and type(c.get("code")) is str for c in coding
        ):
            return {c["code"] for c in coding}  # the common, well-formed case
    return status_codes(resource, key, path)  # checks every type, raises with the path


def _clinical_qualifier(resource: JsonObject, path: str) -> tuple[bool, str | None]:
    """(keep?, qualifier) from clinicalStatus / verificationStatus."""
    clinical = _status_codes(resource, "clinicalStatus", path)
    verification = _status_codes(resource, "verificationStatus", path)
    if clinical & _INACTIVE_CLINICAL or verification & _VOID_VERIFICATION:
        return False, None
    notes = []
    if not clinical:
        notes.append("clinical status not recorded")
    tentative = verification & _TENTATIVE_VERIFICATION
    if tentative:
        notes.append(f"verification {sorted(tentative)[0]}")
    return True, "; ".join(notes) or None


_DATES = {
    "Condition": ("onsetDateTime", "recordedDate"),
    "AllergyIntolerance": ("recordedDate", "onsetDateTime"),
    "MedicationRequest": ("authoredOn",),
    "MedicationStatement": ("effectiveDateTime", "effectivePeriod.start", "dateAsserted"),
    "Observation": ("effectiveDateTime", "effectivePeriod.start", "issued"),
    "Procedure": ("performedDateTime", "performedPeriod.start"),
}


def _has_firing_flag(interpretation: object, flags: frozenset[str]) -> bool:
    """True when an interpretation list holds a firing flag, or is malformed (so the
    full reader reports it)."""
    if interpretation is None:
        return False
    if type(interpretation) is not list:
        return True
    for concept in interpretation:
        if type(concept) is not dict:
            return True
        coding = concept.get("coding")
        if type(coding) is not list:
            return coding is not None
        for item in coding:
            if type(item) is not dict or item.get("code") in flags:
                return True
    return False


def may_fire(kind: str, resource: JsonObject, codes: CodeIndex) -> bool:
    """Fast check on raw JSON: could this resource fire any rule?

    Most resources in an EHR record (vital signs, unrelated problems) cannot; they are
    skipped without building a record. Anything unusual (a medicationReference, text
    without codes, a malformed code field) answers True so the full reader sees it and
    reports problems with their path.
    """
    medication = kind in ("MedicationRequest", "MedicationStatement")
    concept = resource.get("medicationCodeableConcept" if medication else "code")
    if type(concept) is not dict or (medication and "medicationReference" in resource):
        return concept is not None or medication
    # an Observation fires only through a coded value, a laboratory flag, or a numeric
    # value when some rule has a threshold
    if (
        kind == "Observation"
        and "valueCodeableConcept" not in resource
        and not (codes.has_thresholds and "valueQuantity" in resource)
        and not _has_firing_flag(resource.get("interpretation"), codes.fire_flags)
    ):
        return False
    coding = concept.get("coding")
    if coding is not None:
        if type(coding) is not list:
            return True
        for item in coding:
            if type(item) is not dict:
                return True
            system, code = item.get("system"), item.get("code")
            if type(system) is not str or type(code) is not str:
                if system is not None or code is not None:
                    return True  # half a coding: let the reader decide
                continue
            if codes.maybe(system, code):
                return True
            if medication:
                display = item.get("display")
                if type(display) is str and codes.maybe_names(display):
                    return True
    if medication:
        text = concept.get("text")
        return text is not None and (type(text) is not str or codes.maybe_names(text))
    return kind == "AllergyIntolerance" and "reaction" in resource


def read_record(
    resource: JsonObject,
    path: str,
    resolve_medication: MedicationResolver | None = None,
    full_url: str | None = None,
) -> ClinicalRecord | None:
    """The record for a screened resource, or ``None`` when it cannot fire a rule.

    Evidence names the record as ``Type/id``; a resource without an id is named by its
    Bundle ``fullUrl`` (e.g. ``urn:uuid:…``), or else by its JSON path.
    """
    kind: str = resource["resourceType"]
    medication = kind in ("MedicationRequest", "MedicationStatement")
    concept_key = "medicationCodeableConcept" if medication else "code"
    concept = opt_object(resource, concept_key, path)
    codes = codings(concept, path, concept_key)
    text: str | None = None
    if concept is not None:
        text = concept.get("text")
        if text is not None and type(text) is not str:
            opt_str(concept, "text", child(path, concept_key))  # raises with the path
    if kind == "AllergyIntolerance" and "reaction" in resource:
        for i, raw in enumerate(opt_list(resource, "reaction", path)):
            reaction = expect_object(raw, f"{path}.reaction[{i}]")
            codes += concept_codes(reaction, "substance", f"{path}.reaction[{i}]")
    elif medication and "medicationReference" in resource:
        where = child(path, "medicationReference")
        holder = expect_object(resource["medicationReference"], where)
        target = opt_str(holder, "reference", where)
        referenced = None
        if target and target.startswith("#"):  # a Medication contained in this resource
            for i, raw in enumerate(opt_list(resource, "contained", path)):
                inner = expect_object(raw, f"{path}.contained[{i}]")
                if inner.get("resourceType") == "Medication" and inner.get("id") == target[1:]:
                    referenced = inner
                    break
        elif target and resolve_medication is not None:
            referenced = resolve_medication(target)
        if referenced is not None:
            medication_code = opt_object(referenced, "code", where)
            codes += codings(medication_code, where, "code")
            if medication_code is not None:
                text = opt_str(medication_code, "text", where) or text
        text = text or opt_str(holder, "display", where)
    if not codes and not text:
        return None

    rid = resource.get("id")
    if type(rid) is not str:
        rid = opt_str(resource, "id", path)
    qualifier: str | None = None
    status = resource.get("status")
    if status is not None and type(status) is not str:
        opt_str(resource, "status", path)  # raises with the path
    dropped = _DROPPED_STATUS.get(kind)
    if dropped is not None:
        if status in dropped:
            return None
        if status is None:
            qualifier = "status not recorded"
    elif kind in ("Condition", "AllergyIntolerance"):
        keep, qualifier = _clinical_qualifier(resource, path)
        if not keep:
            return None
    if medication and resource.get("doNotPerform") is True:
        return None

    values: tuple[Code, ...] = ()
    interpretations: tuple[str, ...] = ()
    quantity: tuple[float, str | None] | None = None
    if kind == "Observation":
        values = concept_codes(resource, "valueCodeableConcept", path)
        measured = opt_object(resource, "valueQuantity", path)
        if measured is not None:
            number = measured.get("value")
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                if number is not None:
                    raise InputError(
                        "valueQuantity.value must be a number", f"{path}.valueQuantity.value"
                    )
            else:
                unit = measured.get("code") or measured.get("unit")
                quantity = (float(number), unit if type(unit) is str else None)
        if resource.get("interpretation") is not None:
            flags: list[str] = []
            for i, raw in enumerate(opt_list(resource, "interpretation", path)):
                where = f"{path}.interpretation[{i}]"
                concept = expect_object(raw, where)
                flags.extend(c.code for c in codings(concept, where) if c.system == _V3_FLAGS)
                # a flag without a system (e.g. {"code": "LL"}) is still the lab's flag:
                # ignoring it could miss a finding, so it counts
                for j, coding in enumerate(opt_list(concept, "coding", where)):
                    coding = expect_object(coding, f"{where}.coding[{j}]")
                    code = opt_str(coding, "code", f"{where}.coding[{j}]")
                    if code and coding.get("system") is None:
                        flags.append(code)
            interpretations = tuple(flags)
    return ClinicalRecord(
        resource_type=kind,
        reference=f"{kind}/{rid}" if rid else (full_url if type(full_url) is str else path),
        codes=codes,
        text=text,
        values=values,
        interpretations=interpretations,
        quantity=quantity,
        when=_first_date(resource, path, _DATES[kind]),
        qualifier=qualifier,
    )
