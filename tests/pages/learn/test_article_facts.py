"""The articles agree with the knowledge base: the warning signs of the dry-needling
article are the symptoms of ``symptoms.yaml`` word for word, every figure of its risk
section is one of ``risks.yaml``, and it covers every part of the source page."""

from __future__ import annotations

import re

import pytest

from needlewise.knowledge.articles import MAIN_TOPIC, Article, articles_for
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Tier

#: (call-911 heading, call-the-clinic heading, risk heading) per language
HEADINGS = {
    "en": ("When to call 911", "When to call the clinic", "The risks"),
    "es": ("Cuándo llamar al 911", "Cuándo llamar a la clínica", "Los riesgos"),
}
#: the source page's own lists (source-page-facts.md), by symptom id
SOURCE_PAGE_911 = [
    "symptom.breathing-trouble",
    "symptom.chest-pain",
    "symptom.cyanosis",
    "symptom.faint-dizzy",
    "symptom.speech-trouble",
    "symptom.sense-of-doom",
]
SOURCE_PAGE_CALL = [
    "symptom.site-redness",
    "symptom.site-red-streaks",
    "symptom.site-swelling",
    "symptom.site-pain-worse",
    "symptom.weakness",
    "symptom.site-pus",
    "symptom.new-or-worse",
    "symptom.fever",
]


def bullets(article: Article, heading: str) -> list[str]:
    """The list items of the ``## heading`` section, as written."""
    section = article.markdown.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [line[2:].strip() for line in section.splitlines() if line.startswith("- ")]


def section_text(article: Article, heading: str) -> str:
    return " ".join(b.text for b in article.blocks if b.section == heading)


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_911_list_is_every_emergency_symptom(kb: KnowledgeBase, language: str) -> None:
    article = articles_for(kb).get(MAIN_TOPIC, language)
    assert article is not None
    emergency = [s.title.get(language) for s in kb.data.symptoms if s.tier is Tier.emergency]
    assert bullets(article, HEADINGS[language][0]) == emergency


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_call_list_is_the_source_pages_in_the_knowledge_bases_words(
    kb: KnowledgeBase, language: str
) -> None:
    article = articles_for(kb).get(MAIN_TOPIC, language)
    assert article is not None
    titles = {s.id: s.title.get(language) for s in kb.data.symptoms}
    tiers = {s.id: s.tier for s in kb.data.symptoms}
    assert all(tiers[i] is Tier.emergency for i in SOURCE_PAGE_911)
    assert all(tiers[i] is Tier.call_provider for i in SOURCE_PAGE_CALL)
    assert bullets(article, HEADINGS[language][1]) == [titles[i] for i in SOURCE_PAGE_CALL]


def _risk_numbers(kb: KnowledgeBase, language: str) -> set[str]:
    """Every number risks.yaml states: its values (rounded too) and its descriptions."""
    found: set[str] = set()
    for risk in kb.data.risks:
        found.update(re.findall(r"\d[\d,.]*\d|\d", risk.description.get(language)))
        for figure in risk.incidence:
            found.update({f"{figure.value:g}", f"{round(figure.value)}"})
    return found


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_risk_figure_is_in_the_knowledge_base(kb: KnowledgeBase, language: str) -> None:
    article = articles_for(kb).get(MAIN_TOPIC, language)
    assert article is not None
    text = section_text(article, HEADINGS[language][2])
    numbers = set(re.findall(r"\d[\d,.]*\d|\d", text)) - {"1", "100"}  # "1 in", "out of 100"
    assert numbers, "the risk section gives no figure"
    assert numbers <= _risk_numbers(kb, language), numbers - _risk_numbers(kb, language)


def test_the_main_article_covers_every_part_of_the_source_page(kb: KnowledgeBase) -> None:
    article = articles_for(kb).get(MAIN_TOPIC, "en")
    assert article is not None
    text = " ".join(b.text for b in article.blocks).lower()
    # the procedure, its names and technique
    for words in (
        "thin, solid needles",
        "nothing is put into your body",
        "western medicine",
        "western acupuncture",
        "intramuscular stimulation",
        "trigger point",
        "tap or flick",
        "about 2 minutes",
    ):
        assert words in text, words
    # what it may help (nine conditions), who should not have it (six), the risks (seven)
    assert len(bullets(article, "What it may help")) == 9
    assert len(bullets(article, "Who should not have it")) == 6
    assert len(bullets(article, "The risks")) == 7
    # who does it (and the link to the state answer), who pays, the two escalation tiers
    assert "physical therapist" in text
    assert "acupuncturist" in text
    assert "(/learn/who-can-do-it)" in article.markdown
    assert "health plans" in text
    assert set(HEADINGS["en"]) <= set(article.sections)
