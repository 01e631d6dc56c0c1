"""Use case: derive the billing line and checks for one needling session.

Input JSON::

    {"muscles": [{"muscle": "muscle.upper-trapezius", "laterality": "left"}, ...],
     "payer": "medicare", "language": "en"}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from needlewise.domain.coding import CodingResult, code_session
from needlewise.domain.facts import NeedledMuscle, SessionRecord
from needlewise.errors import InputError
from needlewise.knowledge.base import KnowledgeBase
from needlewise.languages import Language
from needlewise.services.documents import validate


class MuscleIn(BaseModel):
    """One needled muscle."""

    model_config = ConfigDict(extra="forbid")
    muscle: str = Field(description="Muscle id, e.g. muscle.upper-trapezius (or upper-trapezius)")
    laterality: Literal["left", "right", "bilateral", "midline"]


class SessionRequest(BaseModel):
    """What was needled in a session."""

    model_config = ConfigDict(extra="forbid")
    muscles: list[MuscleIn] = Field(min_length=1)
    payer: Literal["medicare", "commercial", "workers-comp", "military"] | None = None
    language: Language = "en"


def muscle_id(raw: str, kb: KnowledgeBase, where: str) -> str:
    """The knowledge-base id of a muscle given as ``muscle.x`` or ``x`` (``InputError`` at
    ``where`` when the knowledge base has no such muscle)."""
    found = raw if raw.startswith("muscle.") else f"muscle.{raw}"
    if kb.muscle(found) is None:
        raise InputError(f"unknown muscle {raw!r}; `needlewise kb show muscle` lists them", where)
    return found


def code_session_document(document: Any, kb: KnowledgeBase) -> CodingResult:
    """Code a session given as JSON. Raises ``InputError`` for unusable input."""
    request = validate(SessionRequest, document)
    muscles = [
        NeedledMuscle(muscle_id(item.muscle, kb, f"$.muscles[{i}].muscle"), item.laterality)
        for i, item in enumerate(request.muscles)
    ]
    treatment = SessionRecord(
        muscles=tuple(muscles), payer=request.payer, language=request.language
    )
    return code_session(treatment, kb)
