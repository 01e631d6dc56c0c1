"""Generate the intake and aftercare FHIR R4 Questionnaires from the knowledge base.

* Intake: one required ``choice`` item per contraindication, ``linkId`` = rule id,
  answers Yes / No (HL7 v2-0136 ``Y``/``N``) and Not sure (v3-NullFlavor ``UNK``). A
  follow-up rule (``asked_if``, e.g. the trimester after "pregnant") carries
  ``enableWhen`` on the answers that open it (``enableBehavior: any``).
* Aftercare: symptom items grouped by tier, emergency signs first (clinical hierarchy:
  red flags are asked first), emergency items required; then temperature (UCUM
  ``Cel``/``[degF]``), time since treatment, treated regions and free text.

Text is in the requested language, and every item carries the other supported
language in the standard ``translation`` extension, so a renderer can switch language.
"""

from __future__ import annotations

from typing import Any

from needlewise.interop.fhir.canonical import (
    AFTERCARE_ID,
    DETAILS_ITEM,
    INTAKE_ID,
    ITEM_CONTROL,
    ITEM_CONTROL_SYSTEM,
    NULL_FLAVOR_SYSTEM,
    PAIN_ITEM,
    REGIONS_ITEM,
    TEMPERATURE_ITEM,
    TIME_ITEM,
    TIME_WINDOWS,
    TRANSLATION,
    UCUM,
    UNIT_OPTION,
    YES_NO_SYSTEM,
    code_system_url,
    questionnaire_url,
)
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Text, Tier
from needlewise.languages import LANGUAGES
from needlewise.messages import MESSAGES

JsonObject = dict[str, Any]
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"


def _text(text: Text | dict[str, str], language: str) -> tuple[str, JsonObject]:
    """(text, ``_text`` element with translations into the other languages)."""
    values: dict[str, str] = {
        lang: (text.get(lang) if isinstance(text, Text) else text[lang]) for lang in LANGUAGES
    }
    translations = [
        {
            "url": TRANSLATION,
            "extension": [
                {"url": "lang", "valueCode": lang},
                {"url": "content", "valueString": values[lang]},
            ],
        }
        for lang in LANGUAGES
        if lang != language
    ]
    return values[language], {"extension": translations}


def _msg(key: str, language: str) -> tuple[str, JsonObject]:
    return _text(MESSAGES[key], language)


_ANSWER_CODINGS: dict[str, JsonObject] = {
    "yes": {"system": YES_NO_SYSTEM, "code": "Y"},
    "no": {"system": YES_NO_SYSTEM, "code": "N"},
    "unsure": {"system": NULL_FLAVOR_SYSTEM, "code": "UNK"},
}


def _answer_options(language: str) -> list[JsonObject]:
    options = []
    for system, code, key in (
        (YES_NO_SYSTEM, "Y", "answer.yes"),
        (YES_NO_SYSTEM, "N", "answer.no"),
        (NULL_FLAVOR_SYSTEM, "UNK", "answer.unsure"),
    ):
        display, _ = _msg(key, language)
        options.append({"valueCoding": {"system": system, "code": code, "display": display}})
    return options


def _item(link_id: str, text: Text | dict[str, str], language: str, **fields: Any) -> JsonObject:
    shown, translations = _text(text, language)
    return {"linkId": link_id, "text": shown, "_text": translations, **fields}


def _help(link_id: str, text: Text, language: str) -> JsonObject:
    item = _item(f"{link_id}.help", text, language, type="display")
    item["extension"] = [
        {
            "url": ITEM_CONTROL,
            "valueCodeableConcept": {"coding": [{"system": ITEM_CONTROL_SYSTEM, "code": "help"}]},
        }
    ]
    return item


def _header(kb: KnowledgeBase, questionnaire_id: str, key: str, language: str) -> JsonObject:
    title, title_tr = _msg(f"{key}.title", language)
    description, description_tr = _msg(f"{key}.description", language)
    return {
        "resourceType": "Questionnaire",
        "id": questionnaire_id,
        "url": questionnaire_url(kb, questionnaire_id),
        "version": kb.version,
        "name": "".join(part.capitalize() for part in questionnaire_id.split("-")),
        "title": title,
        "_title": title_tr,
        "status": "active",
        "date": kb.data.meta.released.isoformat(),
        "publisher": "needlewise",
        "description": description,
        "_description": description_tr,
        "language": language,
        "subjectType": ["Patient"],
    }


def intake_questionnaire(kb: KnowledgeBase, language: str = "en") -> JsonObject:
    """The intake Questionnaire: one item per contraindication rule."""
    questionnaire = _header(kb, INTAKE_ID, "intake", language)
    items = []
    for number, rule in enumerate(kb.contraindications, start=1):
        item = _item(
            rule.id,
            rule.question,
            language,
            prefix=f"{number}.",
            type="choice",
            required=rule.required,
            answerOption=_answer_options(language),
        )
        if rule.help is not None:
            item["item"] = [_help(rule.id, rule.help, language)]
        if rule.asked_if is not None:
            item["enableWhen"] = [
                {
                    "question": rule.asked_if.rule,
                    "operator": "=",
                    "answerCoding": _ANSWER_CODINGS[answer],
                }
                for answer in rule.asked_if.answers
            ]
            item["enableBehavior"] = "any"
        items.append(item)
    questionnaire["item"] = items
    return questionnaire


def answered_intake(kb: KnowledgeBase, yes: frozenset[str] | set[str] = frozenset()) -> JsonObject:
    """A completed intake QuestionnaireResponse answering every question.

    Each rule gets its safe answer, except the rules in ``yes``, which get the answer that
    fires them (``contraindication.unwilling`` fires on "no"). A follow-up question is
    answered only when the answer it follows opens it. For the demo clinic, tests and
    benchmarks: synthetic answers only.
    """
    items = []
    given: dict[str, str] = {}
    for rule in kb.contraindications:
        fires = rule.id in yes
        given[rule.id] = "yes" if fires == (rule.fires_on == "yes") else "no"
        if rule.asked_if is not None and given.get(rule.asked_if.rule) not in rule.asked_if.answers:
            continue
        code = ("N" if fires else "Y") if rule.fires_on == "no" else ("Y" if fires else "N")
        items.append(
            {
                "linkId": rule.id,
                "answer": [{"valueCoding": {"system": YES_NO_SYSTEM, "code": code}}],
            }
        )
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": f"{questionnaire_url(kb, INTAKE_ID)}|{kb.version}",
        "item": items,
    }


def aftercare_questionnaire(kb: KnowledgeBase, language: str = "en") -> JsonObject:
    """The aftercare Questionnaire: red flags first, then the rest, then context."""
    questionnaire = _header(kb, AFTERCARE_ID, "aftercare", language)
    groups = []
    for tier in (Tier.emergency, Tier.call_provider, Tier.self_care):
        symptoms = [s for s in kb.symptoms if s.tier is tier]
        children = [
            _item(
                s.id,
                s.question,
                language,
                type="choice",
                required=tier is Tier.emergency,
                answerOption=_answer_options(language),
            )
            for s in symptoms
        ]
        groups.append(
            _item(
                f"group.{tier.value}",
                MESSAGES[f"aftercare.group.{tier.value}"],
                language,
                type="group",
                item=children,
            )
        )
    temperature = _item(
        TEMPERATURE_ITEM, MESSAGES["aftercare.temperature"], language, type="quantity"
    )
    temperature["extension"] = [
        {"url": UNIT_OPTION, "valueCoding": {"system": UCUM, "code": "Cel", "display": "°C"}},
        {"url": UNIT_OPTION, "valueCoding": {"system": UCUM, "code": "[degF]", "display": "°F"}},
    ]
    time_system = code_system_url(kb, "time-since-treatment")
    time_item = _item(
        TIME_ITEM,
        MESSAGES["aftercare.time-since-treatment"],
        language,
        type="choice",
        answerOption=[
            {
                "valueCoding": {
                    "system": time_system,
                    "code": code,
                    "display": MESSAGES[f"aftercare.time.{code}"][language],
                }
            }
            for code in TIME_WINDOWS
        ],
    )
    region_system = code_system_url(kb, "region")
    regions_item = _item(
        REGIONS_ITEM,
        MESSAGES["aftercare.treated-regions"],
        language,
        type="choice",
        repeats=True,
        answerOption=[
            {
                "valueCoding": {
                    "system": region_system,
                    "code": r.id,
                    "display": r.title.get(language),
                }
            }
            for r in kb.data.regions
        ],
    )
    details = _item(DETAILS_ITEM, MESSAGES["aftercare.details"], language, type="text")
    # optional, so responses without it stay valid (NPRS 0-10; services/outcomes.py)
    pain = _item(PAIN_ITEM, MESSAGES["aftercare.pain"], language, type="integer")
    pain["extension"] = [
        {"url": MIN_VALUE, "valueInteger": 0},
        {"url": MAX_VALUE, "valueInteger": 10},
    ]
    questionnaire["item"] = [*groups, pain, temperature, time_item, regions_item, details]
    return questionnaire


def questionnaire(kb: KnowledgeBase, which: str, language: str = "en") -> JsonObject:
    """``which`` is ``intake`` or ``aftercare``."""
    if which == "intake":
        return intake_questionnaire(kb, language)
    return aftercare_questionnaire(kb, language)
