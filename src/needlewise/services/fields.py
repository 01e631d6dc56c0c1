"""Text field types for input models: names and one-line labels that cannot break out of
their line, reorder the text around them, or hide text (issue 9).

``Name`` (a patient's, user's, provider's or clinic's name, the name a signer types, the
signer's and the interpreter's names) and ``Label`` (other one-line text people read:
phone numbers, licence numbers, the interpreter's language, override and withdrawal
reasons) are stripped of surrounding spaces, and refuse:

* every control character — C0 (so also newline, carriage return and tab), DEL and C1
  (U+0080 to U+009F, e.g. U+0085 "next line");
* the line and paragraph separators U+2028 and U+2029;
* Unicode bidirectional embeddings, overrides and isolates (U+202A to U+202E,
  U+2066 to U+2069), which make a viewer show text in another order than it is stored;
* every other invisible format character (Unicode category Cf: zero-width space, the
  left-to-right and right-to-left marks, word joiner, byte-order mark, soft hyphen,
  invisible "tag" characters …) — except the zero-width non-joiner and joiner (U+200C,
  U+200D), which Persian, Indic scripts and emoji sequences need — and the invisible
  Hangul fillers (U+115F, U+1160, U+3164, U+FFA0) often used to fake a blank name;
* lone surrogates.

A refusal is a 422 naming the field (``$.typed_name``) and the character's code point and
position, never the value. Use them with ``Field(min_length=1, max_length=…)`` at the use
site (lengths count after stripping).

:func:`one_line` is the other half, for output: it renders a stored value — possibly
written before these rules — so that it stays on its line and in its order, showing any
such character as ``[U+XXXX]``. The consent copies use it.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints
from pydantic_core import PydanticCustomError

#: joiners that real names need (Persian, Indic scripts, emoji sequences)
_ALLOWED_FORMAT = frozenset({"\u200c", "\u200d"})
#: letters that show as nothing (category Lo): used to make a name look blank
_INVISIBLE_FILLERS = frozenset({"\u115f", "\u1160", "\u3164", "\uffa0"})
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def refused(char: str) -> bool:
    """Is ``char`` one a name or a one-line label may not hold?"""
    if char in _INVISIBLE_FILLERS:
        return True
    return unicodedata.category(char) in _REFUSED_CATEGORIES and char not in _ALLOWED_FORMAT


def _kind(char: str) -> str:
    category = unicodedata.category(char)
    if char in _BIDI_CONTROLS:
        return "a bidirectional-text control"
    if category in ("Zl", "Zp") or char in "\n\r\x0b\x0c\x85":
        return "a line break"
    if category == "Cc":
        return "a control character"
    if category == "Cs":
        return "a lone surrogate"
    return "an invisible formatting character"


def check_one_line(value: str) -> str:
    """``value`` if it holds no refused character (see the module docstring); otherwise a
    validation error naming the first one by code point and position."""
    if value.isprintable() and not any(f in value for f in _INVISIBLE_FILLERS):
        return value  # the common case: nothing to look at character by character
    for position, char in enumerate(value, start=1):
        if refused(char):
            raise PydanticCustomError(
                "one_line_text",
                "must be one line of visible text: {kind} (U+{code}) at character "
                "{position} is not allowed",
                {"kind": _kind(char), "code": f"{ord(char):04X}", "position": position},
            )
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(check_one_line)]
"""A name: one line of visible text (see the module docstring)."""

Label = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(check_one_line)]
"""Other one-line text people read (phones, licence numbers, reasons): same rule as
``Name``."""


def one_line(value: str) -> str:
    """``value`` as one line in stored order: every character a ``Name`` refuses (line
    breaks, controls, bidi controls, invisible format characters) is shown as
    ``[U+XXXX]`` instead of acting. For rendering stored values in copies."""
    if value.isprintable() and not any(f in value for f in _INVISIBLE_FILLERS):
        return value
    return "".join(f"[U+{ord(c):04X}]" if refused(c) else c for c in value)
