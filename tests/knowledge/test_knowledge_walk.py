"""Walk the whole knowledge base and check its invariants.

* every id is unique and dotted; every source id resolves to a full citation;
* every patient or clinician string exists in English and Spanish, and questions are
  really translated;
* every code is well formed; every ICD-10-CM code exists in the CMS tabular (April 2026);
  every RxNorm/SNOMED core code marked verified is listed in a published value set;
* the contraindication ids the product promises exist, with the levels chosen;
* every value set the knowledge names is in the value-set folder and not empty;
* intake questions read at or below 8th grade (architecture principle 5).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import textstat
from pydantic import BaseModel

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.loader import KnowledgeError, load
from needlewise.knowledge.schema import CODE_SYSTEMS, ICD10CM, RXNORM, SNOMED, CodeRef, Coding, Text
from support import copy_knowledge

with warnings.catch_warnings():  # the package warns on import about a deprecated API
    warnings.simplefilter("ignore", DeprecationWarning)
    import simple_icd_10_cm as icd


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from walk(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, (list, tuple)):
        for i, inner in enumerate(value):
            yield from walk(inner, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from walk(inner, f"{path}[{key}]")


def all_of(kb: KnowledgeBase, kind: type) -> list[tuple[str, Any]]:
    return [(p, v) for p, v in walk(kb.data) if isinstance(v, kind)]


PROMISED_CONTRAINDICATIONS = {
    # the source page's list (issue 2, exact ids)
    "contraindication.needle-fear": "absolute",
    "contraindication.skin-infection": "relative",
    "contraindication.immunocompromised": "relative",
    "contraindication.metal-allergy": "relative",
    "contraindication.bleeding-disorder": "relative",
    "contraindication.pregnancy": "relative",
    # guideline items of clinical-knowledge.md section 1.2
    # issue 8 split "do you understand it and want it?": a clear "no, I do not want it" is
    # absolute; "not explained yet" asks the clinician to explain again
    "contraindication.unwilling": "absolute",
    "contraindication.not-yet-understood": "relative",
    "contraindication.prior-needling-reaction": "absolute",
    "contraindication.acute-illness": "absolute",
    "contraindication.lymphedema": "absolute",
    "contraindication.anticoagulant": "precaution",  # issue 8: the notes' tier
    "contraindication.vascular-disease": "relative",
    "contraindication.diabetes": "relative",
    "contraindication.epilepsy": "relative",
    "contraindication.joint-replacement": "relative",
    "contraindication.implanted-device": "relative",
    "contraindication.malignancy": "relative",
    "contraindication.child": "relative",
    # issue 8: the rest of section 1.2 and the pregnancy design of section 1.5
    "contraindication.pregnancy-first-trimester": "absolute",
    "contraindication.fainting-history": "precaution",
    "contraindication.lymph-node-removal": "relative",
    "contraindication.heart-valve": "relative",
    "contraindication.implants-in-area": "precaution",
    "contraindication.frailty": "relative",
    "contraindication.low-body-weight": "precaution",
    "contraindication.hyperalgesia": "relative",
    "contraindication.psychological-distress": "relative",
}


@pytest.mark.parametrize("rule_id", sorted(PROMISED_CONTRAINDICATIONS))
def test_promised_contraindication_exists_with_its_level(kb: KnowledgeBase, rule_id: str) -> None:
    rule = kb.contraindication(rule_id)
    assert rule is not None, f"{rule_id} missing"
    assert rule.level.value == PROMISED_CONTRAINDICATIONS[rule_id]
    assert rule.level_rationale.en
    assert rule.level_rationale.es


def test_ids_are_dotted_and_unique(kb: KnowledgeBase) -> None:
    ids = list(kb.by_id)
    assert len(ids) == len(set(ids))
    dotted = re.compile(r"[a-z]+(-[a-z]+)*\.[a-z0-9][a-z0-9.-]*")  # kind.name (emergency-plan.x)
    assert [i for i in ids if not dotted.fullmatch(i)] == []


def test_every_source_reference_resolves_to_a_citation(kb: KnowledgeBase) -> None:
    referenced: set[str] = set()
    for path, value in walk(kb.data):
        if path.endswith(".sources") and isinstance(value, list):
            referenced.update(v for v in value if isinstance(v, str))
        elif path.endswith(".source") and isinstance(value, str):
            referenced.add(value)
    assert referenced, "no sources referenced at all"
    unknown = sorted(s for s in referenced if kb.citation(s) == s)
    assert unknown == []
    unused = sorted(s.id for s in kb.data.sources if s.id not in referenced)
    assert unused == [], "sources nobody cites"


def test_every_text_has_both_languages(kb: KnowledgeBase) -> None:
    texts = all_of(kb, Text)
    assert len(texts) > 300
    for path, text in texts:
        assert text.en.strip(), path
        assert text.es.strip(), path


def test_questions_are_really_translated(kb: KnowledgeBase) -> None:
    for rule in kb.contraindications:
        assert rule.question.en != rule.question.es, rule.id
        assert rule.question.es.startswith("¿"), rule.id
    for symptom in kb.symptoms:
        assert symptom.question.en != symptom.question.es, symptom.id


def test_codes_are_well_formed(kb: KnowledgeBase) -> None:
    codings = all_of(kb, Coding)
    assert len(codings) > 100
    for path, coding in codings:
        name, pattern = CODE_SYSTEMS[coding.system]
        assert pattern.match(coding.code), f"{path}: {coding.code} is not {name}"


def test_every_icd10cm_code_exists_in_the_cms_tabular(kb: KnowledgeBase) -> None:
    icd_codes = [(p, c) for p, c in all_of(kb, Coding) if c.system == ICD10CM]
    assert len(icd_codes) > 40
    for path, coding in icd_codes:
        assert icd.is_valid_item(coding.code), f"{path}: {coding.code} not in ICD-10-CM"
        description = icd.get_description(coding.code)
        assert coding.display.lower().rstrip(".") in description.lower() or (
            description.lower() in coding.display.lower()
        ), f"{path}: display {coding.display!r} vs tabular {description!r}"
        if isinstance(coding, CodeRef) and coding.match == "exact":
            assert icd.is_leaf(coding.code), (
                f"{path}: {coding.code} is a category, match exactly only leaves"
            )


def _folder_codes(folder: Path) -> set[tuple[str, str]]:
    codes: set[tuple[str, str]] = set()
    for path in folder.glob("*.json"):
        document = orjson.loads(path.read_bytes())
        for include in document.get("compose", {}).get("include", []):
            codes.update((include.get("system"), c["code"]) for c in include.get("concept", []))
        codes.update(
            (c.get("system"), c["code"]) for c in document.get("expansion", {}).get("contains", [])
        )
        if isinstance(document.get("codes"), list):
            codes.update((document["system"], c["code"]) for c in document["codes"])
    return codes


def test_verified_rxnorm_and_snomed_core_codes_are_in_published_value_sets(
    kb: KnowledgeBase, valuesets_dir: Path
) -> None:
    published = _folder_codes(valuesets_dir)
    checked = 0
    for rule in kb.contraindications:
        t = rule.triggers
        for ref in t.conditions + t.medications + t.allergies + t.procedures:
            if ref.system in (RXNORM, SNOMED) and ref.verified:
                assert (ref.system, ref.code) in published, f"{rule.id}: {ref.system}|{ref.code}"
                checked += 1
    assert checked >= 20


def test_every_named_value_set_is_found_and_not_empty(kb: KnowledgeBase) -> None:
    assert kb.codes.named_sets, "the knowledge names no value sets"
    for status in kb.codes.named_sets:
        assert status.found, status.url
        assert status.codes > 0, status.url
    assert kb.value_set_problems == ()


def test_without_the_folder_every_named_set_is_reported_missing(kb_core: KnowledgeBase) -> None:
    missing = [p for p in kb_core.value_set_problems if p.startswith("missing value set")]
    assert len(missing) == len(kb_core.codes.named_sets)
    assert kb_core.codes.value_sets_loaded == 0


def test_content_hash_changes_with_content(tmp_path: Path, kb: KnowledgeBase) -> None:
    copy_knowledge(tmp_path)
    assert load(None, data_dir=tmp_path).sha256 == kb.sha256
    meta = tmp_path / "meta.yaml"
    meta.write_text(meta.read_text() + "\n# edited\n")
    assert load(None, data_dir=tmp_path).sha256 != kb.sha256


def test_unknown_keys_are_rejected_with_file_and_item(tmp_path: Path) -> None:
    copy_knowledge(tmp_path)
    target = tmp_path / "contraindications.yaml"
    target.write_text(
        target.read_text().replace(
            "  - id: contraindication.pregnancy\n",
            "  - id: contraindication.pregnancy\n    colour: red\n",
            1,
        )
    )
    with pytest.raises(KnowledgeError) as caught:
        load(None, data_dir=tmp_path)
    assert "contraindications.yaml: contraindication.pregnancy.colour" in str(caught.value)


def test_unknown_source_is_rejected(tmp_path: Path) -> None:
    copy_knowledge(tmp_path)
    target = tmp_path / "regions.yaml"
    target.write_text(target.read_text().replace("[source.bn121,", "[source.nowhere,", 1))
    with pytest.raises(KnowledgeError, match=r"unknown source source\.nowhere"):
        load(None, data_dir=tmp_path)


@pytest.mark.parametrize("field", ["question", "help"])
def test_intake_wording_reads_at_or_below_8th_grade(kb: KnowledgeBase, field: str) -> None:
    for rule in kb.contraindications:
        text = getattr(rule, field)
        if text is None:
            continue
        grade = textstat.flesch_kincaid_grade(text.en)
        assert grade <= 8.0, f"{rule.id}.{field}: grade {grade}: {text.en}"


# ------------------------------------------------------------------ issue 8: figures and new items

#: what each counted unit reads as, per population (consent.yaml ``frequency.per``)
UNIT_WORDS = {
    ("en", "treatments", "dry-needling"): "dry-needling treatments",
    ("en", "treatments", "acupuncture"): "acupuncture treatments",
    ("en", "sessions", "dry-needling"): "dry-needling sessions",
    ("en", "sessions", "acupuncture"): "acupuncture sessions",
    ("en", "patients", "dry-needling"): "people who had dry needling",
    ("en", "patients", "acupuncture"): "people who had acupuncture",
    ("es", "treatments", "dry-needling"): "tratamientos de punción seca",
    ("es", "treatments", "acupuncture"): "tratamientos de acupuntura",
    ("es", "sessions", "dry-needling"): "sesiones de punción seca",
    ("es", "sessions", "acupuncture"): "sesiones de acupuntura",
    ("es", "patients", "dry-needling"): "personas que recibieron punción seca",
    ("es", "patients", "acupuncture"): "personas que recibieron acupuntura",
}


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_frequency_figure_says_what_it_counts_and_in_whom(
    kb: KnowledgeBase, language: str
) -> None:
    """Every stored figure, not only the one the consent shows, reads with its denominator
    (per treatment, session or patient) and population (dry needling or acupuncture)."""
    from needlewise.services.consent_text import frequency_words

    walked = 0
    for risk in kb.data.risks:
        for figure in risk.incidence:
            if figure.per == "respondents" or figure.value == 0:
                continue  # a survey share, or "not seen in N": worded without a rate
            alone = risk.model_copy(
                update={"incidence": [figure.model_copy(update={"consent": True})]}
            )
            words = frequency_words(kb, alone, language)
            expected = UNIT_WORDS[(language, figure.per, figure.population)]
            assert expected in words, (risk.id, figure.source, words)
            walked += 1
    assert walked >= 20


#: screening items added in issue 8 and the sources the content review tied them to
NEW_ITEMS = {
    "contraindication.pregnancy-first-trimester": {"source.apta-2013-ijspt", "source.who-1999"},
    "contraindication.unwilling": {"source.bn121"},
    "contraindication.not-yet-understood": {"source.bn121"},
    "contraindication.fainting-history": {"source.who-1999", "source.christensen-2017"},
    "contraindication.lymph-node-removal": {"source.bn121"},
    "contraindication.heart-valve": {"source.bn121"},
    "contraindication.implants-in-area": {"source.jotform-screening"},
    "contraindication.frailty": {"source.who-1999", "source.sierpina-2005"},
    "contraindication.low-body-weight": {"source.bn121", "source.irmedj-2022"},
    "contraindication.hyperalgesia": {"source.apta-2013-ijspt"},
    "contraindication.psychological-distress": {"source.kearns-2019"},
}


@pytest.mark.parametrize("rule_id", NEW_ITEMS)
def test_new_screening_item_cites_its_sources_and_asks_in_both_languages(
    kb: KnowledgeBase, rule_id: str
) -> None:
    rule = next(c for c in kb.contraindications if c.id == rule_id)
    assert NEW_ITEMS[rule_id] <= set(rule.sources)
    assert rule.question.en.endswith("?")
    assert rule.question.es.startswith("¿")
    assert rule.question.es.endswith("?")
    assert rule.question.es != rule.question.en
