"""services/message_text.py: every kind in en and es, plain, short, no patient data."""

from __future__ import annotations

import re

import pytest

from needlewise.knowledge.base import KnowledgeBase
from needlewise.services.message_text import (
    LUNG_WARNING_SYMPTOMS,
    MessageLinks,
    lung_warning_signs,
    render,
)
from support.readability import fernandez_huerta, flesch_kincaid_grades

CHECK_IN = "https://clinic.example/p/TOKEN/check-in"
STOP = "https://clinic.example/p/TOKEN/stop"
LINKS = MessageLinks(
    check_in=CHECK_IN,
    stop=STOP,
    today="https://clinic.example/app",
)
PATIENT_PARAMS = [
    ("check-in", {"rule": "aftercare.check-in-24h", "hours_after": 24, "thoracic": False}),
    ("check-in", {"rule": "aftercare.check-in-48h", "hours_after": 48, "thoracic": True}),
    ("check-in-reminder", {"thoracic": False}),
    ("check-in-reminder", {"thoracic": True}),
]
CLINIC_PARAMS = [
    ("clinic-alert", {"disposition": "emergency", "repeat": 0}),
    ("clinic-realert", {"disposition": "call-provider", "repeat": 1}),
]


def _prose(text: str) -> str:
    """The sentences a person reads: links and list dashes out."""
    return re.sub(r"https?://\S+", "", text).replace("- ", "")


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize(("kind", "params"), PATIENT_PARAMS)
def test_patient_messages_read_at_a_6th_grade_level(
    kb_core: KnowledgeBase, language: str, kind: str, params: dict[str, object]
) -> None:
    text = render(kind, language, params, LINKS, kb_core)
    prose = _prose(text.body)
    if language == "en":
        assert max(flesch_kincaid_grades(prose).values()) <= 6, prose
    else:
        assert fernandez_huerta(prose) >= 70, prose
    assert CHECK_IN in text.body
    assert STOP in text.body
    assert "TOKEN" not in text.subject


@pytest.mark.parametrize("language", ["en", "es"])
def test_chest_wall_check_ins_name_the_lung_signs_from_the_knowledge_base_and_911_first(
    kb_core: KnowledgeBase, language: str
) -> None:
    thoracic = render("check-in", language, {"thoracic": True}, LINKS, kb_core).body
    plain = render("check-in", language, {"thoracic": False}, LINKS, kb_core).body
    titles = lung_warning_signs(kb_core, language)
    assert len(titles) == len(LUNG_WARNING_SYMPTOMS)
    for title in titles:
        assert title in thoracic
        assert title not in plain
    assert "911" in thoracic
    assert "911" not in plain
    assert thoracic.index("911") < thoracic.index(CHECK_IN)  # 911 comes first


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize(("kind", "params"), CLINIC_PARAMS)
def test_clinic_alerts_carry_the_disposition_and_the_link_only(
    kb_core: KnowledgeBase, language: str, kind: str, params: dict[str, object]
) -> None:
    text = render(kind, language, params, LINKS, kb_core)
    assert str(params["disposition"]) in text.body
    assert "https://clinic.example/app" in text.body
    assert str(params["disposition"]) not in text.subject
    if params["repeat"]:
        assert "2" in text.body  # the second alert


def test_english_and_spanish_differ_and_unknown_kinds_are_refused(kb_core: KnowledgeBase) -> None:
    english = render("check-in", "en", {}, LINKS, kb_core)
    spanish = render("check-in", "es", {}, LINKS, kb_core)
    assert english.subject != spanish.subject
    assert english.body != spanish.body
    assert render("check-in", "fr", {}, LINKS, kb_core) == english  # English otherwise
    with pytest.raises(ValueError, match="unknown message kind"):
        render("postcard", "en", {}, LINKS, kb_core)
