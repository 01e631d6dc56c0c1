"""Strict models for the clinical knowledge base.

Every item in ``knowledge/data/*.yaml`` is validated against these models when the
knowledge base loads. Unknown keys are rejected (``extra="forbid"``), ids follow a
stable dotted pattern (``contraindication.needle-fear``), every item names its
sources (resolved against ``sources.yaml``), carries a ``reviewed`` date and an
evidence tag that mirrors the tags of ``clinical-knowledge.md``:

* ``verified``   [V] read in a primary or authoritative source
* ``secondary``  [S] read only in a secondary source
* ``unverified`` [U] could not be confirmed; kept only to make the gap visible
* ``design``     [D] a design choice derived from the facts; needs clinical sign-off

All patient and clinician wording is a :class:`Text` with English and Spanish.
"""

from __future__ import annotations

from needlewise.knowledge.schema.aftercare import *  # noqa: F403
from needlewise.knowledge.schema.clinic import *  # noqa: F403
from needlewise.knowledge.schema.clinical import *  # noqa: F403
from needlewise.knowledge.schema.common import *  # noqa: F403
from needlewise.knowledge.schema.consent import *  # noqa: F403
from needlewise.knowledge.schema.language import *  # noqa: F403
from needlewise.knowledge.schema.meta import *  # noqa: F403
from needlewise.knowledge.schema.reference import *  # noqa: F403
