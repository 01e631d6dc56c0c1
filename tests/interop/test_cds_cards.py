"""Cards from a screening (interop/cds_hooks/cards.py), rule by rule.

Screenings are built by hand (one finding of each level, unanswered questions) or, for
the eligible case, by the real screen on a fully answered intake. Every card is also
checked against our own Card model, the one example responses are read with."""

from __future__ import annotations

import re
import uuid
from datetime import date
from types import MappingProxyType

import pytest

from needlewise.domain.facts import IntakeAnswer, PatientFacts
from needlewise.domain.screening import Decision, Finding, ScreeningResult, screen
from needlewise.interop.cds_hooks.cards import CardContext, IssuedCard, build_cards, summary
from needlewise.interop.cds_hooks.models import SUMMARY_MAX, Card, CdsResponse, problems
from needlewise.interop.cds_hooks.orders import Planned
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Level

BASE = "https://needlewise.example"
NEEDLE_FEAR = "contraindication.needle-fear"  # absolute
EPILEPSY = "contraindication.epilepsy"  # relative
ANTICOAGULANT = "contraindication.anticoagulant"  # precaution
ACUTE_ILLNESS = "contraindication.acute-illness"  # absolute, has its own override reason
OVERRIDE = "https://needlewise.org/fhir/CodeSystem/override-reason"
DRAFT = Planned("ServiceRequest/dn-1", "ServiceRequest", in_draft=True)


def finding(kb: KnowledgeBase, rule_id: str, certainty: str = "present") -> Finding:
    rule = kb.contraindication(rule_id)
    assert rule is not None
    return Finding(
        rule=rule_id,
        level=rule.level,
        title=rule.title.en,
        evidence=[f"evidence for {rule_id}"],
        sources=list(rule.sources),
        certainty=certainty,  # type: ignore[arg-type]
    )


def result(
    kb: KnowledgeBase,
    decision: Decision,
    findings: list[Finding],
    unanswered: tuple[str, ...] = (),
) -> ScreeningResult:
    return ScreeningResult(
        decision=decision,
        findings=tuple(findings),
        unanswered=unanswered,
        policies=(),
        knowledge=kb.stamp,
        language="en",
    )


def cards_for(
    kb: KnowledgeBase,
    screening: ScreeningResult,
    planned: tuple[Planned, ...] = (DRAFT,),
    chart_url: str | None = None,
) -> list[IssuedCard]:
    context = CardContext(BASE, "order-select", planned, checked=("2 Condition",))
    return build_cards(kb, screening, context, chart_url)


# ---------------------------------------------------------------- the indicator rules

#: (findings as (rule, certainty), unanswered, decision) -> indicators in order
RULES = [
    pytest.param([(NEEDLE_FEAR, "present")], (), "not-eligible", ["critical"], id="absolute"),
    pytest.param([(NEEDLE_FEAR, "possible")], (), "review", ["warning"], id="absolute-unsure"),
    pytest.param([(EPILEPSY, "present")], (), "review", ["warning"], id="relative"),
    pytest.param([], (EPILEPSY,), "review", ["warning"], id="unanswered"),
    pytest.param([(ANTICOAGULANT, "present")], (), "review", ["warning"], id="precaution-alone"),
    pytest.param(
        [(NEEDLE_FEAR, "present"), (EPILEPSY, "present"), (ANTICOAGULANT, "present")],
        (ACUTE_ILLNESS,),
        "not-eligible",
        ["critical", "warning", "warning", "info"],
        id="all-levels",
    ),
]


@pytest.mark.parametrize(("fired", "unanswered", "decision", "indicators"), RULES)
def test_indicator_by_level(
    kb: KnowledgeBase,
    fired: list[tuple[str, str]],
    unanswered: tuple[str, ...],
    decision: Decision,
    indicators: list[str],
) -> None:
    findings = [finding(kb, rule, certainty) for rule, certainty in fired]
    issued = cards_for(kb, result(kb, decision, findings, unanswered))
    assert [c.model().indicator for c in issued] == indicators


def test_every_card_follows_the_spec(kb: KnowledgeBase) -> None:
    findings = [finding(kb, r) for r in (NEEDLE_FEAR, EPILEPSY, ANTICOAGULANT)]
    issued = cards_for(kb, result(kb, "not-eligible", findings, (ACUTE_ILLNESS,)))
    document = {"cards": [c.card for c in issued]}
    CdsResponse.model_validate(document)  # our own emitted cards pass our spec model
    uuids = set()
    for card in document["cards"]:
        assert len(card["summary"]) < 140
        uuids.add(str(uuid.UUID(card["uuid"])))
        assert card["source"]["label"] == "needlewise"
        assert card["source"]["url"] == f"{BASE}/cds-services"
        assert card["source"]["topic"]["code"] == "dry-needling"
        assert f"{BASE}/fhir/Questionnaire/needlewise-intake" in [x["url"] for x in card["links"]]
        assert "null" not in str(card)
    assert len(uuids) == len(document["cards"])  # one uuid per card, none shared


def test_absolute_card_names_rule_sources_and_suggests_removing_the_order(
    kb: KnowledgeBase,
) -> None:
    (issued,) = cards_for(kb, result(kb, "not-eligible", [finding(kb, NEEDLE_FEAR)]))
    card = issued.model()
    assert card.indicator == "critical"
    assert issued.rules == [NEEDLE_FEAR]
    assert card.summary.startswith("Do not dry needle")
    assert "Strong fear of needles" in card.summary
    detail = card.detail or ""
    assert f"`{NEEDLE_FEAR}`" in detail
    assert "evidence for contraindication.needle-fear" in detail
    rule = kb.contraindication(NEEDLE_FEAR)
    assert rule is not None
    for source_id in rule.sources:
        assert f"`{source_id}`" in detail
        item = kb.get(source_id)
        url = getattr(item, "url", None)
        if url:
            assert f"]({url})" in detail  # a Markdown link to the source
    assert card.selectionBehavior == "at-most-one"
    (suggestion,) = card.suggestions or []
    uuid.UUID(suggestion.uuid or "")
    assert suggestion.isRecommended is True
    (action,) = suggestion.actions or []
    assert action.type == "delete"
    assert action.resourceId == "ServiceRequest/dn-1"
    assert action.description


def test_no_suggestion_for_a_draft_without_id(kb: KnowledgeBase) -> None:
    nameless = Planned("ServiceRequest", "ServiceRequest", in_draft=True)
    screening = result(kb, "not-eligible", [finding(kb, NEEDLE_FEAR)])
    (issued,) = cards_for(kb, screening, (nameless,))
    assert issued.model().suggestions is None
    assert issued.model().indicator == "critical"


def test_no_suggestion_without_a_draft_order(kb: KnowledgeBase) -> None:
    appointment = Planned("Appointment/a1", "Appointment", in_draft=False)
    (issued,) = cards_for(
        kb, result(kb, "not-eligible", [finding(kb, NEEDLE_FEAR)]), (appointment,)
    )
    assert issued.model().suggestions is None
    assert issued.model().selectionBehavior is None


def test_override_reasons_have_a_display_and_fit_the_rules(kb: KnowledgeBase) -> None:
    screening = result(kb, "not-eligible", [finding(kb, ACUTE_ILLNESS), finding(kb, NEEDLE_FEAR)])
    (issued,) = cards_for(kb, screening)
    reasons = issued.model().overrideReasons or []
    codes = [r.code for r in reasons]
    assert "illness-resolved" in codes  # applies to acute illness
    assert "lymphedema-limb-avoided" not in codes  # applies to lymphedema only
    assert "other" in codes  # applies to any rule
    for reason in reasons:
        assert reason.system == OVERRIDE
        assert reason.display


def test_unanswered_card_never_reads_as_an_all_clear(kb: KnowledgeBase) -> None:
    screening = result(kb, "review", [], (EPILEPSY, ACUTE_ILLNESS))
    (issued,) = cards_for(kb, screening)
    card = issued.model()
    assert card.indicator == "warning"
    assert card.summary == "Dry-needling screening incomplete: 2 questions are unanswered"
    assert issued.rules == [EPILEPSY, ACUTE_ILLNESS]
    assert f"`{EPILEPSY}`" in (card.detail or "")
    assert "no contraindication" not in (card.summary + (card.detail or "")).lower()


def test_eligible_gives_one_info_card_naming_what_was_checked(kb: KnowledgeBase) -> None:
    """A fully answered intake with every answer "no" (the answer that fires nothing)."""
    answers = {
        rule.id: IntakeAnswer(rule.id, "yes" if rule.fires_on == "no" else "no", rule.id)
        for rule in kb.contraindications
        if rule.required
    }
    facts = PatientFacts(
        as_of=date(2026, 12, 7),
        answers=MappingProxyType(answers),
        records=(),
        birth_date=date(1980, 1, 1),
        birth_date_recorded="1980-01-01",
        patient_reference="Patient/p",
        electrical_stimulation=False,
    )
    screening = screen(facts, kb)
    assert screening.decision == "eligible", screening.to_json()
    (issued,) = cards_for(kb, screening)
    assert issued.model().indicator == "info"
    assert issued.model().summary == "No dry-needling contraindication found in the data shared"
    assert "Data checked: 2 Condition." in (issued.model().detail or "")
    assert issued.model().overrideReasons is None  # nothing to override


def test_review_without_findings_still_warns(kb: KnowledgeBase) -> None:
    """A review decision the findings do not explain still gets a warning, never silence."""
    (issued,) = cards_for(kb, result(kb, "review", []))
    assert issued.model().indicator == "warning"


def test_chart_link_when_the_clinic_knows_the_patient(kb: KnowledgeBase) -> None:
    (issued,) = cards_for(
        kb, result(kb, "review", [finding(kb, EPILEPSY)]), chart_url=f"{BASE}/app/patients/7"
    )
    assert [link.url for link in issued.model().links or []][-1] == f"{BASE}/app/patients/7"


@pytest.mark.parametrize("length", [1, SUMMARY_MAX, SUMMARY_MAX + 1, 400])
def test_summary_is_cut_under_140(length: int) -> None:
    text = "x" * length
    cut = summary(text)
    assert len(cut) <= SUMMARY_MAX
    assert cut == text if length <= SUMMARY_MAX else cut.endswith("…")


def test_summary_of_many_titles_stays_short(kb: KnowledgeBase) -> None:
    relative = [r.id for r in kb.contraindications if r.level is Level.relative]
    findings = [finding(kb, r) for r in relative]
    (issued,) = cards_for(kb, result(kb, "review", findings))
    assert len(issued.model().summary) <= SUMMARY_MAX
    assert re.search(rf"and {len(relative) - 1} more$", issued.model().summary)
    for rule in relative:
        assert f"`{rule}`" in (issued.model().detail or "")


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [
        ({"summary": "x" * 140}, "$.summary", "at most 139"),
        ({"indicator": "success"}, "$.indicator", "'info', 'warning' or 'critical'"),
        ({"suggestions": [{"label": "s"}]}, "$", "selectionBehavior is required"),
        ({"overrideReasons": [{"code": "c"}]}, "$.overrideReasons[0].display", "missing"),
        (
            {"links": [{"label": "l", "url": "u", "type": "absolute", "appContext": "{}"}]},
            "$.links[0]",
            "only allowed on a smart link",
        ),
        ({"uuid": "nope"}, "$.uuid", "must be a UUID"),
        ({"detail": None}, "$.detail", "SHALL NOT be null"),
        ({"source": {"url": "u"}}, "$.source.label", "missing"),
        (
            {"suggestions": [{"label": "s", "actions": [{"type": "delete", "description": "d"}]}]},
            "$.suggestions[0].actions[0]",
            "needs resourceId",
        ),
    ],
)
def test_card_model_refuses(change: dict[str, object], where: str, problem: str) -> None:
    card = {"summary": "s", "indicator": "info", "source": {"label": "l"}, **change}
    found = problems(Card, card)
    assert found, "the card was accepted"
    assert found[0].where == where
    assert problem in found[0].problem
