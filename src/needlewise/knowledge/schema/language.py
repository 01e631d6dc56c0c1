"""What a patient may write, per language: lay vocabulary, context rules, numbers, time.

One file per supported language (``knowledge/data/language/<code>.yaml``) holds
everything the free-text reader needs for that language, so adding a language is adding
a file (see ``docs/knowledge.md``). Every pattern and rule has a stable id, is written in
the compact syntax of :mod:`~needlewise.knowledge.schema.pattern_syntax`, and carries
examples that the test suite runs through the real pipeline.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from needlewise.knowledge.schema.common import NonEmpty, Provenance, Strict, SymptomId
from needlewise.knowledge.schema.pattern_syntax import (
    PatternSyntaxError,
    class_names,
    fold,
    parse_class_value,
    parse_form,
)
from needlewise.languages import Language

Form = Annotated[str, StringConstraints(min_length=1)]


def _check_forms(forms: list[str]) -> list[str]:
    for form in forms:
        try:
            parse_form(form)
        except PatternSyntaxError as exc:
            raise ValueError(f"form {form!r}: {exc}") from None
    return forms


def _words(values: list[str]) -> list[str]:
    """Folded single words (lists of plain words: function words, fillers …)."""
    out = []
    for value in values:
        word = fold(value)
        if not word or " " in word:
            raise ValueError(f"{value!r} must be one word")
        out.append(word)
    return out


class LayPattern(Strict):
    """One way of saying a concept, with examples that must match it.

    ``narrows`` names concepts whose generic wording this pattern says more precisely:
    "my back hurts when I breathe in" is back pain on breathing, not the chest pain that
    "hurts when I breathe in" alone would be. A match of a named concept that lies wholly
    inside this pattern's match is dropped; anywhere else in the message it still counts.
    Because that can lower a tier, a pattern that narrows must say why in its ``note``
    (the clinical reason the narrower concept is the right reading).
    """

    id: Annotated[str, StringConstraints(pattern=r"^lay\.[a-z]{2}\.[a-z0-9-]+\.[a-z0-9-]+$")]
    match: list[Form] = Field(min_length=1)
    examples: list[NonEmpty] = Field(min_length=1)
    narrows: list[SymptomId] = []
    note: str | None = None

    _forms = field_validator("match")(_check_forms)

    @model_validator(mode="after")
    def _narrowing_says_why(self) -> LayPattern:
        if self.narrows and not self.note:
            raise ValueError("a pattern that narrows another concept needs a note saying why")
        return self


class NoComplaintsPattern(LayPattern):
    """A way of saying there is nothing to report ("I feel fine", "todo bien")."""

    #: it says the patient is fine *now* ("I'm ok now"), so a symptom told in the past
    #: before it has passed; false for "nothing else", "nada nuevo"
    says_fine: bool = True


ContextCategory = Literal[
    "negated",
    "uncertain",
    "resolved",
    "hypothetical",
    "again",
    "ongoing",
    "historical",
    "pseudo",
    "break",
    "join",
]


class ContextExample(Strict):
    """A message, a concept in it, and what the rule must make of that concept."""

    text: NonEmpty
    concept: SymptomId | Literal["no-complaints"]
    status: Literal["present", "uncertain", "negated", "resolved", "hypothetical"]


class ContextRule(Strict):
    """A ConText modifier: words that change what a nearby concept means.

    Categories: ``negated`` (a denial: the concept is absent), ``uncertain`` (a hedge:
    counted as present), ``resolved`` (the patient says it has passed), ``hypothetical``
    (a question about the future), ``again`` (it happened before), ``ongoing`` ("still",
    "todavía": it is there now, so neither a question nor "has passed"), ``historical``
    ("last night", "anoche": said in the past; with a later "but I'm fine now" it has
    passed, alone it changes nothing), ``pseudo`` (words
    that look like a modifier and are not one: "won't go away", "never felt this",
    "no se quita"; as the longest match they keep their "not" from denying anything),
    ``break`` (ends the reach of every modifier: commas, "but", "pero"), ``join`` ("and",
    "y": ends the reach of denials and hedges, not of questions).

    ``direction`` is where the concept stands (``forward``: after the words); the reach
    ends at the end of the sentence, at ``max_scope`` words, or at a break.
    ``nearest_only`` modifies only the nearest concept. ``not_for_negatives`` keeps a
    rule such as "anymore" off a concept that is itself said as a negative: "not dizzy
    anymore" has passed, "I can't breathe anymore" has not.
    """

    id: Annotated[str, StringConstraints(pattern=r"^context\.[a-z]{2}\.[a-z0-9-]+$")]
    category: ContextCategory
    direction: Literal["forward", "backward", "both"] = "forward"
    match: list[Form] = Field(min_length=1)
    max_scope: int | None = Field(default=None, ge=1, le=20)
    nearest_only: bool = False
    not_for_negatives: bool = False
    examples: list[ContextExample] = []
    note: str | None = None

    _forms = field_validator("match")(_check_forms)

    @model_validator(mode="after")
    def _examples_for_modifiers(self) -> ContextRule:
        if self.category not in ("break", "join", "pseudo") and not self.examples:
            raise ValueError("a modifier rule needs at least one example")
        return self


class Idiom(Strict):
    """A phrase whose words look like a symptom and are not ("me muero de sueño").

    Any concept found inside the phrase is dropped; ``means`` is what the phrase says
    instead, if anything ("me muero de sueño" is tiredness).
    """

    id: Annotated[str, StringConstraints(pattern=r"^idiom\.[a-z]{2}\.[a-z0-9-]+$")]
    match: list[Form] = Field(min_length=1)
    means: SymptomId | None = None
    examples: list[NonEmpty] = Field(min_length=1)

    _forms = field_validator("match")(_check_forms)


class TimePhrase(Strict):
    """A fixed time expression ("since yesterday") and the hours it may mean."""

    id: Annotated[str, StringConstraints(pattern=r"^time\.[a-z]{2}\.[a-z0-9-]+$")]
    match: list[Form] = Field(min_length=1)
    hours: tuple[float, float]
    examples: list[NonEmpty] = Field(min_length=1)

    _forms = field_validator("match")(_check_forms)

    @model_validator(mode="after")
    def _ordered(self) -> TimePhrase:
        low, high = self.hours
        if not 0 <= low < high:
            raise ValueError("hours must be [low, high] with 0 <= low < high")
        return self


class TimeWords(Strict):
    """Durations: unit words in hours, count words, and fixed phrases."""

    units: dict[str, float] = Field(min_length=1)
    counts: dict[str, tuple[int, int]] = {}
    skip: list[str] = []
    phrases: list[TimePhrase] = []

    @field_validator("units", "counts", mode="before")
    @classmethod
    def _fold_keys(cls, value: object) -> object:
        if isinstance(value, dict):
            return {fold(str(k)): v for k, v in value.items()}
        return value

    _skip = field_validator("skip")(_words)


class NumberWords(Strict):
    """Numbers written in words ("a hundred and one", "treinta y ocho y medio")."""

    values: dict[str, int] = Field(min_length=10)
    hundreds: list[str] = Field(min_length=1)
    join: list[str] = []
    point: list[str] = []
    half: list[Form] = []
    article: list[str] = []

    @field_validator("values", mode="before")
    @classmethod
    def _fold_keys(cls, value: object) -> object:
        if isinstance(value, dict):
            return {fold(str(k)): v for k, v in value.items()}
        return value

    _lists = field_validator("hundreds", "join", "point", "article")(_words)
    _forms = field_validator("half")(_check_forms)


class TemperatureWords(Strict):
    """Words that make a number a temperature, and unit words."""

    words: list[str] = Field(min_length=1)
    celsius: list[str] = Field(min_length=1)
    fahrenheit: list[str] = Field(min_length=1)
    degrees: list[str] = Field(min_length=1)
    not_units: list[str] = []

    _lists = field_validator("words", "celsius", "fahrenheit", "degrees", "not_units")(_words)


class LanguageData(Provenance):
    """Everything the free-text reader needs for one language."""

    language: Language
    name: NonEmpty
    function_words: list[str] = Field(min_length=20)
    filler: list[str] = []
    #: verbs in the past tense that say a symptom was there before ("felt", "tuve")
    past_words: list[str] = []
    known_words: list[str] = []
    norms: dict[str, str] = {}
    negation_bridge: list[str] = []
    classes: dict[str, list[NonEmpty]] = {}
    context: list[ContextRule] = Field(min_length=1)
    no_complaints: list[NoComplaintsPattern] = Field(min_length=1)
    pleasantries: list[LayPattern] = []
    idioms: list[Idiom] = []
    concepts: dict[SymptomId, list[LayPattern]] = Field(min_length=1)
    numbers: NumberWords
    temperature: TemperatureWords
    time: TimeWords

    _lists = field_validator(
        "function_words", "filler", "past_words", "known_words", "negation_bridge"
    )(_words)

    @field_validator("norms", mode="before")
    @classmethod
    def _fold_norms(cls, value: object) -> object:
        if isinstance(value, dict):
            return {fold(str(k)): fold(str(v)) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _references(self) -> LanguageData:
        problems: list[str] = []
        for name, values in self.classes.items():
            for value in values:
                try:
                    items = parse_class_value(value)
                except PatternSyntaxError as exc:
                    problems.append(f"class {name}: {exc}")
                    continue
                for item in items:
                    if item.class_name is not None and item.class_name not in self.classes:
                        problems.append(f"class {name}: unknown class @{item.class_name}")
        prefix = f".{self.language}."
        rules: list[tuple[str, list[str]]] = [(r.id, r.match) for r in self.context]
        rules += [(p.id, p.match) for p in self.no_complaints]
        rules += [(p.id, p.match) for p in self.pleasantries]
        rules += [(i.id, i.match) for i in self.idioms]
        rules += [(p.id, p.match) for ps in self.concepts.values() for p in ps]
        rules += [(t.id, t.match) for t in self.time.phrases]
        for rule_id, forms in rules:
            if prefix not in rule_id:
                problems.append(f"{rule_id}: ids in this file contain '{prefix}'")
            for form in forms:
                for name in class_names(parse_form(form)):
                    if name not in self.classes:
                        problems.append(f"{rule_id}: unknown class @{name} in {form!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class OtherLanguage(Strict):
    """A language we do not support, recognised by words only it uses."""

    code: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[a-z]{4})?$")]
    name: NonEmpty
    markers: list[str] = Field(min_length=5)
    #: letters only this language uses among those we read (a word with one is a marker)
    letters: str = ""

    _lists = field_validator("markers")(_words)


class UnsupportedLanguages(Provenance):
    """Languages a message may be written in that we cannot read yet."""

    languages: list[OtherLanguage] = Field(min_length=1)
    #: minimum number of marker words that make a message "in another language"
    min_markers: int = Field(default=2, ge=1)
