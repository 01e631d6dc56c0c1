"""Load and validate the knowledge base shipped inside the package.

``load()`` reads every ``knowledge/data/*.yaml`` file (found through
``importlib.resources``, so it works from a wheel) and every ``knowledge/data/language/*.yaml``
file (one per supported language, plus ``unsupported.yaml``), validates the merged document
against :mod:`needlewise.knowledge.schema`, checks cross-references (sources, symptom
and region ids, one disposition per tier, contiguous billing ranges), computes the
content sha256 and indexes the codes together with the value sets found in
``valuesets_dir``.

Problems are raised as :class:`KnowledgeError` whose message names the file, the
item id and the field.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from needlewise.knowledge.base import KnowledgeBase, KnowledgeData
from needlewise.knowledge.codeindex import build_code_index
from needlewise.knowledge.schema import Source, Tier
from needlewise.knowledge.schema.clinic import SheetPart
from needlewise.knowledge.valuesets import load_value_sets

#: data file -> the top-level keys it must hold (and nothing else).
DATA_FILES: dict[str, tuple[str, ...]] = {
    "meta.yaml": ("version", "released", "languages", "canonical_base"),
    "sources.yaml": ("sources",),
    "contraindications.yaml": ("contraindications",),
    "indications.yaml": ("indications",),
    "risks.yaml": ("risks",),
    "symptoms.yaml": ("symptoms",),
    "escalations.yaml": ("escalations",),
    "dispositions.yaml": ("dispositions",),
    "regions.yaml": ("regions",),
    "muscles.yaml": ("muscles",),
    "billing.yaml": ("billing",),
    "states.yaml": ("states",),
    "professions.yaml": ("professions",),
    "measures.yaml": ("measures",),
    "policies.yaml": ("policies",),
    "consent.yaml": ("consent",),
    "clinic.yaml": ("aftercare_sheet", "emergency_plan", "override_reasons", "consent_addenda"),
    "patient_info.yaml": ("other_names", "disclaimer", "before_treatment_checklist"),
    "aftercare.yaml": ("aftercare_schedule",),
}


#: the folder of per-language reading rules, and its file of languages we cannot read
LANGUAGE_DIR = "language"
UNSUPPORTED_FILE = "unsupported.yaml"


class KnowledgeError(Exception):
    """The knowledge base is invalid; the message says where."""


# the C loader is several times faster; fall back where libyaml is absent
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _data_dir() -> Any:
    return resources.files("needlewise.knowledge").joinpath("data")


def read_raw(data_dir: Any | None = None) -> tuple[dict[str, Any], dict[str, str], str]:
    """Read every data file. Returns (merged document, key -> file name, sha256)."""
    folder = data_dir if data_dir is not None else _data_dir()
    digest = hashlib.sha256()
    merged: dict[str, Any] = {}
    owner: dict[str, str] = {}
    present = sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml"))
    language_dir = folder.joinpath(LANGUAGE_DIR)
    unexpected = sorted(set(present) - set(DATA_FILES))
    missing = sorted(set(DATA_FILES) - set(present))
    if unexpected:
        raise KnowledgeError(f"unexpected knowledge file(s): {', '.join(unexpected)}")
    if missing:
        raise KnowledgeError(f"missing knowledge file(s): {', '.join(missing)}")
    for name in present:
        document = _read_yaml(folder.joinpath(name), name, digest)
        allowed = DATA_FILES[name]
        extra = sorted(set(document) - set(allowed))
        if extra:
            raise KnowledgeError(f"{name}: unknown top-level key(s): {', '.join(extra)}")
        if name == "meta.yaml":
            merged["meta"] = document
            owner["meta"] = name
        else:
            for key in allowed:
                merged[key] = document.get(key)
                owner[key] = name
    if not language_dir.is_dir():
        raise KnowledgeError(f"missing knowledge folder {LANGUAGE_DIR}/")
    languages: dict[str, Any] = {}
    names = sorted(p.name for p in language_dir.iterdir() if p.name.endswith(".yaml"))
    if UNSUPPORTED_FILE not in names:
        raise KnowledgeError(f"missing knowledge file {LANGUAGE_DIR}/{UNSUPPORTED_FILE}")
    for name in names:
        label = f"{LANGUAGE_DIR}/{name}"
        document = _read_yaml(language_dir.joinpath(name), label, digest)
        if name == UNSUPPORTED_FILE:
            merged["other_languages"] = document
            owner["other_languages"] = label
            continue
        code = name.removesuffix(".yaml")
        if document.get("language") != code:
            raise KnowledgeError(f"{label}: must say language: {code}")
        languages[code] = document
        owner[f"language.{code}"] = label
    merged["language"] = languages
    owner["language"] = f"{LANGUAGE_DIR}/"
    return merged, owner, digest.hexdigest()


def _read_yaml(path: Any, label: str, digest: Any) -> dict[str, Any]:
    content = path.read_bytes()
    digest.update(label.encode() + b"\0" + content)
    try:
        document = yaml.load(content, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{label}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise KnowledgeError(f"{label}: must hold a mapping at the top level")
    return document


def _describe(error: ValidationError, raw: dict[str, Any], owner: dict[str, str]) -> str:
    lines = []
    for problem in error.errors()[:20]:
        loc = list(problem["loc"])
        top = str(loc[0]) if loc else "?"
        where = owner.get(top, "?")
        node: Any = raw.get(top)
        label = top
        rest = loc[1:]
        if top == "language" and rest:
            where = owner.get(f"language.{rest[0]}", where)
            node = node.get(rest[0]) if isinstance(node, dict) else None
            label = f"language.{rest[0]}"
            rest = rest[1:]
        for part in rest:
            if isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
                if isinstance(node, dict) and "id" in node:
                    label = str(node["id"])
                    continue
            elif isinstance(node, dict) and part in node:
                node = node[part]
            label += f".{part}"
        lines.append(f"{where}: {label}: {problem['msg']}")
    more = len(error.errors()) - 20
    if more > 0:
        lines.append(f"… and {more} more problem(s)")
    return "\n".join(lines)


def _cross_check(data: KnowledgeData, by_id: dict[str, object] | Any) -> list[str]:
    problems: list[str] = []
    source_ids = {s.id for s in data.sources}

    def check_sources(owner_id: str, ids: list[str]) -> None:
        for sid in ids:
            if sid not in source_ids:
                problems.append(f"{owner_id}: unknown source {sid}")

    for item in by_id.values():
        if isinstance(item, Source):
            continue
        sources = getattr(item, "sources", None)
        if sources is not None:
            check_sources(str(getattr(item, "id", "?")), sources)
    for risk in data.risks:
        check_sources(risk.id, [i.source for i in risk.incidence])
    risk_ids = {r.id for r in data.risks}
    for question in data.consent.comprehension:
        owner = f"{data.consent.id}/comprehension.{question.key}"
        check_sources(owner, question.sources)
        if question.risk is not None and question.risk not in risk_ids:
            problems.append(f"{owner}: unknown risk {question.risk}")
    for measure in data.measures:
        check_sources(measure.id, [m.source for m in measure.mcids])
    for state in data.states:
        for record in state.scope:
            check_sources(f"{state.id}/{record.profession}", record.sources)
    for rule in data.contraindications:
        for trigger in rule.triggers.observations:
            if trigger.threshold is not None:
                check_sources(rule.id, trigger.threshold.sources)
    asked_before: set[str] = set()
    for rule in data.contraindications:
        if rule.asked_if is not None and rule.asked_if.rule not in asked_before:
            problems.append(
                f"{rule.id}: asked_if names {rule.asked_if.rule}, which must be a rule listed "
                "before it (follow-up questions come after the question they follow)"
            )
        asked_before.add(rule.id)
    rule_ids = {r.id for r in data.contraindications}
    symptom_ids = {s.id for s in data.symptoms}
    region_ids = {r.id for r in data.regions}
    for escalation in data.escalations:
        when = escalation.when
        for sid in when.symptoms_any + when.symptoms_all + when.and_any:
            if sid not in symptom_ids:
                problems.append(f"{escalation.id}: unknown symptom {sid}")
        for rid in when.regions_any:
            if rid not in region_ids:
                problems.append(f"{escalation.id}: unknown region {rid}")
        for cid in when.conditions_any:
            if cid not in rule_ids:
                problems.append(f"{escalation.id}: unknown condition {cid}")
    for muscle in data.muscles:
        if muscle.region not in region_ids:
            problems.append(f"{muscle.id}: unknown region {muscle.region}")
    tiers = sorted(d.tier.value for d in data.dispositions)
    if tiers != sorted(t.value for t in Tier):
        problems.append(f"dispositions: need exactly one per tier, found {tiers}")
    expected_low = 1
    for code in sorted(data.billing.codes, key=lambda c: c.min_muscles):
        if code.min_muscles != expected_low:
            problems.append(f"{code.id}: muscle ranges must be contiguous from 1")
        expected_low = -1 if code.max_muscles is None else code.max_muscles + 1
    if expected_low != -1:
        problems.append("billing: the last code must be open-ended (no max_muscles)")
    if sorted(data.language) != sorted(data.meta.languages):
        problems.append(
            f"language/: need one file per language in meta.yaml ({', '.join(data.meta.languages)}),"
            f" found {', '.join(sorted(data.language)) or 'none'}"
        )
    for language, reading in data.language.items():
        for concept in reading.concepts:
            if concept not in symptom_ids:
                problems.append(f"language/{language}.yaml: unknown symptom {concept}")
        for symptom_id in sorted(symptom_ids - set(reading.concepts)):
            problems.append(f"language/{language}.yaml: no lay patterns for {symptom_id}")
        for concept, patterns in reading.concepts.items():
            for pattern in patterns:
                for narrowed in pattern.narrows:
                    if narrowed == concept or narrowed not in symptom_ids:
                        problems.append(
                            f"{pattern.id}: narrows {narrowed}, which is not another known symptom"
                        )
        for context_rule in reading.context:
            for example in context_rule.examples:
                if example.concept != "no-complaints" and example.concept not in symptom_ids:
                    problems.append(
                        f"{context_rule.id}: example names unknown symptom {example.concept}"
                    )
    professions = {p.code for p in data.professions}
    for state in data.states:
        for record in state.scope:
            if record.profession not in professions:
                problems.append(f"{state.id}: unknown profession {record.profession}")
    # clinic.yaml and patient_info.yaml: nested parts carry their own sources
    sheet = data.aftercare_sheet
    parts = (sheet.phones, sheet.lung_signs, sheet.infection_signs, sheet.self_care, sheet.driving)
    for part in parts:
        check_sources(f"{sheet.id}/{part.key}", part.sources)
    told = {e for part in parts if isinstance(part, SheetPart) for e in part.tells}
    emergency_escalations = {e.id for e in data.escalations if e.tier is Tier.emergency}
    for escalation_id in sorted(told - emergency_escalations):
        problems.append(f"{sheet.id}: tells {escalation_id}, which is not an emergency escalation")
    for escalation_id in sorted(emergency_escalations - told):
        problems.append(f"{sheet.id}: no part tells the patient to call 911 for {escalation_id}")
    check_sources("emergency_plan", data.emergency_plan.sources)
    for event in data.emergency_plan.events:
        for number, step in enumerate(event.steps, start=1):
            check_sources(f"{event.id}/step {number}", step.sources)
    state_ids = {s.id for s in data.states}
    for note in data.emergency_plan.state_notes:
        check_sources(f"emergency_plan/state note {note.state}", note.sources)
        if f"state.{note.state.lower()}" not in state_ids:
            problems.append(f"clinic.yaml: emergency_plan: unknown state {note.state}")
    schedule = data.aftercare_schedule
    check_sources(f"{schedule.id}/defaults", schedule.defaults.sources)
    check_sources("other_names", data.other_names.sources)
    check_sources("disclaimer", data.disclaimer.sources)
    rule_ids = {r.id for r in data.contraindications}
    for reason in data.override_reasons:
        for rule_id in reason.applies_to:
            if rule_id not in rule_ids:
                problems.append(
                    f"clinic.yaml: {reason.id}: applies_to names unknown contraindication {rule_id}"
                )
    for addendum in data.consent_addenda:
        for rule_id in addendum.related_rules:
            if rule_id not in rule_ids:
                problems.append(
                    f"clinic.yaml: {addendum.id}: related_rules names unknown contraindication"
                    f" {rule_id}"
                )
    return problems


def load(valuesets_dir: Path | None = None, data_dir: Any | None = None) -> KnowledgeBase:
    """Load, validate and index the knowledge base.

    ``valuesets_dir`` is the folder of FHIR ValueSet JSON; when it is missing the
    knowledge base still loads and screens with its own core codes, and
    ``KnowledgeBase.value_set_problems`` says what is missing.
    """
    raw, owner, sha256 = read_raw(data_dir)
    try:
        data = KnowledgeData.model_validate(raw)
    except ValidationError as exc:
        raise KnowledgeError(_describe(exc, raw, owner)) from None
    try:
        by_id = KnowledgeBase.index(data)
    except ValueError as exc:
        raise KnowledgeError(str(exc)) from None
    problems = _cross_check(data, by_id)
    if problems:
        raise KnowledgeError("\n".join(problems))
    library = load_value_sets(valuesets_dir)
    codes = build_code_index(data.contraindications, library)
    set_problems = list(library.problems)
    for status in codes.named_sets:
        if not status.found:
            set_problems.append(f"missing value set {status.title} ({status.url})")
        elif status.codes == 0:
            set_problems.append(f"empty value set {status.title} ({status.url})")
        for child in status.missing_children:
            set_problems.append(f"value set {status.title} groups {child}, which is missing")
    return KnowledgeBase(
        data=data,
        sha256=sha256,
        codes=codes,
        value_set_problems=tuple(set_problems),
        _by_id=by_id,
    )


@lru_cache(maxsize=4)
def load_cached(valuesets_dir: Path | None) -> KnowledgeBase:
    """``load`` once per value-set folder and process (the knowledge is immutable)."""
    return load(valuesets_dir)
