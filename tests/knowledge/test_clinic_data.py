"""What a clinic needs besides screening and triage (clinic.yaml, patient_info.yaml):
the take-home aftercare sheet, the in-clinic emergency plan, standard override reasons,
consent addenda, and the source page's facts every patient page shows (content review 4
and 9)."""

from __future__ import annotations

import pytest

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Tier
from needlewise.knowledge.schema.clinic import ChecklistItem, EmergencyPlanEntry
from needlewise.knowledge.schema.clinical import Indication
from needlewise.services.aftercare_sheet import AftercareSheetOut, SheetSection, aftercare_sheet

LANGUAGES = ["en", "es"]


def sheet(kb: KnowledgeBase, language: str, day: str | None = "303-555-0100") -> AftercareSheetOut:
    return aftercare_sheet(kb, language, day_phone=day, after_hours_phone="303-555-0199")


def section(out: AftercareSheetOut, key: str) -> SheetSection:
    (found,) = [s for s in out.sections if s.key == key]
    return found


def all_text(out: AftercareSheetOut) -> str:
    parts = [out.title, out.intro]
    for s in out.sections:
        parts += [s.heading, *s.paragraphs, *s.bullets, *s.notes]
    return "\n".join(parts)


# ---------------------------------------------------------------- take-home aftercare sheet


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("key", "tier"), [("call-911", Tier.emergency), ("call-today", Tier.call_provider)]
)
def test_sheet_lists_every_warning_sign_of_its_tier(
    kb: KnowledgeBase, language: str, key: str, tier: Tier
) -> None:
    expected = [s.title.get(language) for s in kb.symptoms if s.tier is tier]
    assert len(expected) >= 6
    assert section(sheet(kb, language), key).bullets == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_sheet_fills_the_clinic_numbers(kb: KnowledgeBase, language: str) -> None:
    out = sheet(kb, language)
    phones = section(out, "phones")
    assert "303-555-0100" in phones.bullets[0]
    assert "303-555-0199" in phones.bullets[1]
    assert "{" not in all_text(out)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("day", [None, "   "])
def test_sheet_never_leaves_a_number_blank(
    kb: KnowledgeBase, language: str, day: str | None
) -> None:
    out = sheet(kb, language, day=day)
    missing = kb.data.aftercare_sheet.phones.missing_number.get(language)
    assert missing in section(out, "phones").bullets[0]


@pytest.mark.parametrize(
    ("language", "lung", "infection"),
    [("en", "2 days", "weeks"), ("es", "2 días", "semanas")],
)
def test_sheet_tells_lung_and_infection_timing_separately(
    kb: KnowledgeBase, language: str, lung: str, infection: str
) -> None:
    out = sheet(kb, language)
    lung_text = " ".join(section(out, "lung-signs").paragraphs)
    infection_text = " ".join(section(out, "infection-signs").paragraphs)
    assert lung in lung_text
    assert infection not in lung_text
    assert infection in infection_text
    assert "911" in lung_text


@pytest.mark.parametrize(("language", "words"), [("en", "do not drive"), ("es", "no maneje")])
def test_sheet_says_not_to_drive_while_drowsy(kb: KnowledgeBase, language: str, words: str) -> None:
    assert words in " ".join(section(sheet(kb, language), "driving").paragraphs).lower()


def test_sheet_in_an_unsupported_language_is_english(kb: KnowledgeBase) -> None:
    assert sheet(kb, "fr").language == "en"


def test_sheet_version_names_the_knowledge(kb: KnowledgeBase) -> None:
    assert sheet(kb, "en").sheet_version.endswith(f"+knowledge-{kb.version}")


# ---------------------------------------------------------------- emergency plan

EVENTS = {
    "emergency-plan.fainting",
    "emergency-plan.suspected-pneumothorax",
    "emergency-plan.lost-or-broken-needle",
    "emergency-plan.needlestick",
}


def test_emergency_plan_covers_the_critical_events(kb: KnowledgeBase) -> None:
    plan = kb.data.emergency_plan
    assert {e.id for e in plan.events} == EVENTS
    for event in plan.events:
        for step in event.steps:
            assert step.sources, event.id
            assert step.text.en
            assert step.text.es


def test_suspected_pneumothorax_calls_911(kb: KnowledgeBase) -> None:
    event = kb.get("emergency-plan.suspected-pneumothorax")
    assert isinstance(event, EmergencyPlanEntry)
    assert any("911" in step.text.en for step in event.steps)


def test_state_records_are_listed(kb: KnowledgeBase) -> None:
    states = {note.state for note in kb.data.emergency_plan.state_notes}
    assert {"FL", "TN"} <= states


# ---------------------------------------------------------------- overrides, addenda


def test_override_reasons_name_real_rules_and_other_needs_text(kb: KnowledgeBase) -> None:
    reasons = {r.id: r for r in kb.data.override_reasons}
    for reason in reasons.values():
        for rule_id in reason.applies_to:
            assert kb.contraindication(rule_id) is not None, reason.id
    assert reasons["override-reason.other"].requires_text is True
    # a patient who does not want it is never "overridden" by a rule-specific reason
    for reason in reasons.values():
        assert "contraindication.unwilling" not in reason.applies_to


def test_consent_addenda_cover_stimulation_and_the_young_persons_agreement(
    kb: KnowledgeBase,
) -> None:
    by_when = {a.applies_when: a for a in kb.data.consent_addenda}
    assert set(by_when) == {"electrical-stimulation", "guardian-consent", "medicare-patient"}
    assert "2020" in by_when["medicare-patient"].body[0].en
    assert "Medicare" in by_when["medicare-patient"].agreement.es
    assert "contraindication.implanted-device" in by_when["electrical-stimulation"].related_rules
    for addendum in by_when.values():
        assert addendum.agreement.en
        assert addendum.agreement.es


# ---------------------------------------------------------------- the source page's facts


def test_other_names_of_the_procedure(kb: KnowledgeBase) -> None:
    names = kb.data.other_names.names
    assert {n.en for n in names} == {"Western acupuncture", "intramuscular stimulation"}
    assert {n.es for n in names} == {"acupuntura occidental", "estimulación intramuscular"}


def test_disclaimer_says_it_does_not_replace_care(kb: KnowledgeBase) -> None:
    text = kb.data.disclaimer.text
    assert "does not take the place" in text.en
    assert "no reemplaza" in text.es.lower()


@pytest.mark.parametrize(
    ("item", "en", "es"),
    [
        ("checklist.licensed-and-trained", "licensed and trained", "licencia y formación"),
        ("checklist.sterile-equipment", "sterile", "esterilizad"),
    ],
)
def test_before_treatment_checklist(kb: KnowledgeBase, item: str, en: str, es: str) -> None:
    found = kb.get(item)
    assert isinstance(found, ChecklistItem)
    assert en in found.text.en
    assert es in found.text.es
    assert "source.source-page" in found.sources


def test_fever_follows_what_the_provider_said(kb: KnowledgeBase) -> None:
    fever = kb.symptom("symptom.fever")
    assert fever is not None
    assert "or as your provider told you" in fever.title.en
    assert fever.title.es.index("°F") < fever.title.es.index("°C")  # US patients: °F first


def test_low_back_pain_is_the_long_lasting_kind(kb: KnowledgeBase) -> None:
    indication = kb.get("indication.low-back-pain")
    assert isinstance(indication, Indication)
    assert "Long-lasting" in indication.title.en
