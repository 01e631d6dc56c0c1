"""Sources (full citations) and the knowledge base's version."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import StringConstraints

from needlewise.knowledge.schema.common import Evidence, NonEmpty, SourceId, Strict
from needlewise.languages import Language

# ------------------------------------------------------------------ sources and meta


class Source(Strict):
    """A full citation. ``evidence`` is the tag of the copy the facts were read in."""

    id: SourceId
    citation: NonEmpty
    url: str | None = None
    evidence: Evidence
    note: str | None = None


class Meta(Strict):
    """Version of the knowledge base (the content hash is computed at load)."""

    version: Annotated[str, StringConstraints(pattern=r"^\d{4}\.\d{1,2}\.\d+$")]
    released: date
    languages: list[Language]
    canonical_base: NonEmpty
