"""The compact syntax of lay-vocabulary patterns (``knowledge/data/language/*.yaml``).

A *form* is one way a patient may put a concept into words, written as words separated
by spaces. Matching ignores case and accents and works on whole words (tokens):

``short of breath``
    these three words, in this order.
``short|shortness of breath``
    ``|`` gives alternatives for one word.
``my? chest``
    ``?`` makes a word (or a group of alternatives) optional.
``should i call|go_in|come_in if``
    ``_`` joins words into one alternative ("go in", "come in").
``@lips``
    any word or phrase of the class ``lips`` defined in the same language file.
``~breathe``
    ``breathe``, or a misspelling of it (``brethe``, ``breath``): a word of 5 or more
    letters marked ``~`` is a target of the spelling corrector, which reads an unknown
    word within one edit (two for words of 10 or more letters) as the nearest target.
``lips ... blue``
    a gap of up to four words between two parts, never across punctuation, a word that
    ends a clause ("and", "but", "pero" …) or a denial ("not", "no"): "my lips look kind
    of blue", but not "my chest does not hurt".

This module only parses and checks the syntax (no spaCy): the knowledge base validates
every form when it loads; ``needlewise.nlp`` turns the parsed forms into matcher rules.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

GAP = "..."
GAP_MAX = 4  #: words a gap may span
FUZZY_MIN = 5  #: shortest word that may be marked ``~``

_WORD = re.compile(r"^(?:[a-z0-9'°º%./-]+(?:_[a-z0-9'°º%./-]+)*|[,;:&()\u2013\u2014-]+)$")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})


def fold(text: str) -> str:
    """Lower case, accents removed (``ñ`` read as ``n``), curly apostrophes made straight.

    The same folding is applied to every word of a message before matching, so a form
    written with or without accents matches text written either way.
    """
    lowered = text.casefold().translate(_APOSTROPHES)
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class Item:
    """One alternative of a slot: a word (``fuzzy`` when marked ``~``) or a class."""

    word: str | None = None
    fuzzy: bool = False
    class_name: str | None = None


@dataclass(frozen=True, slots=True)
class Slot:
    """One position of a form: alternatives, optional or not, or a gap."""

    items: tuple[Item, ...] = ()
    optional: bool = False
    gap: bool = False


class PatternSyntaxError(ValueError):
    """A form does not follow the compact syntax; the message says why."""


def parse_form(form: str) -> tuple[Slot, ...]:
    """Parse one form; raise :class:`PatternSyntaxError` naming the problem."""
    parts = form.split()
    if not parts:
        raise PatternSyntaxError("empty form")
    slots: list[Slot] = []
    for part in parts:
        if part == GAP:
            slots.append(Slot(gap=True))
            continue
        optional = part.endswith("?") and len(part) > 1
        body = part[:-1] if optional else part
        items: list[Item] = []
        for raw in body.split("|"):
            if not raw:
                raise PatternSyntaxError(f"empty alternative in {part!r}")
            if raw.startswith("@"):
                name = raw[1:]
                if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
                    raise PatternSyntaxError(f"bad class name {raw!r}")
                items.append(Item(class_name=name))
                continue
            fuzzy = raw.startswith("~")
            word = fold(raw[1:] if fuzzy else raw)
            if not _WORD.match(word):
                raise PatternSyntaxError(f"{raw!r} is not a single word")
            if fuzzy and "_" in word:
                raise PatternSyntaxError(f"{raw!r}: ~ marks one word, not a phrase")
            if fuzzy and sum(c.isalpha() for c in word) < FUZZY_MIN:
                raise PatternSyntaxError(
                    f"{raw!r}: only words of {FUZZY_MIN} or more letters may be marked ~"
                )
            items.append(Item(word=word, fuzzy=fuzzy))
        slots.append(Slot(items=tuple(items), optional=optional))
    if slots[0].gap or slots[-1].gap:
        raise PatternSyntaxError("a form cannot start or end with a gap (...)")
    if all(slot.optional for slot in slots):
        raise PatternSyntaxError("a form needs at least one word that is not optional")
    for before, after in itertools.pairwise(slots):
        if before.gap and after.gap:
            raise PatternSyntaxError("two gaps in a row")
    return tuple(slots)


def class_names(slots: tuple[Slot, ...]) -> set[str]:
    """Every class a parsed form refers to."""
    return {i.class_name for s in slots for i in s.items if i.class_name is not None}


def parse_class_value(value: str) -> tuple[Item, ...]:
    """A class value: one or more words (each may be ``~`` marked), or ``@other``."""
    items = []
    for raw in value.split():
        slot = parse_form(raw)[0]
        if len(slot.items) != 1 or slot.optional:
            raise PatternSyntaxError(f"class value {value!r}: no | or ? inside a class value")
        items.append(slot.items[0])
    if not items:
        raise PatternSyntaxError("empty class value")
    return tuple(items)
