"""A fast check on raw FHIR JSON: could this resource fire any screening rule?

Most resources in an EHR record (vital signs, unrelated problems) cannot; screening a
Bundle (:mod:`needlewise.interop.fhir.bundle`) skips them without building a record.
The check looks only at codes the knowledge base knows (:class:`CodeIndex`); anything
unusual answers True, so the full reader (:mod:`needlewise.interop.fhir.records`) sees
it and reports problems with their path.
"""

from __future__ import annotations

from needlewise.interop.fhir.access import JsonObject
from needlewise.knowledge.codeindex import CodeIndex


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
