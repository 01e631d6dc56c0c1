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

Each screened type has its reader (:data:`_READERS`): what the resource is about (its
code, an allergy's reaction substances, a medication by code or by reference), whether
it is still true, and for an Observation its value and laboratory flags. A quick check
that skips resources which cannot fire a rule is :mod:`needlewise.interop.fhir.prefilter`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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

#: the resource types screening reads (each has a reader in :data:`_READERS`)
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


def _by_clinical_status(_kind: str, resource: JsonObject, path: str) -> tuple[bool, str | None]:
    """Conditions and allergies: (keep?, qualifier) from ``clinicalStatus`` and
    ``verificationStatus``."""
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


@dataclass(frozen=True)
class _Context:
    """What a reader needs besides the resource: how to find a referenced Medication,
    and the Bundle ``fullUrl`` that names a resource without an id."""

    resolve_medication: MedicationResolver | None
    full_url: str | None


@dataclass(frozen=True)
class _Coded:
    """What a resource is about: its codings and its free text."""

    codes: tuple[Code, ...]
    text: str | None


@dataclass(frozen=True)
class _Measured:
    """An Observation's result: a coded value, laboratory flags, a quantity."""

    values: tuple[Code, ...] = ()
    interpretations: tuple[str, ...] = ()
    quantity: tuple[float, str | None] | None = None


#: (keep?, qualifier) of a resource that is about something screened
_Qualify = Callable[[str, JsonObject, str], tuple[bool, str | None]]


def _concept(resource: JsonObject, path: str, key: str) -> _Coded:
    """The codings and text of the CodeableConcept under ``key``."""
    concept = opt_object(resource, key, path)
    codes = codings(concept, path, key)
    text: str | None = None
    if concept is not None:
        text = concept.get("text")
        if text is not None and type(text) is not str:
            opt_str(concept, "text", child(path, key))  # raises with the path
    return _Coded(codes, text)


def _with_reactions(resource: JsonObject, path: str, coded: _Coded) -> _Coded:
    """An allergy's code plus the substances of its reactions."""
    if "reaction" not in resource:
        return coded
    codes = coded.codes
    for i, raw in enumerate(opt_list(resource, "reaction", path)):
        reaction = expect_object(raw, f"{path}.reaction[{i}]")
        codes += concept_codes(reaction, "substance", f"{path}.reaction[{i}]")
    return _Coded(codes, coded.text)


def _medication(resource: JsonObject, path: str, context: _Context) -> _Coded:
    """What a MedicationRequest or MedicationStatement names: its
    ``medicationCodeableConcept``, or the code of the Medication its
    ``medicationReference`` points to (contained, or resolved from the Bundle), or else
    the reference's display text."""
    coded = _concept(resource, path, "medicationCodeableConcept")
    if "medicationReference" not in resource:
        return coded
    codes, text = coded.codes, coded.text
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
    elif target and context.resolve_medication is not None:
        referenced = context.resolve_medication(target)
    if referenced is not None:
        medication_code = opt_object(referenced, "code", where)
        codes += codings(medication_code, where, "code")
        if medication_code is not None:
            text = opt_str(medication_code, "text", where) or text
    return _Coded(codes, text or opt_str(holder, "display", where))


def _by_status(kind: str, resource: JsonObject, _path: str) -> tuple[bool, str | None]:
    """Medications, Observations, Procedures: dropped by a void ``status``, labelled
    when it is missing."""
    status = resource.get("status")
    if status in _DROPPED_STATUS[kind]:
        return False, None
    return True, "status not recorded" if status is None else None


def _measured(resource: JsonObject, path: str) -> _Measured:
    """An Observation's coded value, numeric value and laboratory flags."""
    values = concept_codes(resource, "valueCodeableConcept", path)
    quantity: tuple[float, str | None] | None = None
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
    if resource.get("interpretation") is None:
        return _Measured(values, (), quantity)
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
    return _Measured(values, tuple(flags), quantity)


def _record(
    resource: JsonObject,
    path: str,
    context: _Context,
    coded: _Coded,
    qualify: _Qualify,
    *,
    may_be_refused: bool = False,
    measured: Callable[[JsonObject, str], _Measured] | None = None,
) -> ClinicalRecord | None:
    """The record of a screened resource once its codes are read: ``None`` when it names
    nothing, or ``qualify`` says it is no longer true, or (``may_be_refused``) it records
    an order not to give the medication (``doNotPerform``)."""
    if not coded.codes and not coded.text:
        return None
    kind: str = resource["resourceType"]
    rid = resource.get("id")
    if type(rid) is not str:
        rid = opt_str(resource, "id", path)
    status = resource.get("status")
    if status is not None and type(status) is not str:
        opt_str(resource, "status", path)  # raises with the path
    keep, qualifier = qualify(kind, resource, path)
    if not keep:
        return None
    if may_be_refused and resource.get("doNotPerform") is True:
        return None
    result = measured(resource, path) if measured is not None else _Measured()
    return ClinicalRecord(
        resource_type=kind,
        reference=f"{kind}/{rid}"
        if rid
        else (context.full_url if type(context.full_url) is str else path),
        codes=coded.codes,
        text=coded.text,
        values=result.values,
        interpretations=result.interpretations,
        quantity=result.quantity,
        when=_first_date(resource, path, _DATES[kind]),
        qualifier=qualifier,
    )


def _read_condition(resource: JsonObject, path: str, context: _Context) -> ClinicalRecord | None:
    coded = _concept(resource, path, "code")
    return _record(resource, path, context, coded, _by_clinical_status)


def _read_allergy(resource: JsonObject, path: str, context: _Context) -> ClinicalRecord | None:
    coded = _with_reactions(resource, path, _concept(resource, path, "code"))
    return _record(resource, path, context, coded, _by_clinical_status)


def _read_medication(resource: JsonObject, path: str, context: _Context) -> ClinicalRecord | None:
    coded = _medication(resource, path, context)
    return _record(resource, path, context, coded, _by_status, may_be_refused=True)


def _read_observation(resource: JsonObject, path: str, context: _Context) -> ClinicalRecord | None:
    coded = _concept(resource, path, "code")
    return _record(resource, path, context, coded, _by_status, measured=_measured)


def _read_procedure(resource: JsonObject, path: str, context: _Context) -> ClinicalRecord | None:
    coded = _concept(resource, path, "code")
    return _record(resource, path, context, coded, _by_status)


_Reader = Callable[[JsonObject, str, _Context], ClinicalRecord | None]

#: one reader per screened resource type
_READERS: dict[str, _Reader] = {
    "Condition": _read_condition,
    "AllergyIntolerance": _read_allergy,
    "MedicationRequest": _read_medication,
    "MedicationStatement": _read_medication,
    "Observation": _read_observation,
    "Procedure": _read_procedure,
}


def read_record(
    resource: JsonObject,
    path: str,
    resolve_medication: MedicationResolver | None = None,
    full_url: str | None = None,
) -> ClinicalRecord | None:
    """The record for a screened resource (a type in :data:`SCREENED_TYPES`), or ``None``
    when it cannot fire a rule.

    Evidence names the record as ``Type/id``; a resource without an id is named by its
    Bundle ``fullUrl`` (e.g. ``urn:uuid:…``), or else by its JSON path.
    """
    reader = _READERS[resource["resourceType"]]
    return reader(resource, path, _Context(resolve_medication, full_url))
