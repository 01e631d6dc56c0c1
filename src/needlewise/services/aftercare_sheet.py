"""The take-home aftercare sheet: ``aftercare_sheet`` of ``knowledge/data/clinic.yaml``
rendered for one clinic and one language.

A pure function of the knowledge base (no database). The sheet has no symptom wording of
its own: the "call 911" list is the title of every ``tier: emergency`` symptom and the
"call today" list the title of every ``tier: call-provider`` symptom, in the order of
``symptoms.yaml``, so a symptom added there appears on the sheet without another edit.
The clinic's numbers fill ``{day_phone}`` and ``{after_hours_phone}``; a number not given
is replaced by the sheet's ``missing_number`` text (never left empty).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import SheetPart, SymptomTierList, Text, placeholders


class SheetSection(BaseModel):
    """One part of the sheet: a heading, paragraphs, a bullet list, then closing notes."""

    key: str = Field(examples=["call-911"])
    heading: str
    paragraphs: list[str] = Field(default_factory=list, description="Shown before the list")
    bullets: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="Shown after the list")


class AftercareSheetOut(BaseModel):
    """The aftercare sheet in one language, with the clinic's numbers filled in."""

    language: str = Field(examples=["en"])
    sheet_id: str
    sheet_version: str = Field(
        description="Sheet version plus knowledge version",
        examples=["aftercare-1+knowledge-2026.12.3"],
    )
    title: str
    intro: str
    sections: list[SheetSection]


def _language(language: str) -> str:
    """The language the sheet is written in (English when ``language`` is not supported)."""
    return "es" if language == "es" else "en"


def _fill(text: Text, language: str, values: dict[str, str]) -> str:
    out = text.get(language)
    for name in placeholders(out):
        out = out.replace(f"{{{name}}}", values[name])
    return out


def _tier_section(
    kb: KnowledgeBase, part: SymptomTierList, language: str, values: dict[str, str]
) -> SheetSection:
    return SheetSection(
        key=part.key,
        heading=part.heading.get(language),
        paragraphs=[_fill(part.lead, language, values)],
        bullets=[s.title.get(language) for s in kb.symptoms if s.tier is part.tier],
        notes=[_fill(n, language, values) for n in part.notes],
    )


def _part_section(part: SheetPart, language: str, values: dict[str, str]) -> SheetSection:
    return SheetSection(
        key=part.key,
        heading=part.heading.get(language),
        paragraphs=[_fill(p, language, values) for p in part.paragraphs],
        bullets=[_fill(b, language, values) for b in part.bullets],
    )


def aftercare_sheet(
    kb: KnowledgeBase,
    language: str,
    day_phone: str | None,
    after_hours_phone: str | None,
) -> AftercareSheetOut:
    """The take-home sheet in ``language`` ("en" or "es") with the clinic's numbers.

    A number that is ``None`` or blank is shown as the sheet's "ask the clinic for this
    number" text.
    """
    lang = _language(language)
    sheet = kb.data.aftercare_sheet
    missing = sheet.phones.missing_number.get(lang)
    values = {
        "day_phone": (day_phone or "").strip() or missing,
        "after_hours_phone": (after_hours_phone or "").strip() or missing,
    }
    phones = SheetSection(
        key=sheet.phones.key,
        heading=sheet.phones.heading.get(lang),
        bullets=[
            _fill(sheet.phones.day, lang, values),
            _fill(sheet.phones.after_hours, lang, values),
        ],
        notes=[_fill(n, lang, values) for n in sheet.phones.notes],
    )
    sections = [
        phones,
        _tier_section(kb, sheet.emergency, lang, values),
        _tier_section(kb, sheet.call_today, lang, values),
        _part_section(sheet.lung_signs, lang, values),
        _part_section(sheet.infection_signs, lang, values),
        _part_section(sheet.self_care, lang, values),
        _part_section(sheet.driving, lang, values),
    ]
    return AftercareSheetOut(
        language=lang,
        sheet_id=sheet.id,
        sheet_version=f"aftercare-{sheet.version}+knowledge-{kb.version}",
        title=_fill(sheet.title, lang, values),
        intro=_fill(sheet.intro, lang, values),
        sections=sections,
    )
