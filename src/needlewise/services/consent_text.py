"""The consent text: the template of ``knowledge/data/consent.yaml`` rendered with every
risk of the knowledge base (the patient's copy of a signed consent is
:mod:`needlewise.services.consent_copy`).

Pure functions of the knowledge base (no database): the consent service stores what
:func:`render` returns, and the same function serves ``GET /api/consents/text``, so the
text a patient reads is byte for byte the text stored when they sign.

Frequencies in plain words come from each risk's incidence figures: the figure marked
``consent: true`` (the one closest to the risk as a patient feels it), else the first
non-zero figure counted per treatment or per session (a rate per needling visit), else the
first non-zero figure per patient, else a survey share, else a zero figure; a risk with no
published figure says so. A non-zero figure wins over a zero one, so a risk that has
happened never reads as "not seen". The number is "about 1 in N" (N from the stored
numerator and denominator when there are both, else from the percent; rounded to two
significant digits from 100 on), "about k in 10" above one half, "in n of n" for all,
"fewer than 1 in N" for an upper bound, or "not seen in N …" for zero. Each says what was
counted in whom ("acupuncture sessions", "people who had dry needling") and ends with the
published percent and the study (first author and year); the figure's ``counts`` ("counting
only panic bad enough to be reported") comes before it and its ``caveat`` after it.

The after-treatment section lists the title of every emergency and call-provider symptom
that cites the source page (``emergency_signs`` / ``call_signs`` of the section).
"""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, Field

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import ConsentSection, Incidence, Risk, Source, Text, Tier

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_PER_VISIT = ("treatments", "sessions")
_CATEGORIES = ("common", "uncommon", "rare", "serious")


class RiskStatement(BaseModel):
    """One risk as the consent text lists it."""

    id: str = Field(examples=["risk.bruising"])
    category: str = Field(description="common, uncommon, rare or serious")
    title: str
    description: str
    frequency: str = Field(description="How often, in plain words, with the figure and study")
    source: str | None = Field(description="Source id of the figure used (None: no figure)")


class ConsentText(BaseModel):
    """The current consent text in one language: what a patient reads and signs."""

    language: str
    text_version: str = Field(
        description="Template version plus knowledge version; stored with each signature",
        examples=["consent-1+knowledge-2026.11.1"],
    )
    template_version: str
    knowledge_version: str
    sha256: str = Field(description="sha256 of `text` (UTF-8); send it back when signing")
    title: str
    text: str = Field(description="The full text, exactly as stored when signed")
    risks: list[RiskStatement]


def text_version(kb: KnowledgeBase) -> str:
    """``consent-<template version>+knowledge-<knowledge version>``."""
    return f"consent-{kb.data.consent.version}+knowledge-{kb.version}"


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chosen_figure(risk: Risk) -> Incidence | None:
    """The incidence figure the consent text quotes for ``risk`` (see module docstring)."""

    def rank(indexed: tuple[int, Incidence]) -> tuple[bool, bool, bool, bool, int]:
        index, figure = indexed
        return (
            not figure.consent,
            figure.value == 0,
            figure.per == "respondents",
            figure.per not in _PER_VISIT,
            index,
        )

    ranked = sorted(enumerate(risk.incidence), key=rank)
    return ranked[0][1] if ranked else None


def source_label(kb: KnowledgeBase, source_id: str) -> str:
    """First author and year (``Brady 2014``), read from the citation and the id."""
    item = kb.get(source_id)
    author = item.citation.split(" ", 1)[0].rstrip(",.") if isinstance(item, Source) else ""
    year = source_id.rsplit("-", 1)[-1]
    parts = [p for p in (author, year if year.isdigit() else "") if p]
    return " ".join(parts) or source_id


def _number(value: float) -> str:
    """A published figure as written (``7.55``, ``0.00087``, ``100``)."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _one_in(figure: Incidence) -> int:
    """N of "1 in N" (from the counts when stored, so it agrees with them): exact below
    100, two significant digits from 100 on."""
    if figure.numerator and figure.denominator and not figure.upper_bound:
        n = figure.denominator / figure.numerator
    else:
        n = 100 / figure.value
    if n < 100:
        return max(1, round(n))
    return int(round(n, -(len(str(int(n))) - 2)))


def _fill(template: Text, language: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template.get(language))


def frequency_words(kb: KnowledgeBase, risk: Risk, language: str) -> str:
    """How often ``risk`` happens, in plain words, in ``language``."""
    wording = kb.data.consent.frequency
    figure = chosen_figure(risk)
    if figure is None:
        return wording.no_figure.get(language)
    words = _figure_words(kb, figure, language)
    if figure.counts is not None:
        words = f"{figure.counts.get(language)}, {words}"
    if figure.caveat is not None:
        words = f"{words}. {figure.caveat.get(language)}"
    return words


def _figure_words(kb: KnowledgeBase, figure: Incidence, language: str) -> str:
    wording = kb.data.consent.frequency
    population = getattr(wording.per, figure.per)
    per = population.dry_needling if figure.population == "dry-needling" else population.acupuncture
    values = {
        "per": per.get(language),
        "percent": _number(figure.value),
        "source": source_label(kb, figure.source),
    }
    if figure.per == "respondents":  # a share of surveyed providers, not a rate
        return _fill(wording.survey, language, values)
    if figure.value == 0:
        if figure.denominator is None:
            return _fill(wording.none_seen_uncounted, language, values)
        return _fill(wording.none_seen, language, {**values, "count": f"{figure.denominator:,}"})
    if figure.value >= 99.5 and figure.denominator is not None:
        return _fill(wording.every, language, {**values, "count": f"{figure.denominator:,}"})
    if figure.value > 50:
        tenths = str(min(10, round(figure.value / 10)))
        return _fill(wording.most, language, {**values, "tenths": tenths})
    template = wording.upper_bound if figure.upper_bound else wording.rate
    return _fill(template, language, {**values, "n": f"{_one_in(figure):,}"})


def risk_statements(kb: KnowledgeBase, language: str) -> list[RiskStatement]:
    """Every risk of the knowledge base, in file order, with its frequency."""
    statements = []
    for risk in kb.data.risks:
        figure = chosen_figure(risk)
        statements.append(
            RiskStatement(
                id=risk.id,
                category=risk.category,
                title=risk.title.get(language),
                description=risk.description.get(language),
                frequency=frequency_words(kb, risk, language),
                source=figure.source if figure is not None else None,
            )
        )
    return statements


def warning_signs(kb: KnowledgeBase, tier: Tier, language: str) -> list[str]:
    """Titles of the source page's after-treatment signs of ``tier``, in file order."""
    return [
        s.title.get(language)
        for s in kb.symptoms
        if s.tier is tier and "source.source-page" in s.sources
    ]


def _section(kb: KnowledgeBase, section: ConsentSection, language: str) -> str:
    lines = [section.heading.get(language), section.body.get(language)]
    for lead, tier in (
        (section.emergency_signs, Tier.emergency),
        (section.call_signs, Tier.call_provider),
    ):
        if lead is not None:
            lines.append(lead.get(language))
            lines += [f"- {title}" for title in warning_signs(kb, tier, language)]
    return "\n".join(lines)


def render(kb: KnowledgeBase, language: str) -> ConsentText:
    """The consent text in ``language`` ("en" or "es") for the current knowledge."""
    template = kb.data.consent
    risks = risk_statements(kb, language)
    label = template.frequency.label.get(language)
    blocks = [template.title.get(language), template.intro.get(language)]
    blocks += [_section(kb, s, language) for s in template.sections_before_risks]
    blocks.append(f"{template.risks_heading.get(language)}\n{template.risks_intro.get(language)}")
    for category in _CATEGORIES:
        lines = [
            f"- {r.title}: {r.description} {label}: {r.frequency}."
            for r in risks
            if r.category == category
        ]
        if lines:
            heading = getattr(template.categories, category).get(language)
            blocks.append("\n".join([heading, *lines]))
    blocks += [_section(kb, s, language) for s in template.sections_after_risks]
    blocks.append(f"{template.agreement_heading.get(language)}\n{template.agreement.get(language)}")
    version = text_version(kb)
    blocks.append(f"{template.copy_labels.text_version.get(language)}: {version}")
    text = "\n\n".join(blocks) + "\n"
    return ConsentText(
        language=language,
        text_version=version,
        template_version=template.version,
        knowledge_version=kb.version,
        sha256=sha256_of(text),
        title=template.title.get(language),
        text=text,
        risks=risks,
    )
