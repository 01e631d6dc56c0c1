"""Public FHIR R4 examples (conformance folder) through contraindication screening.

Expected findings are hard-coded from reading the example files (and the value-set folder
for value-set membership); they are never computed from the data by the test, which would
mirror the code under test. Screening date: 2026-11-26.
"""

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from needlewise.domain.screening import ScreeningResult
from needlewise.errors import InputError
from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.stateless_screening import screen_document

pytestmark = pytest.mark.conformance

AS_OF = date(2026, 11, 26)
EPILEPSY = "contraindication.epilepsy"
CHILD = "contraindication.child"
PREGNANCY = "contraindication.pregnancy"
P = pytest.param
JSON = dict[str, Any]


def load(folder: Path, *parts: str) -> JSON:
    document: JSON = json.loads(folder.joinpath(*parts).read_text(encoding="utf-8"))
    return document


def wrap(resource: JSON) -> JSON:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": resource}]}


def screen(kb: KnowledgeBase, document: JSON) -> ScreeningResult:
    return screen_document(document, kb, as_of=AS_OF)


def evidence(result: ScreeningResult, rule: str) -> str:
    return " ".join(e for f in result.findings if f.rule == rule for e in f.evidence)


# ---------------------------------------------------------------- (a) Synthea patient bundles

#: file -> {rule: resource references that must appear in its evidence}. Read from the files:
#: Aleta: active Condition 128613002 "Seizure disorder" (in VSAC Seizure Disorder 105.12.1206).
#: Emory: active 128613002 and 84757009 "Epilepsy" (same set). Fannie b. 2020-04-28 and
#: Maryanne b. 2016-08-18 are children. The pregnancies of Alyce and Diamond are resolved; no
#: platelet count carries a laboratory flag; no active medicine is an anticoagulant or
#: immunosuppressant; Felipe's stroke (230690007) and the others' conditions are in no set.
SYNTHEA: dict[str, dict[str, list[str]]] = {
    "Aleta_Wintheiser_58c297c4-d684-4677-8024-01131d93835e.json": {
        EPILEPSY: ["Condition/0b32d7c5-581e-45f3-bf8b-22fbbefd7618"],
    },
    "Alyce_Walsh_c6c60742-8694-46e4-bb42-b00bf6d8b536.json": {},
    "Carmelo_Streich_4026988c-ab06-4635-8c53-86cbad7b1c56.json": {},
    "Darron_Keebler_0dc5a831-6ccd-4510-80bf-19bb3ce69724.json": {},
    "Derek_Brekke_4bc3ef6a-65c5-470d-8911-f26194b2a0e3.json": {},  # born 2004-08-20: 22
    "Diamond_Torphy_a67fbff8-6216-4925-a233-453a1968dd3a.json": {},
    "Emory_Kreiger_d33efe23-cef9-40e5-a7c0-6d68c1349e51.json": {
        EPILEPSY: [
            "Condition/56afa4de-fd64-4800-ba9b-6cd0d02c3bd6",
            "Condition/6890f41c-8bb2-4bc0-9978-fefb9a483fad",
        ],
    },
    "Fannie_Waelchi_8666cd40-7af9-48c6-a1a6-86a161195542.json": {
        CHILD: ["Patient/8666cd40-7af9-48c6-a1a6-86a161195542 birthDate 2020-04-28"],
    },
    "Felipe_Herman_0fe762e3-9350-4387-98d4-a7e8a739d4e1.json": {},
    "Maryanne_Zieme_25b0b189-bc53-4025-af86-9038ee1b8d20.json": {
        CHILD: ["Patient/25b0b189-bc53-4025-af86-9038ee1b8d20 birthDate 2016-08-18"],
    },
    "Trey_Gibson_8d3e1155-278a-4824-a7e0-fddb24c7c179.json": {},
}


def test_synthea_table_covers_the_folder(conformance_dir: Path) -> None:
    found = {p.name for p in (conformance_dir / "fhir-r4" / "synthea").glob("*.json")}
    assert found == set(SYNTHEA)


@pytest.mark.parametrize(
    "name", list(SYNTHEA), ids=[n.split("_")[0] + "_" + n.split("_")[1] for n in SYNTHEA]
)
def test_synthea_bundle_screens(kb: KnowledgeBase, conformance_dir: Path, name: str) -> None:
    result = screen(kb, load(conformance_dir, "fhir-r4", "synthea", name))
    expected = SYNTHEA[name]
    assert {f.rule for f in result.findings} == set(expected)
    for rule, references in expected.items():
        for reference in references:
            assert reference in evidence(result, rule)
    assert result.decision == "review"  # no intake answers
    assert CHILD not in result.unanswered  # every Synthea Patient has a birthDate
    assert "contraindication.needle-fear" in result.unanswered


# ---------------------------------------------------------------- (b) official Bundle examples

#: file -> None when it screens with no finding, else (where, words) of the InputError.
BUNDLES: dict[str, tuple[str, str] | None] = {
    "Bundle-bundle-example.json": None,  # searchset; Medication/example has no code
    "Bundle-bundle-request-medsallergies.json": None,  # batch of GET requests, no resources
    "Bundle-bundle-response-medsallergies.json": ("$.type", "batch-response"),
    "Bundle-bundle-response.json": ("$.type", "transaction-response"),
    "Bundle-bundle-search-warning.json": None,  # searchset with only an OperationOutcome
    "Bundle-bundle-transaction.json": ("$.entry[1].resource", "more than one Patient"),
    "Bundle-father.json": None,  # document; Patient d1 born 1955; theophylline, Ventolin
    "Bundle-lipids.json": None,  # collection of lipid Observations for Patient/pat2
}


def test_bundle_table_covers_the_folder(conformance_dir: Path) -> None:
    found = {p.name for p in (conformance_dir / "fhir-r4" / "examples").glob("Bundle-*.json")}
    assert found == set(BUNDLES)


@pytest.mark.parametrize("name", list(BUNDLES))
def test_official_bundle(kb: KnowledgeBase, conformance_dir: Path, name: str) -> None:
    document = load(conformance_dir, "fhir-r4", "examples", name)
    refusal = BUNDLES[name]
    if refusal is not None:
        with pytest.raises(InputError) as caught:
            screen(kb, document)
        assert caught.value.where == refusal[0]
        assert refusal[1] in caught.value.problem
        return
    result = screen(kb, document)
    assert list(result.findings) == []
    assert result.decision == "review"


def test_father_document_patient_age_is_known(kb: KnowledgeBase, conformance_dir: Path) -> None:
    result = screen(kb, load(conformance_dir, "fhir-r4", "examples", "Bundle-father.json"))
    assert CHILD not in result.unanswered


# ---------------------------------------------------------------- (c) US Core examples


def test_us_core_pregnancy_status(kb: KnowledgeBase, conformance_dir: Path) -> None:
    resource = load(conformance_dir, "fhir-r4", "us-core", "observation-pregnancy-status.json")
    result = screen(kb, wrap(resource))
    assert [(f.rule, f.certainty) for f in result.findings] == [(PREGNANCY, "present")]
    assert "Observation/pregnancy-status" in evidence(result, PREGNANCY)
    assert "77386006" in evidence(result, PREGNANCY)


@pytest.mark.parametrize(
    "name",
    [
        "condition-encounter-diagnosis-example1.json",  # T20.21 burn of ear: no rule
        "condition-encounter-diagnosis-example2.json",  # Z38.00 liveborn infant: no rule
        "observation-pregnancy-intent.json",  # 86645-9 is intent, not status
        "temperature.json",
    ],
)
def test_us_core_examples_screen_without_findings(
    kb: KnowledgeBase, conformance_dir: Path, name: str
) -> None:
    result = screen(kb, wrap(load(conformance_dir, "fhir-r4", "us-core", name)))
    assert list(result.findings) == []
    assert result.decision == "review"


# ---------------------------------------------------------------- (d) official single resources

#: Every official example of a screened type, wrapped alone in a collection Bundle. None fires
#: a rule: their codes (SNOMED 39065001 burn, 422504002 stroke, 386661006 fever (resolved);
#: RxNorm 7980 penicillin and SNOMED 227493005 cashew as allergies; azithromycin, Vicodin and
#: Lantus (completed), Tylenol PM, amoxicillin; vital-sign LOINC codes) are in no rule or set.
#: Observation-blood-pressure carries an 'L' flag, but on 85354-9, which is no trigger.
SINGLE_RESOURCES = [
    "AllergyIntolerance-example.json",
    "AllergyIntolerance-medication.json",
    "AllergyIntolerance-nkda.json",
    "Condition-example.json",
    "Condition-example2.json",
    "Condition-f201.json",
    "Condition-stroke.json",
    "MedicationRequest-medrx0302.json",
    "MedicationRequest-medrx0308.json",
    "MedicationRequest-medrx0320.json",
    "MedicationStatement-example001.json",
    "MedicationStatement-example004.json",
    "Observation-blood-pressure.json",
    "Observation-bmi.json",
    "Observation-body-height.json",
    "Observation-body-temperature.json",
    "Observation-example.json",
    "Observation-f202.json",
    "Observation-heart-rate.json",
    "Observation-respiratory-rate.json",
    "Observation-satO2.json",
    "Observation-vitals-panel.json",
]
SINGLE_PREFIXES = (
    "Condition-",
    "MedicationRequest-",
    "MedicationStatement-",
    "AllergyIntolerance-",
    "Observation-",
)


def test_single_resource_table_covers_the_folder(conformance_dir: Path) -> None:
    folder = conformance_dir / "fhir-r4" / "examples"
    found = {p.name for p in folder.glob("*.json") if p.name.startswith(SINGLE_PREFIXES)}
    assert found == set(SINGLE_RESOURCES)


@pytest.mark.parametrize("name", SINGLE_RESOURCES)
def test_official_resource_screens_alone(
    kb: KnowledgeBase, conformance_dir: Path, name: str
) -> None:
    resource = load(conformance_dir, "fhir-r4", "examples", name)
    result = screen(kb, wrap(resource))
    assert list(result.findings) == []
    assert result.decision == "review"
    # every question is unanswered except follow-ups whose question is unanswered too
    always_asked = [r.id for r in kb.contraindications if r.asked_if is None]
    assert list(result.unanswered) == always_asked


def test_official_medication_request_with_warfarin_code_fires(
    kb: KnowledgeBase, conformance_dir: Path
) -> None:
    """medrx0308 with its Vicodin coding replaced by warfarin 5 mg tablet (RxNorm 855332)."""
    resource = load(conformance_dir, "fhir-r4", "examples", "MedicationRequest-medrx0308.json")
    resource["status"] = "active"
    resource["medicationCodeableConcept"]["coding"][0].update(
        code="855332", display="Coumadin 5 MG"
    )
    result = screen(kb, wrap(resource))
    assert "MedicationRequest/medrx0308" in evidence(result, "contraindication.anticoagulant")


def test_official_contained_medication_with_warfarin_code_fires(
    kb: KnowledgeBase, conformance_dir: Path
) -> None:
    """medrx0302 refers to its contained Medication (#med0320); give that Medication warfarin."""
    resource = load(conformance_dir, "fhir-r4", "examples", "MedicationRequest-medrx0302.json")
    resource["contained"][0]["code"] = {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "11289"}]
    }
    result = screen(kb, wrap(resource))
    assert "MedicationRequest/medrx0302" in evidence(result, "contraindication.anticoagulant")
