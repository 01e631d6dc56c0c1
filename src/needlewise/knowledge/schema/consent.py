"""The informed-consent template (wording in English and Spanish, risks filled in)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from needlewise.knowledge.schema.common import Provenance, SourceId, Strict, Text

# ------------------------------------------------------------------ informed consent

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


class ConsentSection(Strict):
    """One part of the consent form: a heading and a short plain-language paragraph.

    With ``emergency_signs`` / ``call_signs`` (the lead-in of a list), the consent service
    lists after the body the title of every after-treatment symptom of that tier
    (emergency / call-provider) that the source page names, so the warning signs on the
    consent are always those of ``symptoms.yaml``.
    """

    key: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z-]*$")]
    heading: Text
    body: Text
    emergency_signs: Text | None = None
    call_signs: Text | None = None


class PopulationWords(Strict):
    """One unit's plural noun phrase in each studied population (``Incidence.population``),
    e.g. "dry-needling treatments" / "acupuncture treatments"."""

    dry_needling: Text
    acupuncture: Text


class PerWords(Strict):
    """What an incidence figure counts (``Incidence.per``), in whom (``population``)."""

    treatments: PopulationWords
    sessions: PopulationWords
    patients: PopulationWords
    respondents: PopulationWords


class FrequencyWording(Strict):
    """How a risk's published figure is put into plain words.

    Placeholders (filled by the consent service): ``{n}`` the "1 in n" number,
    ``{tenths}`` the "k in 10" number, ``{count}`` the number counted when nothing
    was seen, ``{per}`` the unit (:class:`PerWords`), ``{percent}`` the published
    figure, ``{source}`` the first author and year. Both languages must use the same
    placeholders.
    """

    label: Text
    rate: Text
    most: Text
    every: Text
    upper_bound: Text
    none_seen: Text
    none_seen_uncounted: Text
    survey: Text
    no_figure: Text
    per: PerWords

    @model_validator(mode="after")
    def _same_placeholders(self) -> FrequencyWording:
        allowed = {"n", "tenths", "count", "per", "percent", "source"}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if not isinstance(value, Text):
                continue
            en, es = _placeholders(value.en), _placeholders(value.es)
            if en != es:
                raise ValueError(f"frequency.{name}: en uses {sorted(en)}, es {sorted(es)}")
            if en - allowed:
                raise ValueError(f"frequency.{name}: unknown placeholder(s) {sorted(en - allowed)}")
        return self


class RiskCategories(Strict):
    """Sub-headings of the risk list, one per ``Risk.category``."""

    common: Text
    uncommon: Text
    rare: Text
    serious: Text


class SignerRoles(Strict):
    """How the person who signed is described on the patient's copy."""

    patient: Text
    guardian: Text
    representative: Text


class CopyLabels(Strict):
    """Labels of the signature block on the copy given to the patient."""

    heading: Text
    signed_by: Text
    typed_name: Text
    signed_on: Text
    interpreter: Text
    no_interpreter: Text
    text_version: Text
    fingerprint: Text
    withdrawn_on: Text
    reason: Text
    not_withdrawn: Text
    roles: SignerRoles


class ComprehensionChoice(Strict):
    """One answer a patient can pick for a :class:`ComprehensionQuestion`."""

    key: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")]
    text: Text
    correct: bool = False


class ComprehensionQuestion(Strict):
    """A question that checks the patient understood the consent before signing.

    It restates a fact of the consent text (it adds none): exactly one choice is right.
    A wrong answer shows ``explanation`` again (with the frequency of ``risk``, as the
    consent text words it, when the question is about a risk) and the patient answers
    again. ``sources`` are those of the fact the question restates.
    """

    key: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z-]*$")]
    question: Text
    choices: list[ComprehensionChoice] = Field(min_length=2, max_length=4)
    explanation: Text
    risk: Annotated[str, StringConstraints(pattern=r"^risk\.[a-z0-9-]+$")] | None = None
    sources: list[SourceId] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_right_answer(self) -> ComprehensionQuestion:
        right = [c.key for c in self.choices if c.correct]
        if len(right) != 1:
            raise ValueError(f"comprehension {self.key}: exactly one choice must be correct")
        if len({c.key for c in self.choices}) != len(self.choices):
            raise ValueError(f"comprehension {self.key}: choice keys must be unique")
        return self


#: Sections every consent template must have (what it is, what happens, benefits not
#: guaranteed, alternatives, the right to stop and withdraw).
REQUIRED_CONSENT_SECTIONS: tuple[str, ...] = (
    "what-it-is",
    "what-will-happen",
    "benefits",
    "alternatives",
    "stopping",
)


class ConsentTemplate(Provenance):
    """The informed-consent form. The consent service renders it with every risk of the
    knowledge base and that risk's frequency in plain words; the rendered text, its
    version (``version`` + the knowledge version) and sha256 are what a patient signs."""

    id: Annotated[str, StringConstraints(pattern=r"^consent\.[a-z0-9-]+$")]
    version: Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+)*$")]
    title: Text
    intro: Text
    sections_before_risks: list[ConsentSection] = Field(min_length=1)
    risks_heading: Text
    risks_intro: Text
    categories: RiskCategories
    frequency: FrequencyWording
    sections_after_risks: list[ConsentSection] = []
    agreement_heading: Text
    agreement: Text
    copy_labels: CopyLabels
    #: two or three questions the patient answers before signing (not part of the text
    #: signed: they check it was understood)
    comprehension: list[ComprehensionQuestion] = Field(default=[], max_length=3)

    @model_validator(mode="after")
    def _required_sections(self) -> ConsentTemplate:
        keys = [s.key for s in self.sections_before_risks + self.sections_after_risks]
        if len(keys) != len(set(keys)):
            raise ValueError("section keys must be unique")
        missing = [k for k in REQUIRED_CONSENT_SECTIONS if k not in keys]
        if missing:
            raise ValueError(f"missing consent section(s): {', '.join(missing)}")
        return self
