"""What each matched concept means: present, negated, uncertain, resolved or
hypothetical, from its ConText modifiers (see :mod:`needlewise.nlp.reader` for the
rules), one mention per concept and place.

Imported with spaCy (:mod:`needlewise.nlp.reader`), never on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from needlewise.domain.facts import MentionStatus, TextMention, TextModifier
from needlewise.nlp.pipeline import NO_COMPLAINTS, TARGETS, PatternInfo
from needlewise.nlp.spacy_env import Doc, Span
from needlewise.nlp.tables import LanguageTables
from needlewise.nlp.tokenizer import READ_AS

#: ConText's categories -> the modifier names of a reading
CATEGORY_NAMES = {
    "NEGATED": "negated",
    "UNCERTAIN": "uncertain",
    "RESOLVED": "resolved",
    "HYPOTHETICAL": "hypothetical",
    "AGAIN": "again",
    "ONGOING": "ongoing",
    "HISTORICAL": "historical",
}

SpanKey = tuple[int, int, str]


def _status(categories: set[str]) -> MentionStatus:
    if "ongoing" in categories:  # "still": there now, whatever else is said
        categories = categories - {"hypothetical", "resolved"}
    if "hypothetical" in categories:
        return "resolved" if "again" in categories else "hypothetical"
    if "uncertain" in categories:
        return "uncertain"
    if "resolved" in categories:
        return "resolved"
    if "negated" in categories:
        return "negated"
    return "present"


def _key(span: Span) -> SpanKey:
    return (span.start, span.end, span.label_)


def edges(doc: Doc, tables: LanguageTables) -> dict[SpanKey, list[TextModifier]]:
    """The modifiers of every target, from ConText's graph (keyed by span and pattern).

    Targets that overlap are the same words read as several concepts ("me duele el
    pecho" is chest pain and soreness): a modifier of one applies to all of them, so
    "ya no me duele el pecho" has passed for both even though "ya no" reached only the
    nearest. A denial never undoes a concept said as a negative ("can't breathe").
    """
    graph = doc._.context_graph
    targets = sorted({_key(s): s for s in doc.spans[TARGETS]}.values(), key=lambda s: s.start)
    group = {_key(s): n for n, s in enumerate(targets)}
    for n, span in enumerate(targets):  # join overlapping targets into one group
        for other in targets[:n]:
            if other.end > span.start and group[_key(other)] != group[_key(span)]:
                old, new = group[_key(span)], group[_key(other)]
                for key, value in group.items():
                    if value == old:
                        group[key] = new
    by_group: dict[int, list[tuple[str, str, str, bool]]] = {}
    for target, modifier in graph.edges if graph is not None else ():
        name = CATEGORY_NAMES.get(modifier.category)
        if name is None:
            continue
        meta = modifier.rule.metadata or {}
        start, end = modifier.modifier_span
        found = (
            name,
            str(meta.get("id", name)),
            doc[start:end].text,
            bool(meta.get("not_for_negatives")),
        )
        by_group.setdefault(group[_key(target)], []).append(found)
    out: dict[SpanKey, list[TextModifier]] = {}
    for span in targets:
        negative_phrase = any(t.norm_ in tables.negation_words for t in span)
        # "no es un moretón chiquito sino uno enorme": the denial is of what "sino" replaces
        contrast = any(t.norm_ in tables.contrast_words for t in span)
        for name, rule, trigger, not_for_negatives in by_group.get(group[_key(span)], []):
            if negative_phrase and (name == "negated" or not_for_negatives):
                continue
            if contrast and name == "negated":
                continue
            out.setdefault(_key(span), []).append(TextModifier(name, rule, trigger))
    return out


@dataclass(frozen=True)
class Found:
    """A merged mention with the span it was read from (for word positions)."""

    span: Span
    mention: TextMention


def mentions(
    spans: list[Span],
    patterns: dict[str, PatternInfo],
    edges: dict[SpanKey, list[TextModifier]],
    text: str,
) -> list[Found]:
    """One mention per concept and place.

    Overlapping matches of one concept ("me duele" and "duele") are the same words: they
    become the longest match, read with the modifiers of all of them ("ya no me duele"
    has passed even though "ya no" was applied to one match only). Symptoms inside an
    idiom ("me muero" in "me muero de sueño") or a "no complaints" phrase ("sin
    molestias") are dropped.
    """
    # an idiom, or a "no complaints" phrase ("sin molestias"), drops what is inside it
    covering = [s for s in spans if patterns[s.label_].kind in ("idiom", "no-complaints")]
    # a narrower wording drops the generic concept it contains ("my back hurts when I
    # breathe in" is not also chest pain); the concept still counts anywhere else
    narrowing = [s for s in spans if patterns[s.label_].narrows]
    groups: dict[str, list[list[Span]]] = {}
    for span in sorted(spans, key=lambda s: (s.start, -len(s))):
        info = patterns[span.label_]
        if info.kind == "pleasantry":
            continue
        if info.kind == "idiom":
            if info.concept is None:
                continue
        elif (
            info.kind == "symptom"
            and any(c.start <= span.start and span.end <= c.end for c in covering)
        ) or (
            info.kind == "symptom"
            and any(
                info.concept in patterns[n.label_].narrows
                and n.start <= span.start
                and span.end <= n.end
                for n in narrowing
            )
        ):
            continue
        concept = NO_COMPLAINTS if info.kind == "no-complaints" else str(info.concept)
        for group in groups.setdefault(concept, []):
            if any(span.start < other.end and other.start < span.end for other in group):
                group.append(span)
                break
        else:
            groups[concept].append([span])
    out: list[Found] = []
    for concept, concept_groups in groups.items():
        for group in concept_groups:
            longest = max(group, key=lambda s: (len(s), -s.start))
            read_as = longest.doc.user_data.get(READ_AS, {})
            modifiers = list(dict.fromkeys(m for s in group for m in edges.get(_key(s), [])))
            mention = TextMention(
                concept=concept,
                pattern=longest.label_,
                status=_status({m.category for m in modifiers}),
                quote=text[longest.start_char : longest.end_char],
                start=longest.start_char,
                end=longest.end_char,
                modifiers=tuple(modifiers),
                read_as=tuple((read_as[t.i], t.norm_) for t in longest if t.i in read_as),
            )
            out.append(Found(longest, mention))
    return sorted(out, key=lambda f: (f.mention.start, f.mention.concept))


def passed_when_fine_after(
    found: list[Found], tables: LanguageTables, says_fine: dict[str, bool], modifiers: list[Any]
) -> list[TextMention]:
    """A symptom told in the past, then "but I'm fine now", has passed.

    "I felt faint this morning but I'm ok now", "anoche me faltó el aire pero ya estoy
    bien": the symptom has a past cue (a ``historical`` modifier or a past-tense word in
    its own words) and a "no complaints" phrase comes after it. Said in the present
    ("my chest hurts but I'm fine now"), or with "still", it stays present.
    """
    fine = [
        f
        for f in found
        if f.mention.concept == NO_COMPLAINTS
        and f.mention.status == "present"
        and says_fine.get(f.mention.pattern, False)
    ]
    out = []
    for item in found:
        mention = item.mention
        if mention.status == "present" and mention.concept != NO_COMPLAINTS:
            categories = {m.category for m in mention.modifiers}
            past = "historical" in categories or any(
                t.norm_ in tables.past_words for t in item.span
            )
            later = next((f for f in fine if f.span.start >= item.span.end), None)
            still = later is not None and any(
                m.category == "ONGOING"
                and m.modifier_span[0] >= later.span.end
                and item.span.doc[m.modifier_span[0]].sent.start
                == item.span.doc[later.span.start].sent.start
                for m in modifiers
            )  # "better now but still a bit": not passed
            if past and later is not None and "ongoing" not in categories and not still:
                trigger = TextModifier("resolved", later.mention.pattern, later.mention.quote)
                mention = TextMention(
                    mention.concept,
                    mention.pattern,
                    "resolved",
                    mention.quote,
                    mention.start,
                    mention.end,
                    (*mention.modifiers, trigger),
                    mention.read_as,
                )
        out.append(mention)
    return out
