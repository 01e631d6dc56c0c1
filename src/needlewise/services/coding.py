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
    language: Literal["en", "es"] = "en"


def code_session_document(document: Any, kb: KnowledgeBase) -> CodingResult:
    """Code a session given as JSON. Raises ``InputError`` for unusable input."""
    request = validate(SessionRequest, document)
    muscles = []
    for i, item in enumerate(request.muscles):
        muscle_id = item.muscle if item.muscle.startswith("muscle.") else f"muscle.{item.muscle}"
        if kb.muscle(muscle_id) is None:
            raise InputError(
                f"unknown muscle {item.muscle!r}; `needlewise kb show muscle` lists them",
                f"$.muscles[{i}].muscle",
            )
        muscles.append(NeedledMuscle(muscle_id, item.laterality))
    session = SessionRecord(muscles=tuple(muscles), payer=request.payer, language=request.language)
    return code_session(session, kb)
