"""The languages needlewise speaks: one type, used by every door, use case and schema.

Adding a language is this one edit (add its code to :data:`Language`) plus its data: the
knowledge base's translations (``knowledge/data/language/<code>.yaml`` and every ``Text``
in the data files, which the loader then requires) — see ``docs/knowledge.md``. The API's
query parameters, the CLI's ``--lang`` and the stored records all take their choices from
here, so nothing else needs to change.
"""

from __future__ import annotations

from typing import Literal, get_args

#: A language code patients and staff can choose (ISO 639-1).
Language = Literal["en", "es"]
#: Every :data:`Language`, in the order they are offered (the first is the default).
LANGUAGES: tuple[Language, ...] = get_args(Language)

#: Each language's own name for itself, as a language menu shows it.
NATIVE_NAMES: dict[Language, str] = {"en": "English", "es": "Español"}


def as_language(value: object) -> Language | None:
    """``value`` if it is the code of a listed language, else ``None``."""
    return next((code for code in LANGUAGES if code == value), None)
