"""Words of the pages, PDFs and messages in every language: gettext catalogs (Babel).

English is the source language (the ``msgid`` of every message). Each other language of
:data:`needlewise.languages.LANGUAGES` has its catalogs in
``translations/locale/<code>/LC_MESSAGES/*.po`` — one file per area (``common``,
``learn``, ``patient``, ``clinic``, ``admin``), merged into one catalog at start-up:
:func:`translations_for`. The ``.po`` files are read directly (no compiled ``.mo`` is
kept in the repository). ``tests/test_translations.py`` extracts every message from the
templates and page modules and fails when a listed language lacks one.

Adding a language: ``docs/languages.md``.
"""


def N_(message: str) -> str:
    """Mark ``message`` for extraction where it is translated later (``_(title)`` in a
    template): returns it unchanged."""
    return message
