"""What a stored screening adds to the document it is given, before screening it.

* :func:`with_recorded_birth_date` — a Patient with the birth date on the patient's
  record, when the document holds no Patient (so the age rule applies);
* :func:`with_imported_records` — the patient's imported clinical records
  (:mod:`needlewise.services.fhir_import`), so a medicine or condition the EHR sent
  fires its rule even when the document leaves it out.

Both append (the JSON paths of the caller's own entries stay the same) and both return
anything they cannot augment unchanged, for the screening reader to accept or refuse.
"""

from __future__ import annotations

from datetime import date
from typing import Any


def _patient_resource(birth_date: date) -> dict[str, Any]:
    return {"resourceType": "Patient", "birthDate": birth_date.isoformat()}


def _has_patient(entries: list[Any]) -> bool:
    return any(
        isinstance(entry, dict)
        and isinstance(entry.get("resource"), dict)
        and entry["resource"].get("resourceType") == "Patient"
        for entry in entries
    )


def with_recorded_birth_date(document: Any, birth_date: date | None) -> Any:
    """``document`` with a Patient carrying ``birth_date`` when it holds no Patient.

    Anything this cannot augment (no birth date, not a JSON object, a malformed
    ``entry``) is returned unchanged, for the screening reader to accept or refuse.
    """
    if birth_date is None or not isinstance(document, dict):
        return document
    kind = document.get("resourceType")
    if kind == "QuestionnaireResponse":
        return {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": document}, {"resource": _patient_resource(birth_date)}],
        }
    if kind == "Bundle":
        entries = document.get("entry", [])
        if not isinstance(entries, list) or _has_patient(entries):
            return document
        # appended last: the JSON paths of the caller's own entries stay the same
        return {**document, "entry": [*entries, {"resource": _patient_resource(birth_date)}]}
    return document


def _ids_in(entries: list[Any]) -> set[str]:
    found = set()
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and isinstance(resource.get("id"), str):
            found.add(f"{resource.get('resourceType')}/{resource['id']}")
    return found


def with_imported_records(document: Any, records: list[dict[str, Any]]) -> Any:
    """``document`` with the patient's imported records appended as entries (a bare
    QuestionnaireResponse is wrapped in a ``collection`` Bundle first).

    The records lose their ``subject``/``patient`` reference: it names the patient in
    the EHR they came from, and they are this patient's by how they were stored. A
    record the document already holds (same ``Type/id``) is not added again. Anything
    this cannot augment is returned unchanged, for the screening reader to refuse.
    """
    if not records or not isinstance(document, dict):
        return document
    kind = document.get("resourceType")
    if kind == "QuestionnaireResponse":
        document = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": document}],
        }
    elif kind != "Bundle" or not isinstance(document.get("entry", []), list):
        return document
    entries = list(document.get("entry", []))
    present = _ids_in(entries)
    for resource in records:
        key = f"{resource.get('resourceType')}/{resource.get('id')}"
        if "id" in resource and key in present:
            continue
        copy = {k: v for k, v in resource.items() if k not in ("subject", "patient")}
        entries.append({"resource": copy})
    return {**document, "entry": entries}
