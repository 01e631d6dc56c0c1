"""One ``Language`` type: the knowledge base, the API and the CLI offer the same languages.

Adding a language is one edit (:data:`needlewise.languages.Language`) plus its data; these
tests fail when a door or the knowledge base is left behind.
"""

from __future__ import annotations

from typing import Any, get_args

import click
from click.testing import CliRunner

from needlewise.cli import main
from needlewise.knowledge.base import KnowledgeBase
from needlewise.languages import LANGUAGES, Language
from support.service import Service


def test_the_type_and_the_tuple_agree() -> None:
    assert get_args(Language) == LANGUAGES
    assert LANGUAGES[0] == "en"  # the default everywhere


def test_the_knowledge_base_speaks_every_language(kb_core: KnowledgeBase) -> None:
    assert tuple(kb_core.data.meta.languages) == LANGUAGES


def test_the_cli_offers_every_language() -> None:
    context = click.Context(main)
    choices = []
    for name in main.list_commands(context):
        command = main.get_command(context, name)
        assert command is not None
        choices += [p.type for p in command.params if p.name == "lang"]
    assert choices, "no command takes --lang"
    assert all(isinstance(c, click.Choice) and tuple(c.choices) == LANGUAGES for c in choices)
    refused = CliRunner().invoke(main, ["screen", "--lang", "xx", "-"], input="{}")
    assert refused.exit_code == 2
    assert "'xx' is not one of" in refused.output


def test_every_language_parameter_of_the_api_offers_every_language(service: Service) -> None:
    document: dict[str, Any] = service.app.openapi()
    found = []
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] != "language":
                    continue
                schema = parameter["schema"]
                options = schema.get("anyOf", [schema])
                enums = [tuple(o["enum"]) for o in options if "enum" in o]
                found.append((path, enums))
    assert found, "no language parameter in the API"
    assert all(enums == [LANGUAGES] for _path, enums in found), found
