"""Load the gettext catalogs of one language (see :mod:`needlewise.translations`)."""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from needlewise.languages import LANGUAGES

LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LANGUAGE = LANGUAGES[0]


def catalog_files(language: str) -> list[Path]:
    """The ``.po`` files of ``language``, in a stable order."""
    return sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po"))


@cache
def translations_for(language: str) -> NullTranslations:
    """Every catalog of ``language`` merged (English: the messages as written).

    Built on first use per language and kept for the process. A fuzzy or empty entry
    is not used (the English shows), and the completeness test fails on it.
    """
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    merged: Translations | None = None
    for path in catalog_files(language):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language, domain=path.stem)
        buffer = BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        part = Translations(buffer, domain="messages")
        if merged is None:
            merged = part
        else:
            merged.merge(part)
    if merged is None:
        raise LookupError(f"no catalog for the language {language!r} in {LOCALE_DIR}")
    return merged
