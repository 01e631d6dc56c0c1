"""Shared pieces of the emitters: references, instants, our own code systems."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from needlewise.interop.fhir.canonical import code_system_url
from needlewise.interop.fhir.emit import ids
from needlewise.knowledge.base import KnowledgeBase

JsonObject = dict[str, Any]

CPT = "http://www.ama-assn.org/go/cpt"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
BCP47 = "urn:ietf:bcp:47"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def instant(moment: datetime) -> str:
    """A FHIR ``instant``/``dateTime`` in UTC (a naive time is read as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds")


def meta(updated: datetime) -> JsonObject:
    return {"lastUpdated": instant(updated)}


def patient_ref(patient_id: int) -> JsonObject:
    return {"reference": f"Patient/{ids.patient(patient_id)}"}


def our_system(kb: KnowledgeBase, name: str) -> str:
    """One of our code systems (``rule``, ``muscle``, ``laterality``, ``risk`` …)."""
    return code_system_url(kb, name)


def our_extension(kb: KnowledgeBase, name: str) -> str:
    """The URL of one of our extensions (documented in docs/fhir.md)."""
    return f"{kb.data.meta.canonical_base}/StructureDefinition/{name}"


def coding(system: str, code: str, display: str | None = None) -> JsonObject:
    found: JsonObject = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found
