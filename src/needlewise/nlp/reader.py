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
  function words (:func:`needlewise.nlp.context_rules.negation_check`), and never for a
  concept whose own words are a negative ("can't breathe", "no puedo respirar");
* otherwise **present**.

A message is *understood* when something in it counts as a finding (a mention that is
not a plain denial, or a temperature), or when every word in it is accounted for
(function words, fillers, denials, "no complaints" phrases, pleasantries …) and
something was recognised. Words of a language we do not support are counted; two or
more (or any word in a non-Latin script) name that language.

The mentions are read by :mod:`needlewise.nlp.mentions`, the words left over by
:mod:`needlewise.nlp.unknown_words`, temperatures and times by
:mod:`needlewise.nlp.quantities`; this module puts them together.
"""

from __future__ import annotations

from needlewise.domain.facts import FreeTextReading, HoursWindow, StatedTime, TextTemperature
from needlewise.knowledge.base import KnowledgeBase
from needlewise.nlp.mentions import CATEGORY_NAMES, edges, mentions, passed_when_fine_after
from needlewise.nlp.pipeline import NO_COMPLAINTS, TARGETS, Pipeline
from needlewise.nlp.quantities import (
    Number,
    QuantityTables,
    find_numbers,
    temperature_at,
    time_from_count,
)
from needlewise.nlp.spacy_env import Doc
from needlewise.nlp.unknown_words import markers_of, unknown_words


def _quote(doc: Doc, text: str, start: int, end: int) -> str:
    """The patient's words for tokens ``start``..``end``, as written."""
    span = doc[start:end]
    return text[span.start_char : span.end_char]


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
        found = mentions(spans, pipeline.patterns, edges(doc, tables), text)
        graph = doc._.context_graph
        modifiers = list(graph.modifiers) if graph is not None else []
        says_fine = {pid: info.says_fine for pid, info in pipeline.patterns.items()}
        read = passed_when_fine_after(found, tables, says_fine, modifiers)

        covered: set[int] = set()
        for span in spans:
            covered.update(range(span.start, span.end))
        for modifier in modifiers:
            start, end = modifier.modifier_span
            covered.update(range(start, end))
        temperatures, times = self._quantities(doc, text, covered)
        unknown, other_language = unknown_words(doc, covered, tables, self.markers)

        finding = bool(temperatures) or any(
            m.status != "negated" and m.concept != NO_COMPLAINTS for m in read
        )
        unsure_fine = any(m.concept == NO_COMPLAINTS and m.status != "present" for m in read)
        recognised = (
            bool(spans) or bool(times) or any(m.category in CATEGORY_NAMES for m in modifiers)
        )
        understood = finding or (unknown == 0 and not unsure_fine and recognised)
        return FreeTextReading(
            language=pipeline.language,
            mentions=tuple(read),
            temperatures=tuple(temperatures),
            times=tuple(times),
            understood=understood,
            unknown_words=unknown + (1 if unsure_fine else 0),
            other_language=other_language,
        )

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
