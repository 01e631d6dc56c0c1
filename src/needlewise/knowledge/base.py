"""The loaded knowledge base: validated content plus lookup indexes.

A :class:`KnowledgeBase` is immutable once built (by :func:`needlewise.knowledge.loader.load`).
The clinical engines in ``domain/`` receive it as an argument; they never read files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from pydantic import Field

from needlewise.knowledge.codeindex import CodeIndex
from needlewise.knowledge.schema import (
    AftercareSchedule,
    AftercareSheet,
    Billing,
    Checklist,
    ConsentAddendum,
    ConsentTemplate,
    Contraindication,
    Disposition,
    EmergencyPlan,
    Escalation,
    Indication,
    LanguageData,
    Measure,
    Meta,
    Muscle,
    OtherNames,
    OverrideReason,
    Policy,
    ProfessionInfo,
    Region,
    Risk,
    Source,
    SourcedText,
    State,
    Strict,
    Symptom,
    Tier,
    UnsupportedLanguages,
)


class KnowledgeData(Strict):
    """Every data file merged into one validated document."""

    meta: Meta
    sources: list[Source] = Field(min_length=1)
    contraindications: list[Contraindication] = Field(min_length=1)
    indications: list[Indication] = Field(min_length=1)
    risks: list[Risk] = Field(min_length=1)
    symptoms: list[Symptom] = Field(min_length=1)
    escalations: list[Escalation] = Field(default_factory=list)
    dispositions: list[Disposition] = Field(min_length=3)
    regions: list[Region] = Field(min_length=1)
    muscles: list[Muscle] = Field(min_length=1)
    billing: Billing
    states: list[State] = Field(min_length=1)
    professions: list[ProfessionInfo] = Field(min_length=1)
    measures: list[Measure] = Field(min_length=1)
    policies: list[Policy] = Field(min_length=1)
    consent: ConsentTemplate
    #: clinic.yaml: take-home aftercare sheet, emergency plan, override reasons, addenda
    aftercare_sheet: AftercareSheet
    emergency_plan: EmergencyPlan
    override_reasons: list[OverrideReason] = Field(min_length=1)
    consent_addenda: list[ConsentAddendum] = Field(min_length=1)
    #: patient_info.yaml: facts every patient page shows
    other_names: OtherNames
    disclaimer: SourcedText
    before_treatment_checklist: Checklist
    #: aftercare.yaml: the check-in schedule after a session
    aftercare_schedule: AftercareSchedule
    #: lay vocabulary and reading rules, by language code (``data/language/<code>.yaml``)
    language: dict[str, LanguageData]
    other_languages: UnsupportedLanguages


@dataclass(frozen=True)
class KnowledgeStamp:
    """What every stored decision records about the knowledge it used."""

    version: str
    sha256: str
    value_sets_sha256: str
    value_sets_loaded: int

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "sha256": self.sha256,
            "value_sets": {"loaded": self.value_sets_loaded, "sha256": self.value_sets_sha256},
        }


@dataclass(frozen=True)
class KnowledgeBase:
    """Validated clinical content with indexes by id. Build it with ``loader.load``."""

    data: KnowledgeData
    sha256: str
    codes: CodeIndex
    value_set_problems: tuple[str, ...] = ()
    _by_id: Mapping[str, object] = field(default_factory=dict, repr=False)

    @property
    def version(self) -> str:
        return self.data.meta.version

    @property
    def stamp(self) -> KnowledgeStamp:
        return KnowledgeStamp(
            version=self.version,
            sha256=self.sha256,
            value_sets_sha256=self.codes.value_sets_sha256,
            value_sets_loaded=self.codes.value_sets_loaded,
        )

    @property
    def by_id(self) -> Mapping[str, object]:
        """Every item (source, rule, symptom, state, …) by its dotted id."""
        return self._by_id

    def get(self, item_id: str) -> object | None:
        return self._by_id.get(item_id)

    @property
    def contraindications(self) -> list[Contraindication]:
        return self.data.contraindications

    @cached_property
    def required_rules(self) -> tuple[Contraindication, ...]:
        """Rules whose intake question must be answered (knowledge order)."""
        return tuple(rule for rule in self.data.contraindications if rule.required)

    @cached_property
    def age_rules(self) -> tuple[Contraindication, ...]:
        """Rules that fire on the patient's age."""
        return tuple(rule for rule in self.data.contraindications if rule.triggers.age is not None)

    @cached_property
    def rule_ids(self) -> frozenset[str]:
        """Every contraindication id (the intake Questionnaire's linkIds)."""
        return frozenset(rule.id for rule in self.data.contraindications)

    @property
    def symptoms(self) -> list[Symptom]:
        return self.data.symptoms

    def symptom(self, symptom_id: str) -> Symptom | None:
        item = self._by_id.get(symptom_id)
        return item if isinstance(item, Symptom) else None

    def contraindication(self, rule_id: str) -> Contraindication | None:
        item = self._by_id.get(rule_id)
        return item if isinstance(item, Contraindication) else None

    def region(self, region_id: str) -> Region | None:
        item = self._by_id.get(region_id)
        return item if isinstance(item, Region) else None

    def muscle(self, muscle_id: str) -> Muscle | None:
        item = self._by_id.get(muscle_id)
        return item if isinstance(item, Muscle) else None

    def disposition(self, tier: Tier) -> Disposition:
        for disposition in self.data.dispositions:
            if disposition.tier is tier:
                return disposition
        raise LookupError(f"no disposition for tier {tier}")  # the loader guarantees one

    def language_data(self, language: str) -> LanguageData:
        """The reading rules of ``language`` (English when it is not supported)."""
        return self.data.language.get(language) or self.data.language["en"]

    def policy(self, policy_id: str) -> Policy:
        item = self._by_id.get(policy_id)
        if not isinstance(item, Policy):
            raise LookupError(f"policy {policy_id} is missing from the knowledge base")
        return item

    def state(self, code: str) -> State | None:
        item = self._by_id.get(f"state.{code.lower()}")
        return item if isinstance(item, State) else None

    def citation(self, source_id: str) -> str:
        item = self._by_id.get(source_id)
        return item.citation if isinstance(item, Source) else source_id

    def citations(self, source_ids: list[str] | tuple[str, ...]) -> dict[str, str]:
        """``{source id: full citation}`` for the given ids, in order."""
        return {sid: self.citation(sid) for sid in dict.fromkeys(source_ids)}

    @staticmethod
    def index(data: KnowledgeData) -> Mapping[str, object]:
        items: dict[str, object] = {}
        groups: list[list[object]] = [
            list(data.sources),
            list(data.contraindications),
            list(data.indications),
            list(data.risks),
            list(data.symptoms),
            list(data.escalations),
            list(data.dispositions),
            list(data.regions),
            list(data.muscles),
            list(data.billing.codes),
            list(data.billing.coverage),
            [data.billing.ncd],
            list(data.billing.documentation),
            list(data.states),
            list(data.professions),
            list(data.measures),
            list(data.policies),
            [data.consent],
            [data.aftercare_sheet],
            list(data.emergency_plan.events),
            list(data.override_reasons),
            list(data.consent_addenda),
            list(data.before_treatment_checklist.items),
            [data.aftercare_schedule],
            list(data.aftercare_schedule.rules),
        ]
        for reading in data.language.values():
            groups.append(list(reading.context))
            groups.append(list(reading.no_complaints))
            groups.append(list(reading.pleasantries))
            groups.append(list(reading.idioms))
            groups.append([p for patterns in reading.concepts.values() for p in patterns])
            groups.append(list(reading.time.phrases))
        for group in groups:
            for item in group:
                item_id = getattr(item, "id")  # noqa: B009 - every grouped model has an id
                if item_id in items:
                    raise ValueError(f"duplicate id {item_id}")
                items[item_id] = item
        return MappingProxyType(items)
