"""Reading level of the education articles, with the knowledge base's own test
(``tests/knowledge/test_reading_level.py``): every paragraph and list item of at least
15 words at or below grade 8 (Flesch-Kincaid, English; both syllable counts, the higher
decides) and at or above 60 (Fernández-Huerta, Spanish); the sections about warning signs
(``warning_sections``) at or below grade 6 and at or above 70."""

from __future__ import annotations

import pytest

from needlewise.knowledge.articles import articles_for
from needlewise.knowledge.base import KnowledgeBase
from support.readability import fernandez_huerta, flesch_kincaid_grades

MIN_WORDS = 15
RED_FLAG = (6.0, 70.0)
GENERAL = (8.0, 60.0)


def test_the_warning_sections_are_scored(kb: KnowledgeBase) -> None:
    library = articles_for(kb)
    for language in ("en", "es"):
        article = library.get("dry-needling", language)
        assert article is not None
        warning = [b for b in article.blocks if article.is_warning(b)]
        assert any(len(b.text.split()) >= MIN_WORDS for b in warning), language


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_article_reads_at_its_level(kb: KnowledgeBase, language: str) -> None:
    too_hard: dict[str, str] = {}
    scored = 0
    for article in articles_for(kb).in_language(language):
        for n, block in enumerate(article.blocks):
            if len(block.text.split()) < MIN_WORDS:
                continue
            scored += 1
            grade, ease = RED_FLAG if article.is_warning(block) else GENERAL
            label = f"{article.topic}.{language}[{n}] ({block.section})"
            if language == "en":
                score = max(flesch_kincaid_grades(block.text).values())
                if score > grade:
                    too_hard[label] = f"grade {score:.1f} > {grade:g}: {block.text}"
            else:
                score = fernandez_huerta(block.text)
                if score < ease:
                    too_hard[label] = f"Fernández-Huerta {score:.1f} < {ease:g}: {block.text}"
    assert scored >= 20
    assert too_hard == {}


@pytest.mark.parametrize("language", ["en", "es"])
def test_no_jargon(kb: KnowledgeBase, language: str) -> None:
    banned = {"en": ("moves up a tier",), "es": ("proveedor",)}[language]
    for article in articles_for(kb).in_language(language):
        for phrase in banned:
            assert phrase not in article.markdown.lower(), (article.topic, phrase)
