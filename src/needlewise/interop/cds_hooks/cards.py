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

Cards are built as plain JSON (this is the hot path of ``order-select``): the tests check
every kind of card against :class:`~needlewise.interop.cds_hooks.models.Card`, the model
other services' cards are read with. Text that depends only on the knowledge base (rule
titles, source lines, override reasons) is built once per knowledge base.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from needlewise.domain.screening import Finding, ScreeningResult
from needlewise.interop.cds_hooks.models import SUMMARY_MAX, Card
from needlewise.interop.cds_hooks.orders import SERVICE_CODE, Planned, service_system
from needlewise.interop.fhir.canonical import INTAKE_ID, code_system_url
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Level
from needlewise.knowledge.schema.meta import Source as KnowledgeSource

LABEL = "needlewise"
OVERRIDE_SYSTEM_NAME = "override-reason"
JSON = dict[str, Any]


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
    """A card (CDS Hooks JSON) with the rule ids behind it (stored for feedback)."""

    card: JSON
    rules: list[str] = field(default_factory=list)

    def model(self) -> Card:
        """The card read back through the spec model (raises if it breaks a rule)."""
        return Card.model_validate(self.card)


def override_system(kb: KnowledgeBase) -> str:
    return code_system_url(kb, OVERRIDE_SYSTEM_NAME)


def override_code(reason_id: str) -> str:
    return reason_id.removeprefix("override-reason.")


def summary(text: str) -> str:
    """``text`` cut to fit a card summary (under 140 characters)."""
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


class _Texts:
    """What the cards say that depends only on the knowledge base and the language."""

    def __init__(self, kb: KnowledgeBase, language: str) -> None:
        self.kb = kb
        self.titles = {r.id: r.title.get(language) for r in kb.contraindications}
        self.sources: dict[str, str] = {}
        system = override_system(kb)
        self.reasons = [
            (
                frozenset(reason.applies_to),
                {
                    "system": system,
                    "code": override_code(reason.id),
                    "display": reason.title.get(language),
                },
            )
            for reason in kb.data.override_reasons
        ]
        self.topic = {"system": service_system(kb), "code": SERVICE_CODE, "display": "Dry needling"}

    def title(self, rule_id: str) -> str:
        return self.titles.get(rule_id, rule_id)

    def source_line(self, source_id: str) -> str:
        line = self.sources.get(source_id)
        if line is None:
            item = self.kb.get(source_id)
            if not isinstance(item, KnowledgeSource):
                line = f"`{source_id}`"
            else:
                citation = item.citation.replace("[", "(").replace("]", ")")
                line = (
                    f"[{citation}]({item.url}) (`{source_id}`)"
                    if item.url
                    else f"{citation} (`{source_id}`)"
                )
            self.sources[source_id] = line
        return line

    def override_reasons(self, rules: list[str]) -> list[JSON]:
        """The override reasons that apply to any of ``rules`` (a reason with no
        ``applies_to`` applies to every rule)."""
        wanted = set(rules)
        return [dict(coding) for applies, coding in self.reasons if not applies or applies & wanted]


_TEXTS: dict[tuple[int, str], _Texts] = {}
_TEXTS_LOCK = threading.Lock()


def _texts(kb: KnowledgeBase, language: str) -> _Texts:
    key = (id(kb), language)
    texts = _TEXTS.get(key)
    if texts is None or texts.kb is not kb:
        with _TEXTS_LOCK:
            texts = _TEXTS[key] = _Texts(kb, language)
    return texts


def override_reasons(kb: KnowledgeBase, rules: list[str], language: str = "en") -> list[JSON]:
    """The knowledge base's override reasons (Codings with a display) for ``rules``."""
    return _texts(kb, language).override_reasons(rules)


def _titles(texts: _Texts, rules: list[str]) -> str:
    if len(rules) == 1:
        return texts.title(rules[0])
    return f"{texts.title(rules[0])} and {len(rules) - 1} more"


def _finding_markdown(texts: _Texts, finding: Finding) -> str:
    lines = [
        f"**{finding.title}** — rule `{finding.rule}` ({finding.level.value}, {finding.certainty})"
    ]
    lines += [f"- Evidence: {text}" for text in finding.evidence]
    lines += [f"- Source: {texts.source_line(sid)}" for sid in finding.sources]
    return "\n".join(lines)


def _checked_markdown(context: CardContext) -> str:
    parts = []
    if context.checked:
        parts.append("Data checked: " + ", ".join(context.checked) + ".")
    if context.not_shared:
        parts.append("Not shared (not checked): " + ", ".join(context.not_shared) + ".")
    return "\n\n".join(parts)


class _Builder:
    def __init__(self, texts: _Texts, context: CardContext, chart_url: str | None) -> None:
        self.texts = texts
        self.context = context
        self.source = {
            "label": LABEL,
            "url": f"{context.base_url}/cds-services",
            "topic": texts.topic,
        }
        self.links = [
            {
                "label": "needlewise intake questionnaire",
                "url": f"{context.base_url}/fhir/Questionnaire/{INTAKE_ID}",
                "type": "absolute",
            }
        ]
        if chart_url is not None:
            self.links.append(
                {"label": "Patient in needlewise", "url": chart_url, "type": "absolute"}
            )
        checked = _checked_markdown(context)
        self.checked = "\n\n" + checked if checked else ""

    def card(
        self,
        indicator: str,
        text: str,
        detail: str,
        rules: list[str],
        *,
        overridable: bool = True,
        suggestions: list[JSON] | None = None,
    ) -> IssuedCard:
        card: JSON = {
            "uuid": str(uuid.uuid4()),
            "summary": summary(text),
            "detail": detail + self.checked,
            "indicator": indicator,
            "source": dict(self.source),
            "links": [dict(link) for link in self.links],
        }
        if overridable:
            card["overrideReasons"] = self.texts.override_reasons(rules)
        if suggestions:
            card["suggestions"] = suggestions
            card["selectionBehavior"] = "at-most-one"
        return IssuedCard(card, rules)

    def remove_orders(self) -> list[JSON]:
        # a draft without an id cannot be named in a delete action
        drafts = [p for p in self.context.planned if p.in_draft and "/" in p.reference]
        if not drafts:
            return []
        actions = [
            {
                "type": "delete",
                "description": f"Remove the draft dry-needling order {p.reference}",
                "resourceId": p.reference,
            }
            for p in drafts
        ]
        return [
            {
                "label": "Remove the dry-needling order",
                "uuid": str(uuid.uuid4()),
                "isRecommended": True,
                "actions": actions,
            }
        ]


def build_cards(
    kb: KnowledgeBase,
    result: ScreeningResult,
    context: CardContext,
    chart_url: str | None = None,
) -> list[IssuedCard]:
    """The cards for one screening of planned dry needling (see the module docstring)."""
    texts = _texts(kb, context.language)
    builder = _Builder(texts, context, chart_url)
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
    if absolute:
        rules = [f.rule for f in absolute]
        cards.append(
            builder.card(
                "critical",
                f"Do not dry needle: absolute contraindication ({_titles(texts, rules)})",
                "Dry needling is contraindicated for this patient:\n\n"
                + "\n\n".join(_finding_markdown(texts, f) for f in absolute),
                rules,
                suggestions=builder.remove_orders(),
            )
        )
    if review:
        rules = [f.rule for f in review]
        cards.append(
            builder.card(
                "warning",
                f"Review before dry needling: {_titles(texts, rules)}",
                "A clinician must review these findings before dry needling:\n\n"
                + "\n\n".join(_finding_markdown(texts, f) for f in review),
                rules,
            )
        )
    if result.unanswered:
        rules = list(result.unanswered)
        count = len(rules)
        questions = "question is" if count == 1 else "questions are"
        listed = "\n".join(f"- `{rule}`: {texts.title(rule)}" for rule in rules)
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
                f"Dry-needling precautions: {_titles(texts, rules)}",
                "Take these precautions when dry needling this patient:\n\n"
                + "\n\n".join(_finding_markdown(texts, f) for f in precautions),
                rules,
                overridable=False,
            )
        )
    if result.decision != "eligible" and not any(c.card["indicator"] != "info" for c in cards):
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
