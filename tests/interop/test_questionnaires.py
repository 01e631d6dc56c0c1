"""The generated FHIR R4 Questionnaires (interop/fhir/questionnaire.py).

They are validated with fhir.resources (R4B models, whose Questionnaire and
QuestionnaireResponse match R4 for everything used here), checked item by item against
the knowledge base, and answered: a QuestionnaireResponse built from a generated
Questionnaire must screen / triage as the answers say.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from needlewise.interop.fhir.questionnaire import answered_intake, questionnaire
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Tier
from needlewise.messages import MESSAGES
from needlewise.services.stateless_screening import screen_document
from needlewise.services.triage import triage_document

YES_NO = "http://terminology.hl7.org/CodeSystem/v2-0136"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
UCUM = "http://unitsofmeasure.org"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
UNIT_OPTION = "http://hl7.org/fhir/StructureDefinition/questionnaire-unitOption"
LANGUAGES = ("en", "es")
OTHER = {"en": "es", "es": "en"}
UNWILLING = "contraindication.unwilling"
UNDERSTOOD = "contraindication.not-yet-understood"
#: the questions whose safe answer is "yes" (they fire on "no")
WILLING = {UNWILLING: "Y", UNDERSTOOD: "Y"}
TRIMESTER = "contraindication.pregnancy-first-trimester"


def walk(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from walk(item.get("item", []))


def translations(element: dict[str, Any]) -> dict[str, str]:
    """``{lang: content}`` from a ``_text``-style element's translation extensions."""
    found: dict[str, str] = {}
    for extension in element["extension"]:
        assert extension["url"] == TRANSLATION
        parts = {e["url"]: e for e in extension["extension"]}
        found[parts["lang"]["valueCode"]] = parts["content"]["valueString"]
    return found


def coded(code: str) -> list[dict[str, Any]]:
    system = NULL_FLAVOR if code == "UNK" else YES_NO
    return [{"valueCoding": {"system": system, "code": code}}]


def intake_response(
    q: dict[str, Any], answers: dict[str, str], default: str | None
) -> dict[str, Any]:
    """A QuestionnaireResponse to the intake ``q``: ``answers[linkId]`` or ``default``."""
    items = []
    for item in q["item"]:
        code = answers.get(item["linkId"], default)
        if code is not None:
            items.append({"linkId": item["linkId"], "answer": coded(code)})
    return {
        "resourceType": "QuestionnaireResponse",
        "id": "syn-intake-1",
        "questionnaire": f"{q['url']}|{q['version']}",
        "status": "completed",
        "item": items,
    }


def aftercare_response(
    q: dict[str, Any], answer: dict[str, list[dict[str, Any]]], *, emergency_no: bool = True
) -> dict[str, Any]:
    """Mirror ``q``'s structure; emergency items "N" (unless told not to), plus ``answer``."""

    def build(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            if item["type"] == "group":
                children = build(item["item"])
                if children:
                    out.append({"linkId": item["linkId"], "item": children})
            elif item["linkId"] in answer:
                out.append({"linkId": item["linkId"], "answer": answer[item["linkId"]]})
            elif emergency_no and item.get("required"):
                out.append({"linkId": item["linkId"], "answer": coded("N")})
        return out

    return {
        "resourceType": "QuestionnaireResponse",
        "id": "syn-aftercare-1",
        "questionnaire": q["url"],
        "status": "completed",
        "language": q["language"],
        "item": build(q["item"]),
    }


@pytest.fixture(scope="module", params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def intake(kb: KnowledgeBase, language: str) -> dict[str, Any]:
    return questionnaire(kb, "intake", language)


@pytest.fixture
def aftercare(kb: KnowledgeBase, language: str) -> dict[str, Any]:
    return questionnaire(kb, "aftercare", language)


# ---------------------------------------------------------------- both questionnaires


@pytest.mark.parametrize("which", ["intake", "aftercare"])
def test_valid_fhir(kb: KnowledgeBase, which: str, language: str) -> None:
    document = questionnaire(kb, which, language)
    parsed = Questionnaire.model_validate(document)
    assert parsed.status == "active"
    assert parsed.language == language
    assert parsed.url == f"{kb.data.meta.canonical_base}/Questionnaire/needlewise-{which}"
    assert parsed.version == kb.version
    assert len(parsed.item or []) == len(document["item"])


@pytest.mark.parametrize("which", ["intake", "aftercare"])
def test_link_ids_unique(kb: KnowledgeBase, which: str, language: str) -> None:
    link_ids = [item["linkId"] for item in walk(questionnaire(kb, which, language)["item"])]
    assert len(link_ids) == len(set(link_ids))


@pytest.mark.parametrize("which", ["intake", "aftercare"])
def test_every_text_carries_the_other_language(
    kb: KnowledgeBase, which: str, language: str
) -> None:
    document = questionnaire(kb, which, language)
    assert translations(document["_title"]) == {
        OTHER[language]: MESSAGES[f"{which}.title"][OTHER[language]]
    }
    assert document["title"] == MESSAGES[f"{which}.title"][language]
    for item in walk(document["item"]):
        assert item["text"], item["linkId"]
        other = translations(item["_text"])
        assert set(other) == {OTHER[language]}, item["linkId"]
        assert other[OTHER[language]], item["linkId"]


# ---------------------------------------------------------------- intake


def test_intake_header(kb: KnowledgeBase, intake: dict[str, Any]) -> None:
    assert intake["url"] == kb.data.meta.canonical_base + "/Questionnaire/needlewise-intake"
    assert intake["version"] == kb.version
    assert intake["id"] == "needlewise-intake"
    assert intake["subjectType"] == ["Patient"]


def test_intake_one_item_per_contraindication(
    kb: KnowledgeBase, intake: dict[str, Any], language: str
) -> None:
    items = intake["item"]
    assert [i["linkId"] for i in items] == [rule.id for rule in kb.contraindications]
    assert len(items) >= 18
    yes_no_unsure = [
        (YES_NO, "Y", MESSAGES["answer.yes"][language]),
        (YES_NO, "N", MESSAGES["answer.no"][language]),
        (NULL_FLAVOR, "UNK", MESSAGES["answer.unsure"][language]),
    ]
    for item, rule in zip(items, kb.contraindications, strict=True):
        assert item["type"] == "choice"
        assert item["required"] is True
        assert item["text"] == rule.question.get(language)
        assert translations(item["_text"]) == {OTHER[language]: rule.question.get(OTHER[language])}
        options = [
            (o["valueCoding"]["system"], o["valueCoding"]["code"], o["valueCoding"]["display"])
            for o in item["answerOption"]
        ]
        assert options == yes_no_unsure
    trimester = next(i for i in items if i["linkId"] == TRIMESTER)
    assert trimester["enableBehavior"] == "any"
    assert [
        (w["question"], w["operator"], w["answerCoding"]["code"]) for w in trimester["enableWhen"]
    ] == [
        ("contraindication.pregnancy", "=", "Y"),
        ("contraindication.pregnancy", "=", "UNK"),
    ]
    assert all("enableWhen" not in i for i in items if i["linkId"] != TRIMESTER)


def test_intake_spanish_differs_from_english(kb: KnowledgeBase) -> None:
    en = questionnaire(kb, "intake", "en")
    es = questionnaire(kb, "intake", "es")
    assert [i["linkId"] for i in en["item"]] == [i["linkId"] for i in es["item"]]
    differing = [
        a["linkId"] for a, b in zip(en["item"], es["item"], strict=True) if a["text"] != b["text"]
    ]
    assert differing == [i["linkId"] for i in en["item"]]


def test_intake_help_items(kb: KnowledgeBase, intake: dict[str, Any], language: str) -> None:
    for item, rule in zip(intake["item"], kb.contraindications, strict=True):
        children = item.get("item", [])
        if rule.help is None:
            assert children == []
            continue
        assert len(children) == 1
        (help_item,) = children
        assert help_item["type"] == "display"
        assert help_item["linkId"] == f"{rule.id}.help"
        assert help_item["text"] == rule.help.get(language)


# ---------------------------------------------------------------- aftercare


def test_aftercare_groups_red_flags_first(kb: KnowledgeBase, aftercare: dict[str, Any]) -> None:
    groups = [i for i in aftercare["item"] if i["type"] == "group"]
    assert [g["linkId"] for g in groups] == [
        "group.emergency",
        "group.call-provider",
        "group.self-care",
    ]
    assert aftercare["item"][: len(groups)] == groups  # the groups come before anything else
    for group in groups:
        tier = Tier(group["linkId"].removeprefix("group."))
        expected = [s.id for s in kb.symptoms if s.tier is tier]
        assert [child["linkId"] for child in group["item"]] == expected
        assert expected, tier


def test_aftercare_every_symptom_once(kb: KnowledgeBase, aftercare: dict[str, Any]) -> None:
    link_ids = [item["linkId"] for item in walk(aftercare["item"])]
    for symptom in kb.symptoms:
        assert link_ids.count(symptom.id) == 1, symptom.id


def test_aftercare_symptom_items(
    kb: KnowledgeBase, aftercare: dict[str, Any], language: str
) -> None:
    by_id = {item["linkId"]: item for item in walk(aftercare["item"])}
    for symptom in kb.symptoms:
        item = by_id[symptom.id]
        assert item["type"] == "choice"
        assert item["text"] == symptom.question.get(language)
        codes = [o["valueCoding"]["code"] for o in item["answerOption"]]
        assert codes == ["Y", "N", "UNK"]
        if symptom.tier is Tier.emergency:
            assert item["required"] is True, symptom.id


def test_aftercare_context_items(
    kb: KnowledgeBase, aftercare: dict[str, Any], language: str
) -> None:
    rest = [i for i in aftercare["item"] if i["type"] != "group"]
    assert [i["linkId"] for i in rest] == [
        "pain",
        "temperature",
        "time-since-treatment",
        "treated-regions",
        "details",
    ]
    pain, temperature, time_item, regions, details = rest

    # optional NPRS 0-10 (stored as an outcome score: services/outcomes.py)
    assert pain["type"] == "integer"
    assert "required" not in pain
    assert [e["valueInteger"] for e in pain["extension"]] == [0, 10]

    assert temperature["type"] == "quantity"
    units = [
        (e["valueCoding"]["system"], e["valueCoding"]["code"])
        for e in temperature["extension"]
        if e["url"] == UNIT_OPTION
    ]
    assert units == [(UCUM, "Cel"), (UCUM, "[degF]")]

    assert time_item["type"] == "choice"
    assert [o["valueCoding"]["code"] for o in time_item["answerOption"]] == [
        "under-24-hours",
        "24-to-72-hours",
        "over-72-hours",
    ]

    assert regions["type"] == "choice"
    assert regions["repeats"] is True
    options = regions["answerOption"]
    assert [o["valueCoding"]["code"] for o in options] == [r.id for r in kb.data.regions]
    assert [o["valueCoding"]["display"] for o in options] == [
        r.title.get(language) for r in kb.data.regions
    ]

    assert details["type"] == "text"
    assert details["text"] == MESSAGES["aftercare.details"][language]


# ---------------------------------------------------------------- round trips: intake


def test_intake_round_trip_eligible(kb: KnowledgeBase, intake: dict[str, Any]) -> None:
    response = intake_response(intake, WILLING, default="N")
    QuestionnaireResponse.model_validate(response)
    result = screen_document(response, kb, electrical_stimulation=True).to_json()
    assert result["decision"] == "eligible", result
    assert result["findings"] == []
    assert result["unanswered"] == []


def test_intake_round_trip_consent_no_is_not_eligible(
    kb: KnowledgeBase, intake: dict[str, Any]
) -> None:
    response = intake_response(intake, {}, default="N")  # "no" to wanting it too
    QuestionnaireResponse.model_validate(response)
    result = screen_document(response, kb, electrical_stimulation=True).to_json()
    assert result["decision"] == "not-eligible"
    assert [f["rule"] for f in result["findings"]] == [UNWILLING, UNDERSTOOD]


def test_intake_round_trip_not_understood_yet_is_review_not_refusal(
    kb: KnowledgeBase, intake: dict[str, Any]
) -> None:
    """contraindication.not-yet-understood: "not explained yet" asks the clinician to explain."""
    response = intake_response(intake, {UNWILLING: "Y", UNDERSTOOD: "N"}, default="N")
    result = screen_document(response, kb, electrical_stimulation=True).to_json()
    assert result["decision"] == "review"
    assert [(f["rule"], f["level"]) for f in result["findings"]] == [(UNDERSTOOD, "relative")]


def test_intake_round_trip_each_yes(kb: KnowledgeBase, intake: dict[str, Any]) -> None:
    """Each rule, answered the way that fires it (everything else "no"), fires alone."""
    for rule in kb.contraindications:
        answer = "N" if rule.fires_on == "no" else "Y"
        response = intake_response(intake, WILLING | {rule.id: answer}, default="N")
        result = screen_document(response, kb, electrical_stimulation=True).to_json()
        assert [f["rule"] for f in result["findings"]] == [rule.id]
        assert result["findings"][0]["certainty"] == "present"
        expected = "not-eligible" if rule.level.value == "absolute" else "review"
        assert result["decision"] == expected, rule.id


def test_intake_round_trip_not_sure_needs_review(kb: KnowledgeBase, intake: dict[str, Any]) -> None:
    response = intake_response(
        intake, WILLING | {"contraindication.pregnancy": "UNK", TRIMESTER: "N"}, "N"
    )
    QuestionnaireResponse.model_validate(response)
    result = screen_document(response, kb, electrical_stimulation=True).to_json()
    assert result["decision"] == "review"
    (finding,) = result["findings"]
    assert finding["rule"] == "contraindication.pregnancy"
    assert finding["certainty"] == "possible"


def test_intake_round_trip_unanswered_needs_review(
    kb: KnowledgeBase, intake: dict[str, Any]
) -> None:
    skipped = kb.contraindications[1].id
    answers = WILLING
    response = intake_response(intake, answers, default="N")
    response["item"] = [i for i in response["item"] if i["linkId"] != skipped]
    result = screen_document(response, kb, electrical_stimulation=True).to_json()
    assert result["decision"] == "review"
    assert result["unanswered"] == [skipped]


# ---------------------------------------------------------------- round trips: aftercare


def test_aftercare_round_trip_self_care(
    kb: KnowledgeBase, aftercare: dict[str, Any], language: str
) -> None:
    response = aftercare_response(aftercare, {})
    QuestionnaireResponse.model_validate(response)
    emergency = {s.id for s in kb.symptoms if s.tier is Tier.emergency}
    answered = {i["linkId"] for i in walk(response["item"]) if "answer" in i}
    assert answered == emergency
    result = triage_document(response, kb).to_json()
    assert result["disposition"] == "self-care", result["reasons"]
    assert result["reasons"] == []
    assert result["language"] == language


def test_aftercare_round_trip_red_flag_yes(kb: KnowledgeBase, aftercare: dict[str, Any]) -> None:
    response = aftercare_response(aftercare, {"symptom.chest-pain": coded("Y")})
    QuestionnaireResponse.model_validate(response)
    result = triage_document(response, kb).to_json()
    assert result["disposition"] == "emergency"
    assert result["reasons"][0]["rule"] == "symptom.chest-pain"


def test_aftercare_round_trip_red_flags_left_blank(
    kb: KnowledgeBase, aftercare: dict[str, Any]
) -> None:
    response = aftercare_response(aftercare, {}, emergency_no=False)
    result = triage_document(response, kb).to_json()
    assert result["disposition"] == "call-provider"
    assert [r["rule"] for r in result["reasons"]] == ["policy.unanswered-red-flags"]


def test_aftercare_round_trip_context_answers(kb: KnowledgeBase, aftercare: dict[str, Any]) -> None:
    """Temperature, time, regions and details answered with the generated options."""
    by_id = {item["linkId"]: item for item in walk(aftercare["item"])}
    today = next(
        o
        for o in by_id["time-since-treatment"]["answerOption"]
        if o["valueCoding"]["code"] == "under-24-hours"
    )
    region = by_id["treated-regions"]["answerOption"][0]
    response = aftercare_response(
        aftercare,
        {
            "temperature": [
                {"valueQuantity": {"value": 38.5, "unit": "°C", "system": UCUM, "code": "Cel"}}
            ],
            "time-since-treatment": [today],
            "treated-regions": [region],
            "details": [{"valueString": "Nothing else."}],
        },
    )
    QuestionnaireResponse.model_validate(response)
    result = triage_document(response, kb).to_json()
    assert result["disposition"] == "call-provider"
    assert "symptom.fever" in [r["rule"] for r in result["reasons"]]


@pytest.mark.parametrize(
    ("yes", "decision"),
    [
        (frozenset(), "eligible"),
        (frozenset({UNWILLING}), "not-eligible"),
        (frozenset({UNDERSTOOD}), "review"),
        (frozenset({"contraindication.pregnancy", TRIMESTER}), "not-eligible"),
        (frozenset({"contraindication.diabetes", "contraindication.epilepsy"}), "review"),
    ],
    ids=["none", "unwilling", "not understood yet", "first trimester", "two relative"],
)
def test_answered_intake_fires_exactly_the_rules_asked(
    kb: KnowledgeBase, yes: frozenset[str], decision: str
) -> None:
    """answered_intake (demo, benchmarks) answers every question; only ``yes`` rules fire."""
    document = answered_intake(kb, yes)
    asked = [
        r.id
        for r in kb.contraindications
        if r.asked_if is None or r.asked_if.rule in yes  # a follow-up opens on "yes" only
    ]
    assert [item["linkId"] for item in document["item"]] == asked
    result = screen_document(document, kb, electrical_stimulation=False)
    assert {f.rule for f in result.findings} == set(yes)
    assert result.unanswered == ()
    assert result.decision == decision
