"""medspaCy ConText rules from the context rules of the knowledge base's language files.

Each rule's category (negated, uncertain, resolved, hypothetical, again, ongoing,
historical; and the pseudo kinds: pseudo, break, join) becomes a ConText category with
its direction, reach and the kinds of word that end that reach. A denial reaches a
concept only across function words and listed concepts (:func:`negation_check`): the
safe answer to NegEx's scope errors. Imported with spaCy (:mod:`needlewise.nlp.pipeline`),
never on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from needlewise.knowledge.schema.language import ContextRule
from needlewise.nlp.compile import CompiledRule
from needlewise.nlp.spacy_env import ConTextRule, Span
from needlewise.nlp.tables import LanguageTables

_CATEGORY = {
    "negated": "NEGATED",
    "uncertain": "UNCERTAIN",
    "resolved": "RESOLVED",
    "hypothetical": "HYPOTHETICAL",
    "again": "AGAIN",
    "ongoing": "ONGOING",
    "historical": "HISTORICAL",
    "pseudo": "PSEUDO",
    "break": "BREAK",
    "join": "JOIN",
}
#: which kinds of word end the reach of a modifier of each category
_TERMINATED_BY = {
    "NEGATED": {"BREAK", "JOIN"},
    "UNCERTAIN": {"BREAK", "JOIN"},
    "RESOLVED": {"BREAK", "JOIN"},
    "HYPOTHETICAL": {"BREAK"},
    "AGAIN": {"BREAK", "JOIN"},
    "ONGOING": {"BREAK", "JOIN"},
    "HISTORICAL": {"BREAK", "JOIN"},
}
_DIRECTION = {"forward": "FORWARD", "backward": "BACKWARD", "both": "BIDIRECTIONAL"}


def negation_check(tables: LanguageTables, targets: str) -> Callable[[Span, Span, Span], bool]:
    """A denial reaches a concept only across function words and listed concepts (the
    concepts are the span group ``targets``).

    "I don't have any pain in my chest" and "no chest pain or shortness of breath" are
    denials of both; "no bruising my lips are blue" is not a denial of blue lips (the
    words between are not function words), so the red flag stays present. This is the
    safe answer to NegEx's scope errors (negspacy#41, medspacy#232).
    """

    def check(target: Span, modifier: Span, _between: Span) -> bool:
        doc = target.doc
        spans = list(doc.spans[targets])
        # a concept inside a longer one ("pain" in "chest pain") is reached with it
        containing = [s for s in spans if s.start <= target.start < s.end]
        first = min(s.start for s in containing)
        last = max(s.end for s in containing)
        if modifier.end <= first:
            start, end = modifier.end, first
        else:
            start, end = last, modifier.start
        others = [s for s in spans if s.start >= start and s.end <= end]
        inside = {i for s in others for i in range(s.start, s.end)}
        last_other_end = max((s.end for s in others), default=None)
        joined = last_other_end is None
        for i in range(start, end):
            if i in inside:
                continue
            norm = doc[i].norm_
            if norm in tables.list_words:
                if last_other_end is not None and i >= last_other_end:
                    joined = True
                continue
            if norm in tables.function_words or norm in tables.bridge:
                continue
            return False
        return joined

    return check


def rules_for(
    rule: ContextRule,
    compiled: CompiledRule,
    tables: LanguageTables,
    not_symptoms: set[str],
    targets: str,
) -> list[Any]:
    """The ConText rules of one context rule (one per phrase and token pattern);
    ``not_symptoms`` are the pattern ids a non-denial never modifies, ``targets`` the
    span group of the matched concepts."""
    category = _CATEGORY[rule.category]
    is_pseudo = category in ("BREAK", "JOIN", "PSEUDO")
    direction = "PSEUDO" if is_pseudo else _DIRECTION[rule.direction]
    terminated_by = set() if is_pseudo else set(_TERMINATED_BY[category])
    if category == "RESOLVED" and (rule.direction == "backward" or rule.nearest_only):
        # "I was dizzy earlier, not anymore", "me dolió el pecho, ya se me quitó": reaches
        # back over a comma or "pero", to the nearest concept only
        terminated_by = set()
    on_modifies = negation_check(tables, targets) if category == "NEGATED" else None
    # only a denial applies to "I'm fine" ("not fine"); the rest concern symptoms, so
    # "ya nada, todo bien" resolves the symptom before it, not "todo bien"
    excluded = None if category == "NEGATED" or is_pseudo else not_symptoms
    common: dict[str, Any] = {
        "category": category,
        "direction": direction,
        "max_scope": rule.max_scope,
        "max_targets": 1 if rule.nearest_only else None,
        "terminated_by": terminated_by,
        "on_modifies": on_modifies,
        "excluded_types": excluded,
        "metadata": {"id": rule.id, "not_for_negatives": rule.not_for_negatives},
    }
    rules: list[Any] = [ConTextRule(literal=p, **common) for p in compiled.phrases]
    rules += [ConTextRule(literal=rule.id, pattern=p, **common) for p in compiled.token_patterns]
    return rules
