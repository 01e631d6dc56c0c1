"""Read one message: concepts with their context, temperatures, times, understanding.

What each mention means is decided here from its ConText modifiers, built to fail
toward escalation:

* **ongoing** ("still", "todavía"): there now, so never hypothetical nor resolved;
* **hypothetical** ("what should I do if …") only when nothing says it happened before
  ("again", "otra vez": then it counts as *resolved*);
* **uncertain** ("I think", "creo que") wins over a denial or a "has passed": a hedge is
  never read as absence;
* **resolved** ("not anymore", "ya no") wins over a plain denial; a symptom told in the
  past and followed by "but I'm fine now" has passed too;
* **negated** only by a denial that reaches the concept within its clause across
  function words (``pipeline._negation_check``), and never for a concept whose own words
  are a negative ("can't breathe", "no puedo respirar");
* otherwise **present**.

A message is *understood* when something in it counts as a finding (a mention that is
not a plain denial, or a temperature), or when every word in it is accounted for
(function words, fillers, denials, "no complaints" phrases, pleasantries …) and
something was recognised. Words of a language we do not support are counted; two or
more (or any word in a non-Latin script) name that language.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from needlewise.domain.facts import (
    FreeTextReading,
    HoursWindow,
    MentionStatus,
    StatedTime,
    TextMention,
    TextModifier,
    TextTemperature,
)
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema.pattern_syntax import fold
from needlewise.nlp.pipeline import (
    NO_COMPLAINTS,
    READ_AS,
    TARGETS,
    LanguageTables,
    PatternInfo,
    Pipeline,
)
from needlewise.nlp.quantities import (
    Number,
    QuantityTables,
    find_numbers,
    temperature_at,
    time_from_count,
)
from needlewise.nlp.spacy_env import Doc, Span

_CATEGORY_NAMES = {
    "NEGATED": "negated",
    "UNCERTAIN": "uncertain",
    "RESOLVED": "resolved",
    "HYPOTHETICAL": "hypothetical",
    "AGAIN": "again",
    "ONGOING": "ongoing",
    "HISTORICAL": "historical",
}
_QUESTION_MARKS = frozenset({"?", "¿"})
NON_LATIN = "a language in a non-Latin script"

SpanKey = tuple[int, int, str]


@dataclass(frozen=True)
class Markers:
    """Words (and letters) of languages we do not read -> the language's name."""

    words: dict[str, str]
    letters: dict[str, str]
    min_markers: int

    def language_of(self, written: str) -> str | None:
        """The language a word as written belongs to, if it is one of our markers."""
        found = self.words.get(fold(written))
        if found is not None:
            return found
        for char in written.casefold():
            if char in self.letters:
                return self.letters[char]
        return None


def markers_of(kb: KnowledgeBase) -> Markers:
    words: dict[str, str] = {}
    letters: dict[str, str] = {}
    for language in kb.data.other_languages.languages:
        for word in language.markers:
            words.setdefault(word, language.name)
        for char in language.letters:
            letters.setdefault(char, language.name)
    return Markers(words, letters, kb.data.other_languages.min_markers)


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


def _edges(doc: Doc, tables: LanguageTables) -> dict[SpanKey, list[TextModifier]]:
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
        name = _CATEGORY_NAMES.get(modifier.category)
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
class _Found:
    """A merged mention with the span it was read from (for word positions)."""

    span: Span
    mention: TextMention


def _mentions(
    spans: list[Span],
    patterns: dict[str, PatternInfo],
    edges: dict[SpanKey, list[TextModifier]],
    text: str,
) -> list[_Found]:
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
    out: list[_Found] = []
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
            out.append(_Found(longest, mention))
    return sorted(out, key=lambda f: (f.mention.start, f.mention.concept))


def _passed_when_fine_after(
    found: list[_Found], tables: LanguageTables, says_fine: dict[str, bool], modifiers: list[Any]
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


def _quote(doc: Doc, text: str, start: int, end: int) -> str:
    """The patient's words for tokens ``start``..``end``, as written."""
    span = doc[start:end]
    return text[span.start_char : span.end_char]


def _script_is_latin(word: str) -> bool:
    for char in word:
        if char.isalpha() and not unicodedata.name(char, "").startswith("LATIN"):
            return False
    return True


class Reader:
    """Reads messages with one language's pipeline (build with :func:`reader_for`)."""

    def __init__(self, pipeline: Pipeline, kb: KnowledgeBase) -> None:
        self.pipeline = pipeline
        datas = [kb.data.language[code] for code in kb.data.meta.languages]
        self.quantities = QuantityTables.merge(datas)
        self.markers = markers_of(kb)

    def read(self, text: str) -> FreeTextReading:
        """Everything the reader finds in ``text`` (see the module docstring)."""
        pipeline = self.pipeline
        tables = pipeline.tables
        doc = pipeline(text)
        spans = list(doc.spans[TARGETS])
        found = _mentions(spans, pipeline.patterns, _edges(doc, tables), text)
        graph = doc._.context_graph
        modifiers = list(graph.modifiers) if graph is not None else []
        says_fine = {pid: info.says_fine for pid, info in pipeline.patterns.items()}
        mentions = _passed_when_fine_after(found, tables, says_fine, modifiers)

        covered: set[int] = set()
        for span in spans:
            covered.update(range(span.start, span.end))
        for modifier in modifiers:
            start, end = modifier.modifier_span
            covered.update(range(start, end))
        temperatures, times = self._quantities(doc, text, covered)
        unknown, other_language = self._unknown_words(doc, covered)

        finding = bool(temperatures) or any(
            m.status != "negated" and m.concept != NO_COMPLAINTS for m in mentions
        )
        unsure_fine = any(m.concept == NO_COMPLAINTS and m.status != "present" for m in mentions)
        recognised = (
            bool(spans) or bool(times) or any(m.category in _CATEGORY_NAMES for m in modifiers)
        )
        understood = finding or (unknown == 0 and not unsure_fine and recognised)
        return FreeTextReading(
            language=pipeline.language,
            mentions=tuple(mentions),
            temperatures=tuple(temperatures),
            times=tuple(times),
            understood=understood,
            unknown_words=unknown + (1 if unsure_fine else 0),
            other_language=other_language,
        )

    def _unknown_words(self, doc: Doc, covered: set[int]) -> tuple[int, str | None]:
        """How many words matched nothing, and the unsupported language they are in."""
        tables = self.pipeline.tables
        unknown = 0
        foreign: dict[str, int] = {}
        for token in doc:
            if token.i in covered or token.is_space:
                continue
            norm = token.norm_
            if norm in _QUESTION_MARKS:
                unknown += 1  # a question we could not read is something to answer
                continue
            if not any(c.isalnum() for c in norm):
                continue  # punctuation
            if norm in tables.function_words or norm in tables.filler:
                continue
            if norm.replace(".", "").replace(",", "").isdigit():
                continue
            unknown += 1
            if not _script_is_latin(token.text):
                foreign[NON_LATIN] = foreign.get(NON_LATIN, 0) + self.markers.min_markers
                continue
            language = self.markers.language_of(token.text)
            if language is not None:
                foreign[language] = foreign.get(language, 0) + 1
        if not foreign:
            return unknown, None
        name, count = max(foreign.items(), key=lambda kv: (kv[1], kv[0]))
        return unknown, name if count >= self.markers.min_markers else None

    def _quantities(
        self, doc: Doc, text: str, covered: set[int]
    ) -> tuple[list[TextTemperature], list[StatedTime]]:
        norms = [t.norm_ for t in doc]
        sentence_of = [0] * len(doc)
        for k, sentence in enumerate(doc.sents):
            for i in range(sentence.start, sentence.end):
                sentence_of[i] = k
        half_ends = {start: end for _, start, end in self.pipeline.half_matcher(doc)}
        numbers = find_numbers(norms, self.quantities)
        temperatures: list[TextTemperature] = []
        used: set[int] = set()
        for number in numbers:
            found = temperature_at(number, norms, sentence_of, half_ends, self.quantities)
            if found is None:
                continue
            temperature, start, end = found
            temperatures.append(
                TextTemperature(
                    temperature.value,
                    temperature.unit,
                    temperature.unit_source,
                    _quote(doc, text, start, end),
                )
            )
            used.update(range(number.start, number.end))
            covered.update(range(start, end))
        times: list[StatedTime] = []
        strings = doc.vocab.strings
        taken: set[int] = set()
        matches = sorted(self.pipeline.time_matcher(doc), key=lambda m: (m[1] - m[2], m[1]))
        for match_id, start, end in matches:  # longest first: "desde anoche", not "anoche"
            if taken.intersection(range(start, end)):
                continue
            taken.update(range(start, end))
            rule_id = strings[match_id]
            low, high = self.pipeline.time_rules[rule_id]
            times.append(StatedTime(HoursWindow(low, high), _quote(doc, text, start, end), rule_id))
            covered.update(range(start, end))
        times.sort(key=lambda t: text.find(t.quote))
        by_start: dict[int, Number] = {n.start: n for n in numbers if n.start not in used}
        i = 0
        while i < len(norms):
            found_time = (
                None if i in taken else time_from_count(norms, i, by_start, self.quantities)
            )
            if found_time is None:
                i += 1
                continue
            window, end = found_time
            rule = f"time.{self.pipeline.language}.count"
            times.append(StatedTime(window, _quote(doc, text, i, end), rule))
            covered.update(range(i, end))
            i = end
        for number in numbers:
            covered.update(range(number.start, number.end))
        return temperatures, times


_READERS: dict[tuple[int, str], tuple[KnowledgeBase, Reader]] = {}


def reader_for(language: str, kb: KnowledgeBase) -> Reader:
    """The reader for ``language``, built on first use and kept for the process."""
    key = (id(kb), language)
    cached = _READERS.get(key)
    if cached is not None and cached[0] is kb:
        return cached[1]
    from needlewise.nlp.pipeline import build

    reader = Reader(build(language, kb), kb)
    _READERS[key] = (kb, reader)
    return reader
