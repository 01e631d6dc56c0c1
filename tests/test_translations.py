"""Every message of the pages is translated into every listed language.

The messages are extracted from the templates and page modules with Babel, exactly as
``make messages`` does (``babel.cfg``); each language of ``needlewise.languages`` other
than English (the source) must translate every one of them, with every plural form its
catalog's plural rule has (Spanish has three in Babel: ``msgstr[2]`` too). A message
marked fuzzy does not count: gettext does not use it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from needlewise.languages import LANGUAGES
from needlewise.translations.catalogs import catalog_files, translations_for

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extracted() -> dict[str, list[str]]:
    """{message id: [where it is used]} from the code, as babel.cfg maps it."""
    method_map = [
        ("src/needlewise/web/pages/**.py", "python"),
        ("src/needlewise/services/**.py", "python"),
        ("src/needlewise/web/templates/**.html", "jinja2"),
    ]
    options = {"src/needlewise/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found: dict[str, list[str]] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options, keywords=KEYWORDS
    ):
        ids = message if isinstance(message, tuple) else (message,)
        for msgid in ids:
            if msgid:
                found.setdefault(msgid, []).append(filename)
    return found


def test_messages_are_found() -> None:
    """The extraction itself works (a broken babel.cfg would make the next test vacuous)."""
    messages = extracted()
    assert "Skip to the main content" in messages
    assert len(messages) > 20


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != LANGUAGES[0]])
def test_every_message_is_translated(language: str) -> None:
    translated: dict[str, object] = {}
    plurals: dict[str, int] = {}
    for path in catalog_files(language):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for message in catalog:
            if not message.id or message.fuzzy:
                continue
            key = str(message.id[0] if isinstance(message.id, (tuple, list)) else message.id)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if all(strings) and len(strings) >= (
                catalog.num_plurals if message.pluralizable else 1
            ):
                translated[key] = strings
            plurals[key] = catalog.num_plurals
    missing = {msgid: where for msgid, where in extracted().items() if msgid not in translated}
    lines = [f"{msgid!r} (in {', '.join(sorted(set(where)))})" for msgid, where in missing.items()]
    assert not missing, f"{len(missing)} message(s) lack a {language} translation:\n" + "\n".join(
        lines
    )


def test_catalogs_load_and_translate() -> None:
    """The merged catalogs really answer (a message of each file, through gettext)."""
    for language in LANGUAGES[1:]:
        gettext = translations_for(language).gettext
        assert gettext("Skip to the main content") != "Skip to the main content"


def test_catalog_placeholders_match() -> None:
    """A translation keeps the placeholders of its message (else rendering fails or lies)."""
    import re

    pattern = re.compile(r"%\((\w+)\)s")
    for language in LANGUAGES[1:]:
        for path in catalog_files(language):
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
            for message in catalog:
                if not message.id:
                    continue
                ids = [
                    str(i)
                    for i in (message.id if isinstance(message.id, (tuple, list)) else [message.id])
                ]
                strings = (
                    message.string
                    if isinstance(message.string, (tuple, list))
                    else [message.string]
                )
                wanted = set(pattern.findall(ids[-1]))
                for text in strings:
                    if text:
                        assert set(pattern.findall(str(text))) == wanted, (path.name, ids[0], text)


def test_a_message_in_two_catalog_files_has_one_translation() -> None:
    """The files of a language are merged into one catalog: a message translated in two
    of them with two meanings ("Back": the body's, or the previous step) would show one
    of them everywhere. Give such messages distinct English words instead."""
    for language in LANGUAGES[1:]:
        seen: dict[str, tuple[str, object]] = {}
        for path in catalog_files(language):
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
            for message in catalog:
                if not message.id:
                    continue
                key = str(message.id[0] if isinstance(message.id, (tuple, list)) else message.id)
                if key in seen:
                    first, translation = seen[key]
                    assert translation == message.string, (key, first, path.name)
                else:
                    seen[key] = (path.name, message.string)
