"""A FHIR R4 Patient -> the fields of our patient record, each with the path it came from.

Mapping (what a clinic's patient record holds; everything else stays in the EHR):

* ``name`` — the ``official`` name, else the first with a family name: ``given`` joined
  by spaces -> given name, ``family`` -> family name (both required);
* ``birthDate`` -> birth date (a partial date, ``1980`` or ``1980-04``, is read as its
  last possible day, so an age-based screening rule errs toward firing);
* ``gender`` -> sex (male, female, other, unknown);
* ``telecom`` — the first ``phone`` and the first ``email``;
* ``address`` — the first address: its ``text``, else its lines, city, state, postal
  code and country joined with commas;
* ``communication`` — the preferred language (else the first) -> preferred language,
  when needlewise speaks it (its base code: ``es-MX`` -> ``es``); otherwise English.

The use case validates the values as the JSON API does (names without control
characters, a valid email …), naming the FHIR path of each.
"""

from __future__ import annotations

from typing import Any

from needlewise.errors import InputError
from needlewise.interop.fhir.access import JsonObject
from needlewise.interop.fhir.bundle import parse_birth_date
from needlewise.languages import as_language

_SEXES = ("male", "female", "other", "unknown")

Fields = dict[str, tuple[Any, str]]


def _name(resource: JsonObject, path: str, fields: Fields) -> str | None:
    names = [n for n in resource.get("name") or [] if isinstance(n, dict)]
    chosen = next((n for n in names if n.get("use") == "official" and n.get("family")), None)
    chosen = chosen or next((n for n in names if n.get("family")), None)
    if chosen is None:
        return "a Patient to import needs a name with a family name"
    i = (resource.get("name") or []).index(chosen)
    given = " ".join(g for g in chosen.get("given") or [] if isinstance(g, str) and g.strip())
    if not given:
        return "a Patient to import needs a given name"
    fields["given_name"] = (given, f"{path}.name[{i}].given")
    fields["family_name"] = (chosen["family"], f"{path}.name[{i}].family")
    return None


def _telecom(resource: JsonObject, path: str, fields: Fields) -> None:
    for i, point in enumerate(resource.get("telecom") or []):
        if not isinstance(point, dict) or not isinstance(point.get("value"), str):
            continue
        kind = point.get("system")
        name = "phone" if kind == "phone" else "email" if kind == "email" else None
        if name is not None and name not in fields:
            fields[name] = (point["value"], f"{path}.telecom[{i}].value")


def _address(resource: JsonObject, path: str, fields: Fields) -> None:
    addresses = [a for a in resource.get("address") or [] if isinstance(a, dict)]
    if not addresses:
        return
    first = addresses[0]
    text = first.get("text")
    if not isinstance(text, str) or not text.strip():
        parts = [*(first.get("line") or [])]
        parts += [first.get(k) for k in ("city", "state", "postalCode", "country")]
        text = ", ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    if text:
        fields["address"] = (text, f"{path}.address[0]")


def _language(resource: JsonObject, path: str, fields: Fields) -> None:
    spoken = [c for c in resource.get("communication") or [] if isinstance(c, dict)]
    ordered = sorted(spoken, key=lambda c: c.get("preferred") is not True)
    for item in ordered[:1]:
        concept = item.get("language") or {}
        codes = [c.get("code") for c in concept.get("coding") or [] if isinstance(c, dict)]
        for code in codes:
            language = as_language(str(code).split("-")[0].lower()) if code else None
            if language is not None:
                i = spoken.index(item)
                fields["preferred_language"] = (language, f"{path}.communication[{i}].language")
                return


def read_patient_fields(resource: JsonObject, path: str) -> tuple[Fields, list[tuple[str, str]]]:
    """(PatientIn field -> (value, path), problems) of a Patient already validated
    against the R4B model (so every field has its FHIR type)."""
    fields: Fields = {}
    problems: list[tuple[str, str]] = []
    missing = _name(resource, path, fields)
    if missing:
        problems.append((f"{path}.name", missing))
    birth = resource.get("birthDate")
    if isinstance(birth, str):
        try:
            fields["birth_date"] = (
                parse_birth_date(birth, f"{path}.birthDate"),
                f"{path}.birthDate",
            )
        except InputError as exc:
            problems.append((exc.where, "not a valid FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)"))
    gender = resource.get("gender")
    if gender is not None:
        if gender in _SEXES:
            fields["sex"] = (gender, f"{path}.gender")
        else:
            problems.append((f"{path}.gender", f"must be one of {', '.join(_SEXES)}"))
    _telecom(resource, path, fields)
    _address(resource, path, fields)
    _language(resource, path, fields)
    return fields, problems
