"""What a clinic needs besides screening and triage (``clinic.yaml``), and the facts every
patient page shows (``patient_info.yaml``).

* :class:`AftercareSheet` — the take-home aftercare sheet. It holds no symptom wording of
  its own: its two lists name a tier, and the renderer lists every symptom of that tier
  (``symptoms.yaml``) by its title. Phone numbers are placeholders filled per clinic.
* :class:`EmergencyPlan` — the in-clinic plan for critical events, one entry per event,
  each with ordered steps that carry their own sources and evidence tag; plus the state
  rules a clinic must record (:class:`StateNote`).
* :class:`OverrideReason` — standard reasons a clinician picks when overriding a
  not-eligible screening; ``applies_to`` names the contraindications (empty: any rule).
* :class:`ConsentAddendum` — extra agreement for electrical stimulation, and the young
  person's own agreement when a parent or guardian signs.
* :class:`OtherNames`, :class:`SourcedText` (the disclaimer) and :class:`Checklist` — the
  procedure's other names, the disclaimer, and what a patient checks before treatment.

The loader merges each file's top-level keys into ``KnowledgeData``, so these models are
fields of it directly (``kb.data.aftercare_sheet``, ``kb.data.before_treatment_checklist``).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from needlewise.knowledge.schema.common import (
    ContraindicationId,
    Evidence,
    Provenance,
    SourceId,
    Strict,
    Text,
    Tier,
)

EmergencyPlanId = Annotated[str, StringConstraints(pattern=r"^emergency-plan\.[a-z0-9-]+$")]
OverrideReasonId = Annotated[str, StringConstraints(pattern=r"^override-reason\.[a-z0-9-]+$")]
ConsentAddendumId = Annotated[str, StringConstraints(pattern=r"^consent-addendum\.[a-z0-9-]+$")]
ChecklistId = Annotated[str, StringConstraints(pattern=r"^checklist\.[a-z0-9-]+$")]
StateCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
PartKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")]

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

#: placeholders the aftercare sheet may use (filled by ``services/aftercare_sheet.py``)
SHEET_PLACEHOLDERS: frozenset[str] = frozenset({"day_phone", "after_hours_phone"})


def placeholders(text: str) -> set[str]:
    """The ``{name}`` placeholders in ``text``."""
    return set(_PLACEHOLDER.findall(text))


def _texts(value: object, path: str) -> list[tuple[str, Text]]:
    """Every :class:`Text` inside ``value`` with a dotted path, depth first."""
    if isinstance(value, Text):
        return [(path, value)]
    found: list[tuple[str, Text]] = []
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found += _texts(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, (list, tuple)):
        for i, inner in enumerate(value):
            found += _texts(inner, f"{path}[{i}]")
    return found


# ------------------------------------------------------------------ aftercare sheet


class SheetPart(Provenance):
    """A block of the aftercare sheet: a heading, paragraphs, then optional bullets."""

    key: PartKey
    heading: Text
    paragraphs: list[Text] = Field(min_length=1)
    bullets: list[Text] = []
    #: escalation ids whose "call 911" this part tells in its own words; the loader checks
    #: that every emergency escalation is told somewhere on the sheet
    tells: list[Annotated[str, StringConstraints(pattern=r"^escalation\.[a-z0-9-]+$")]] = []
    gaps: str | None = None


class SymptomTierList(Strict):
    """A list of warning signs: every symptom of ``tier``, by its title (``symptoms.yaml``).

    ``lead`` comes before the list, ``notes`` after it.
    """

    key: PartKey
    tier: Tier
    heading: Text
    lead: Text
    notes: list[Text] = []


class PhoneNumbers(Provenance):
    """The clinic's numbers. ``day`` must use ``{day_phone}`` and ``after_hours``
    ``{after_hours_phone}``; ``missing_number`` is what replaces a number the clinic has
    not given (never an empty string)."""

    key: PartKey
    heading: Text
    day: Text
    after_hours: Text
    missing_number: Text
    notes: list[Text] = []

    @model_validator(mode="after")
    def _numbers_in_their_lines(self) -> PhoneNumbers:
        for name, needed in (("day", "day_phone"), ("after_hours", "after_hours_phone")):
            text: Text = getattr(self, name)
            if needed not in placeholders(text.en):
                raise ValueError(f"phones.{name} must use {{{needed}}}")
        if placeholders(self.missing_number.en) or placeholders(self.missing_number.es):
            raise ValueError("phones.missing_number must not use placeholders")
        return self


class AftercareSheet(Provenance):
    """The take-home aftercare sheet (patient-facing, at or below a 6th-grade level).

    Every text may use only ``{day_phone}`` and ``{after_hours_phone}``, and both
    languages of a text must use the same placeholders.
    """

    id: Annotated[str, StringConstraints(pattern=r"^aftercare\.[a-z0-9-]+$")]
    version: Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+)*$")]
    title: Text
    intro: Text
    phones: PhoneNumbers
    emergency: SymptomTierList
    call_today: SymptomTierList
    lung_signs: SheetPart
    infection_signs: SheetPart
    self_care: SheetPart
    driving: SheetPart

    @model_validator(mode="after")
    def _check(self) -> AftercareSheet:
        if self.emergency.tier is not Tier.emergency:
            raise ValueError("aftercare sheet: emergency must list tier emergency")
        if self.call_today.tier is not Tier.call_provider:
            raise ValueError("aftercare sheet: call_today must list tier call-provider")
        keys = [
            part.key
            for part in (
                self.phones,
                self.emergency,
                self.call_today,
                self.lung_signs,
                self.infection_signs,
                self.self_care,
                self.driving,
            )
        ]
        if len(keys) != len(set(keys)):
            raise ValueError(f"aftercare sheet: part keys must be unique, got {keys}")
        for path, text in _texts(self, ""):
            en, es = placeholders(text.en), placeholders(text.es)
            if en != es:
                raise ValueError(f"aftercare {path}: en uses {sorted(en)}, es {sorted(es)}")
            if en - SHEET_PLACEHOLDERS:
                raise ValueError(
                    f"aftercare {path}: unknown placeholder(s) {sorted(en - SHEET_PLACEHOLDERS)}"
                )
        return self


# ------------------------------------------------------------------ emergency plan


class PlanStep(Strict):
    """One step of an emergency plan, with its own sources and evidence tag."""

    text: Text
    sources: list[SourceId] = Field(min_length=1)
    evidence: Evidence


class EmergencyPlanEntry(Provenance):
    """What staff do for one critical event, in order (clinician-facing)."""

    id: EmergencyPlanId
    title: Text
    when: Text
    steps: list[PlanStep] = Field(min_length=1)
    gaps: str | None = None


class StateNote(Provenance):
    """A state rule a clinic must follow or record (``state``: USPS code)."""

    state: StateCode
    text: Text


class EmergencyPlan(Provenance):
    """The clinic's written plan for critical events, and the state rules to record."""

    title: Text
    intro: Text
    events: list[EmergencyPlanEntry] = Field(min_length=1)
    state_notes: list[StateNote] = []
    gaps: str | None = None


# ------------------------------------------------------------------ overrides, addenda


class OverrideReason(Provenance):
    """A standard reason for overriding a not-eligible screening.

    ``explanation`` says what the clinician confirms by picking it. ``applies_to`` lists
    the contraindications it may override; empty means any rule. ``requires_text``: the
    clinician must also write the reason out.
    """

    id: OverrideReasonId
    title: Text
    explanation: Text
    applies_to: list[ContraindicationId]
    requires_text: bool = False
    gaps: str | None = None

    @model_validator(mode="after")
    def _unique(self) -> OverrideReason:
        if len(self.applies_to) != len(set(self.applies_to)):
            raise ValueError(f"{self.id}: applies_to lists a rule twice")
        return self


class ConsentAddendum(Provenance):
    """An addition to the consent form, signed when ``applies_when`` holds: a heading
    (``title``), paragraphs (``body``) and the sentence the signer agrees to.

    ``electrical-stimulation``: the plan includes current through the needles;
    ``guardian-consent``: a parent or guardian signs, and the young person agrees too;
    ``medicare-patient``: the patient has Medicare, which does not pay for dry needling
    (a voluntary written notice, in the patient's language).
    ``related_rules``: contraindications the addendum is about (checked by the loader).
    """

    id: ConsentAddendumId
    applies_when: Literal["electrical-stimulation", "guardian-consent", "medicare-patient"]
    title: Text
    body: list[Text] = Field(min_length=1)
    agreement: Text
    related_rules: list[ContraindicationId] = []
    gaps: str | None = None


# ------------------------------------------------------------------ patient information


class OtherNames(Provenance):
    """Other names of the procedure, and what it is based on."""

    lead: Text
    names: list[Text] = Field(min_length=1)
    basis: Text


class SourcedText(Provenance):
    """One patient-facing text with its provenance."""

    text: Text


class ChecklistItem(Provenance):
    """One thing a patient checks before treatment."""

    id: ChecklistId
    text: Text
    help: Text | None = None
    gaps: str | None = None


class Checklist(Strict):
    """The before-treatment checklist: a heading, a lead and its items."""

    heading: Text
    lead: Text
    items: list[ChecklistItem] = Field(min_length=1)
