"""The patient's copy of a signed consent as a standalone HTML page (to print or e-mail).

The use case returns the copy as data (:class:`~needlewise.services.consent_copy.PatientCopy`);
this renders it with the Jinja2 template ``templates/consent_copy.html``, autoescaped, so
no stored value (a typed name, a withdrawal reason) can add markup. The signed text's
first paragraph is the page title; each further paragraph keeps its line breaks.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from needlewise.services.consent_copy import PatientCopy


@cache
def _template() -> Template:
    """Built on first use, never at import time."""
    environment = Environment(
        loader=PackageLoader("needlewise.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=True,
    )
    return environment.get_template("consent_copy.html")


def copy_as_html(copy: PatientCopy) -> str:
    """The copy as an HTML page in the language signed (every value escaped)."""
    blocks = [block for block in copy.text.strip("\n").split("\n\n") if block]
    return _template().render(
        language=copy.language,
        title=blocks[0] if blocks else "",
        paragraphs=[block.split("\n") for block in blocks[1:]],
        heading=copy.heading,
        lines=copy.lines,
        in_force=copy.in_force,
    )
