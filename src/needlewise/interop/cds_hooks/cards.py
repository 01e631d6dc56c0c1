"""Cards from a screening (:class:`~needlewise.domain.screening.ScreeningResult`).

At most one card per kind, so a clinician sees one card per thing to do:

==================  ==========  ================================================================
card                indicator   when
==================  ==========  ================================================================
contraindicated     critical    an **absolute** rule fired with certainty *present*; on
                                order-select/order-sign it suggests removing the draft
                                dry-needling order(s) (a ``delete`` action per order)
review              warning     a **relative** rule fired, or an absolute one only *possibly*
                                (a "not sure" answer)
incomplete          warning     required screening questions are unanswered (the patient's
                                intake is missing or partial): screening must be completed,
                                never an "all clear"
precautions         info        **precaution** rules fired
no-finding          info        decision *eligible* (every question answered, nothing fired):
                                "no contraindication found in the data shared", naming
                                what was checked
==================  ==========  ================================================================

Every card has a ``uuid`` (feedback names it), a summary under 140 characters, Markdown
detail naming each rule id with its evidence and sources (citation and link, from
``sources.yaml``), ``source`` (label ``needlewise``, our URL, topic = our service code),
a link to our intake Questionnaire and, when the clinic knows the patient, to the chart.
Cards a clinician may override carry ``overrideReasons``: the knowledge base's override
reasons that apply to the card's rules, coded in ``{canonical_base}/CodeSystem/override-reason``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from needlewise.domain.screening import Finding, ScreeningResult
from needlewise.interop.cds_hooks.models import (
    SUMMARY_MAX,
    Action,
    Card,
    Coding,
    Link,
    OverrideReason,
    Source,
    Suggestion,
)
from needlewise.interop.cds_hooks.orders import SERVICE_CODE, Planned, service_system
from needlewise.interop.fhir.canonical import INTAKE_ID, code_system_url
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Level
from needlewise.knowledge.schema.meta import Source as KnowledgeSource

LABEL = "needlewise"
OVERRIDE_SYSTEM_NAME = "override-reason"


@dataclass(frozen=True)
class CardContext:
    """What the cards need besides the screening."""

    base_url: str
    hook: str
    planned: tuple[Planned, ...]
    checked: tuple[str, ...] = ()  # what data was read ("3 Condition", …)
    not_shared: tuple[str, ...] = ()  # optional prefetch keys we could not have
    language: str = "en"


@dataclass
class IssuedCard:
    """A card with the rule ids behind it (stored with the card for feedback)."""

    card: Card
    rules: list[str] = field(default_factory=list)


def override_system(kb: KnowledgeBase) -> str:
    return code_system_url(kb, OVERRIDE_SYSTEM_NAME)


def override_code(reason_id: str) -> str:
    return reason_id.removeprefix("override-reason.")


def override_reasons(kb: KnowledgeBase, rules: list[str], language: str) -> list[OverrideReason]:
    """The knowledge base's override reasons that apply to any of ``rules`` (a reason
    with no ``applies_to`` applies to every rule)."""
    system = override_system(kb)
    wanted = set(rules)
    return [
        OverrideReason(
            system=system, code=override_code(reason.id), display=reason.title.get(language)
        )
        for reason in kb.data.override_reasons
        if not reason.applies_to or wanted & set(reason.applies_to)
    ]


def summary(text: str) -> str:
    """``text`` cut to fit a card summary (under 140 characters)."""
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


def _titles(kb: KnowledgeBase, rules: list[str], language: str) -> str:
    titles = []
    for rule_id in rules:
        rule = kb.contraindication(rule_id)
        titles.append(rule.title.get(language) if rule is not None else rule_id)
    if len(titles) == 1:
        return titles[0]
    return f"{titles[0]} and {len(titles) - 1} more"


def _source_line(kb: KnowledgeBase, source_id: str) -> str:
    item = kb.get(source_id)
    if not isinstance(item, KnowledgeSource):
        return f"`{source_id}`"
    citation = item.citation.replace("[", "(").replace("]", ")")
    return (
        f"[{citation}]({item.url}) (`{source_id}`)" if item.url else f"{citation} (`{source_id}`)"
    )


def _finding_markdown(kb: KnowledgeBase, finding: Finding) -> str:
    lines = [
        f"**{finding.title}** — rule `{finding.rule}` ({finding.level.value}, {finding.certainty})"
    ]
    lines += [f"- Evidence: {text}" for text in finding.evidence]
    lines += [f"- Source: {_source_line(kb, sid)}" for sid in finding.sources]
    return "\n".join(lines)


def _checked_markdown(context: CardContext) -> str:
    parts = []
    if context.checked:
        parts.append("Data checked: " + ", ".join(context.checked) + ".")
    if context.not_shared:
        parts.append("Not shared (not checked): " + ", ".join(context.not_shared) + ".")
    return "\n\n".join(parts)


class _Builder:
    def __init__(self, kb: KnowledgeBase, context: CardContext, chart_url: str | None) -> None:
        self.kb = kb
        self.context = context
        self.source = Source(
            label=LABEL,
            url=f"{context.base_url}/cds-services",
            topic=Coding(system=service_system(kb), code=SERVICE_CODE, display="Dry needling"),
        )
        links = [
            Link(
                label="needlewise intake questionnaire",
                url=f"{context.base_url}/fhir/Questionnaire/{INTAKE_ID}",
                type="absolute",
            )
        ]
        if chart_url is not None:
            links.append(Link(label="Patient in needlewise", url=chart_url, type="absolute"))
        self.links = links

    def card(
        self,
        indicator: str,
        text: str,
        detail: str,
        rules: list[str],
        *,
        overridable: bool = True,
        suggestions: list[Suggestion] | None = None,
    ) -> IssuedCard:
        language = self.context.language
        checked = _checked_markdown(self.context)
        card = Card.model_validate(
            {
                "uuid": str(uuid.uuid4()),
                "summary": summary(text),
                "detail": detail + ("\n\n" + checked if checked else ""),
                "indicator": indicator,
                "source": self.source,
                "links": self.links,
                **(
                    {"overrideReasons": override_reasons(self.kb, rules, language)}
                    if overridable
                    else {}
                ),
                **(
                    {"suggestions": suggestions, "selectionBehavior": "at-most-one"}
                    if suggestions
                    else {}
                ),
            }
        )
        return IssuedCard(card, rules)

    def remove_orders(self) -> list[Suggestion]:
        drafts = [p for p in self.context.planned if p.in_draft]
        if not drafts:
            return []
        actions = [
            Action(
                type="delete",
                description=f"Remove the draft dry-needling order {p.reference}",
                resourceId=p.reference,
            )
            for p in drafts
        ]
        return [
            Suggestion(
                label="Remove the dry-needling order",
                uuid=str(uuid.uuid4()),
                isRecommended=True,
                actions=actions,
            )
        ]


def build_cards(
    kb: KnowledgeBase,
    result: ScreeningResult,
    context: CardContext,
    chart_url: str | None = None,
) -> list[IssuedCard]:
    """The cards for one screening of planned dry needling (see the module docstring)."""
    builder = _Builder(kb, context, chart_url)
    cards: list[IssuedCard] = []
    absolute = [
        f for f in result.findings if f.level is Level.absolute and f.certainty == "present"
    ]
    review = [
        f
        for f in result.findings
        if f.level is Level.relative or (f.level is Level.absolute and f.certainty != "present")
    ]
    precautions = [f for f in result.findings if f.level is Level.precaution]
    language = context.language
    if absolute:
        rules = [f.rule for f in absolute]
        cards.append(
            builder.card(
                "critical",
                f"Do not dry needle: absolute contraindication ({_titles(kb, rules, language)})",
                "Dry needling is contraindicated for this patient:\n\n"
                + "\n\n".join(_finding_markdown(kb, f) for f in absolute),
                rules,
                suggestions=builder.remove_orders(),
            )
        )
    if review:
        rules = [f.rule for f in review]
        cards.append(
            builder.card(
                "warning",
                f"Review before dry needling: {_titles(kb, rules, language)}",
                "A clinician must review these findings before dry needling:\n\n"
                + "\n\n".join(_finding_markdown(kb, f) for f in review),
                rules,
            )
        )
    if result.unanswered:
        rules = list(result.unanswered)
        count = len(rules)
        questions = "question is" if count == 1 else "questions are"
        listed = "\n".join(f"- `{rule}`: {_titles(kb, [rule], language)}" for rule in rules)
        cards.append(
            builder.card(
                "warning",
                f"Dry-needling screening incomplete: {count} {questions} unanswered",
                "The contraindication screening is not complete: the patient has not "
                "answered these intake questions (no intake, or a partial one, was shared). "
                "Complete the needlewise intake before dry needling; no result is an "
                f"all-clear until then.\n\n{listed}",
                rules,
            )
        )
    if precautions:
        rules = [f.rule for f in precautions]
        cards.append(
            builder.card(
                # precautions alone make the decision "review": then they are the warning
                "info" if cards or result.decision == "eligible" else "warning",
                f"Dry-needling precautions: {_titles(kb, rules, language)}",
                "Take these precautions when dry needling this patient:\n\n"
                + "\n\n".join(_finding_markdown(kb, f) for f in precautions),
                rules,
                overridable=False,
            )
        )
    if result.decision != "eligible" and not any(c.card.indicator != "info" for c in cards):
        # the decision asks for review but no finding above says why: never stay quiet
        cards.append(
            builder.card(
                "warning",
                "Review before dry needling: the screening needs a clinician's review",
                "The screening did not find the patient eligible. Policies applied: "
                + (", ".join(f"`{p}`" for p in result.policies) or "none")
                + ".",
                [],
            )
        )
    if result.decision == "eligible" and not cards:
        cards.append(
            builder.card(
                "info",
                "No dry-needling contraindication found in the data shared",
                "Every intake question is answered and no contraindication rule fired on "
                "the answers or on the coded data shared. This is not a guarantee: "
                "rules only see the data listed below.",
                [],
                overridable=False,
            )
        )
    return cards
