"""Index from coded EHR data to the screening rules it reveals.

Built once when the knowledge base loads, from the rules' own core codes and from the
value sets they name (loaded from the value-set folder). Screening then does one
dictionary lookup per coding, so a patient record of a few dozen resources screens in
microseconds.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from needlewise.knowledge.schema import (
    ATC,
    CODE_SYSTEMS,
    ICD10CM,
    LOINC,
    RXNORM,
    SNOMED,
    Contraindication,
    ObservationTrigger,
)
from needlewise.knowledge.valuesets import ValueSetLibrary

#: Other spellings of code-system URIs seen in EHR data (HL7 OIDs for the same systems).
SYSTEM_ALIASES: dict[str, str] = {
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "http://hl7.org/fhir/sid/icd-10-cm/": ICD10CM,
    "http://snomed.info/sct/": SNOMED,
}

_HIERARCHICAL = {ICD10CM: 3, ATC: 1}  # system -> shortest meaningful prefix
_WORDS = re.compile(r"[a-z0-9]+")
_MEMO_LIMIT = 200_000  # distinct codings remembered by the pre-checks (bounded memory)


def normalize_system(system: str) -> str:
    """Canonical URI for a code-system URI as found in data."""
    return SYSTEM_ALIASES.get(system, system)


def normalize_code(system: str, code: str) -> str:
    """Codes compare without ICD-10-CM's optional dot and without surrounding space."""
    code = code.strip()
    if system == ICD10CM:
        return code.replace(".", "").upper()
    return code


def system_name(system: str) -> str:
    """Short human name of a code system (``ICD-10-CM``), or the URI itself."""
    known = CODE_SYSTEMS.get(system)
    return known[0] if known else system


@dataclass(frozen=True, slots=True)
class CodeHit:
    """One way a code reveals a rule."""

    rule: str
    resources: frozenset[str]
    via: str
    verified: bool


@dataclass(frozen=True, slots=True)
class ObservationHit:
    """An Observation code with the trigger that interprets its value."""

    rule: str
    trigger: ObservationTrigger
    via: str


@dataclass
class NamedSetStatus:
    """How one value set named by the knowledge base was found in the folder."""

    url: str
    title: str
    rules: list[str]
    found: bool
    codes: int
    file: str | None
    version_named: str | None
    version_found: str | None
    missing_children: tuple[str, ...] = ()


_CONDITION_TYPES = frozenset({"Condition"})
_MEDICATION_TYPES = frozenset({"MedicationRequest", "MedicationStatement"})
_ALLERGY_TYPES = frozenset({"AllergyIntolerance"})
_PROCEDURE_TYPES = frozenset({"Procedure"})


@dataclass
class CodeIndex:
    """``(system, code)`` → rules, for every resource type screening reads."""

    exact: dict[tuple[str, str], list[CodeHit]] = field(default_factory=dict)
    prefixes: dict[tuple[str, str], list[CodeHit]] = field(default_factory=dict)
    observations: dict[tuple[str, str], list[ObservationHit]] = field(default_factory=dict)
    name_rules: dict[str, list[str]] = field(default_factory=dict)
    longest_name: int = 0
    named_sets: list[NamedSetStatus] = field(default_factory=list)
    maybe_codes: dict[str, frozenset[str]] = field(default_factory=dict)
    name_words: frozenset[str] = frozenset()
    fire_flags: frozenset[str] = frozenset()
    has_thresholds: bool = False
    _memo: dict[tuple[str, str], bool] = field(default_factory=dict, repr=False)
    value_sets_loaded: int = 0
    value_sets_sha256: str = ""

    def lookup(self, resource_type: str, system: str, code: str) -> list[CodeHit]:
        """Every rule a coding reveals in a resource of ``resource_type``."""
        system = SYSTEM_ALIASES.get(system, system)
        key_code = normalize_code(system, code)
        found = self.exact.get((system, key_code))
        hits = [h for h in found if resource_type in h.resources] if found else []
        shortest = _HIERARCHICAL.get(system)
        if shortest is not None:
            for end in range(len(key_code), shortest - 1, -1):
                for hit in self.prefixes.get((system, key_code[:end]), ()):
                    if resource_type in hit.resources:
                        hits.append(hit)
        return hits

    def observation(self, system: str, code: str) -> list[ObservationHit]:
        system = normalize_system(system)
        return self.observations.get((system, normalize_code(system, code)), [])

    def maybe(self, system: str, code: str) -> bool:
        """Fast pre-check: could this coding reveal a rule in some resource type?

        False means certainly not; True means :meth:`lookup` or :meth:`observation`
        may find something (they also check the resource type). Answers are memoised:
        the same codes (vital signs, common problems) recur in almost every record.
        """
        answer = self._memo.get((system, code))
        if answer is None:
            answer = self._maybe(system, code)
            if len(self._memo) < _MEMO_LIMIT:
                self._memo[(system, code)] = answer
        return answer

    def _maybe(self, system: str, code: str) -> bool:
        system = SYSTEM_ALIASES.get(system, system)
        known = self.maybe_codes.get(system)
        if known is None:
            return False
        key = normalize_code(system, code)
        if key in known:
            return True
        shortest = _HIERARCHICAL.get(system)
        if shortest is not None:
            return any(key[:end] in known for end in range(len(key) - 1, shortest - 1, -1))
        return False

    def maybe_names(self, text: str) -> bool:
        """Fast pre-check: could ``text`` name a listed medicine? (memoised)"""
        answer = self._memo.get(("", text))
        if answer is None:
            answer = not self.name_words.isdisjoint(_WORDS.findall(text.lower()))
            if len(self._memo) < _MEMO_LIMIT:
                self._memo[("", text)] = answer
        return answer

    def names_in(self, text: str) -> list[tuple[str, str]]:
        """``(rule, matched name)`` for every listed medicine name found in ``text``.

        Names match whole words, case-insensitively ("Warfarin Sodium 5 MG" names
        warfarin; "warfarinol" does not).
        """
        if not self.name_rules:
            return []
        words = _WORDS.findall(text.lower())
        found: list[tuple[str, str]] = []
        for size in range(1, self.longest_name + 1):
            for start in range(len(words) - size + 1):
                name = words[start] if size == 1 else " ".join(words[start : start + size])
                for rule in self.name_rules.get(name, ()):
                    if (rule, name) not in found:
                        found.append((rule, name))
        return found


def _add(table: dict[tuple[str, str], list[CodeHit]], key: tuple[str, str], hit: CodeHit) -> None:
    bucket = table.setdefault(key, [])
    if hit not in bucket:
        bucket.append(hit)


def build_code_index(
    contraindications: Iterable[Contraindication], library: ValueSetLibrary
) -> CodeIndex:
    """Index every rule's core codes and named value sets."""
    index = CodeIndex(
        value_sets_loaded=len(library.sets), value_sets_sha256=library.sha256 or "none"
    )
    statuses: dict[str, NamedSetStatus] = {}
    names: dict[str, list[str]] = defaultdict(list)

    def note_set(url: str, title: str, rule: str, version: str | None) -> set[tuple[str, str]]:
        loaded = library.get(url)
        status = statuses.get(url)
        if status is None:
            status = statuses[url] = NamedSetStatus(
                url=url,
                title=loaded.title if loaded is not None and title == url else title,
                rules=[],
                found=loaded is not None,
                codes=len(loaded.codes) if loaded else 0,
                file=loaded.file if loaded else None,
                version_named=version,
                version_found=loaded.version if loaded else None,
                missing_children=loaded.missing_children if loaded else (),
            )
        if rule not in status.rules:
            status.rules.append(rule)
        return set(loaded.codes) if loaded else set()

    for rule in contraindications:
        t = rule.triggers
        groups = (
            (t.conditions, _CONDITION_TYPES),
            (t.medications, _MEDICATION_TYPES),
            (t.allergies, _ALLERGY_TYPES),
            (t.procedures, _PROCEDURE_TYPES),
        )
        for refs, types in groups:
            for ref in refs:
                system = normalize_system(ref.system)
                via = f"core code {system_name(system)} {ref.code} ({ref.display})"
                hit = CodeHit(rule=rule.id, resources=types, via=via, verified=ref.verified)
                key = (system, normalize_code(system, ref.code))
                _add(index.prefixes if ref.match == "descendants" else index.exact, key, hit)
        for name in t.medication_names:
            names[name.lower()].append(rule.id)
        for vs in t.value_sets:
            codes = note_set(vs.url, vs.title, rule.id, vs.version)
            oid = f", OID {vs.oid}" if vs.oid else ""
            hit = CodeHit(
                rule=rule.id,
                resources=frozenset(vs.resources),
                via=f"value set '{vs.title}'{oid}",
                verified=True,
            )
            for system, code in codes:
                system = normalize_system(system)
                if vs.include_prefixes and not any(code.startswith(p) for p in vs.include_prefixes):
                    continue
                if code in vs.exclude_codes:
                    continue
                _add(index.exact, (system, normalize_code(system, code)), hit)
        for trigger in t.observations:
            system = normalize_system(trigger.code.system)
            via = f"core code LOINC {trigger.code.code} ({trigger.code.display})"
            obs = ObservationHit(rule=rule.id, trigger=trigger, via=via)
            index.observations.setdefault((system, trigger.code.code), []).append(obs)
            for url in trigger.code_value_sets:
                for vs_system, code in note_set(url, url, rule.id, None):
                    key = (normalize_system(vs_system), code)
                    if obs not in index.observations.setdefault(key, []):
                        index.observations[key].append(obs)

    if names:
        index.name_rules = {" ".join(_WORDS.findall(n)): rules for n, rules in names.items()}
        index.longest_name = max(len(n.split()) for n in index.name_rules)
        index.name_words = frozenset(n.split()[0] for n in index.name_rules)
    maybe: dict[str, set[str]] = defaultdict(set)
    for table in (index.exact, index.prefixes, index.observations):
        for system, code in table:
            maybe[system].add(code)
    index.maybe_codes = {system: frozenset(codes) for system, codes in maybe.items()}
    index.has_thresholds = any(
        hit.trigger.threshold is not None for hits in index.observations.values() for hit in hits
    )
    index.fire_flags = frozenset(
        flag
        for hits in index.observations.values()
        for hit in hits
        for flag in hit.trigger.fire_interpretations
    )
    index.named_sets = sorted(statuses.values(), key=lambda s: s.url)
    return index
