"""The outcome forms of the patient chart: a clinician records a PSFS, NDI, ODI or NPRS
score (posted to ``/app/patients/{patient_id}/outcomes``, :mod:`needlewise.web.pages.outcome_entry`).

The chart shows one form per measure (:func:`forms_for`; the ones due are open). NDI and
ODI sections are numbered fields labelled by our own short section names (the clinician
reads the scores off the clinic's licensed form); an ODI section left blank is skipped.
PSFS takes up to 5 activities in the patient's words, each 0-10. The form becomes the
same document ``POST /api/patients/{id}/outcomes`` takes and goes to
:func:`needlewise.services.outcomes.record_outcome_document`; bad input shows the chart
again with the field named and nothing stored (422), a saved score goes back to the
chart's outcomes (303).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from needlewise.knowledge.base import KnowledgeBase

#: the measures the chart offers, in this order
OFFERED = ("measure.psfs", "measure.ndi", "measure.odi", "measure.nprs")
MAX_FIELDS = 60


@dataclass
class OutcomeForm:
    """One measure's form as the chart shows it."""

    measure: str
    abbreviation: str
    title: str
    kind: str
    item_max: int
    min_items: int
    max_items: int
    sections: list[tuple[str, str]]
    open: bool = False
    values: dict[str, str] = field(default_factory=dict)
    #: field name -> problem; "" for the form as a whole
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.measure.removeprefix("measure.")

    def section_label(self, name: str) -> str:
        """``3. lifting`` for the field ``section.lifting`` ("" for another field)."""
        for number, (key, title) in enumerate(self.sections, start=1):
            if name == f"section.{key}":
                return f"{number}. {title}"
        return ""

    def activity_number(self, name: str) -> int | None:
        """1-5 for the fields ``activity.0.name`` … (``None`` for another field)."""
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "activity" and parts[1].isdigit():
            return int(parts[1]) + 1
        return None


def forms_for(
    kb: KnowledgeBase, language: str, due: list[str], failed: OutcomeForm | None = None
) -> list[OutcomeForm]:
    """The chart's forms: the due measures open, a refused form kept with its values."""
    found = []
    for measure_id in OFFERED:
        measure = kb.measure(measure_id)
        if measure is None or measure.method is None:
            continue
        method = measure.method
        found.append(
            OutcomeForm(
                measure=measure.id,
                abbreviation=measure.abbreviation,
                title=measure.title.get(language),
                kind=method.kind,
                item_max=method.item_max,
                min_items=method.min_items,
                max_items=method.max_items,
                sections=[(s.key, s.title.get(language)) for s in method.sections],
                open=measure.id in due,
            )
        )
        if failed is not None and failed.measure == measure_id:
            found[-1].open, found[-1].values, found[-1].errors = True, failed.values, failed.errors
    return found


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def document_of(spec: OutcomeForm, form: FormData) -> tuple[dict[str, Any], list[str]]:
    """(the API document, the form field of each item in order) from the posted form."""
    items: list[dict[str, Any]] = []
    fields: list[str] = []
    if spec.sections:
        for key, _title in spec.sections:
            name = f"section.{key}"
            spec.values[name] = form_text(form, name)
            items.append({"key": key, "score": spec.values[name] or None})
            fields.append(name)
    elif spec.kind == "mean":
        for row in range(spec.max_items):
            name, score = f"activity.{row}.name", f"activity.{row}.score"
            spec.values[name], spec.values[score] = form_text(form, name), form_text(form, score)
            if spec.values[name] or spec.values[score]:
                items.append({"name": spec.values[name], "score": spec.values[score] or None})
                fields.append(f"activity.{row}")
    else:
        spec.values["score"] = form_text(form, "score")
        items.append({"score": spec.values["score"] or None})
        fields.append("score")
    document: dict[str, Any] = {"measure": spec.measure, "items": items}
    session = form_text(form, "session_id")
    spec.values["session_id"] = session
    if session:
        document["session_id"] = session
    return document, fields


def field_of(where: str, fields: list[str]) -> str:
    """The form field a service error names (``$.items[3].score`` -> ``section.reading``)."""
    if where.startswith("$.items["):
        index = where.removeprefix("$.items[").split("]")[0]
        if index.isdigit() and int(index) < len(fields):
            name = fields[int(index)]
            if name.startswith("activity."):
                part = "name" if where.endswith(".name") else "score"
                return f"{name}.{part}"
            return name
    if where == "$.session_id":
        return "session_id"
    return ""
