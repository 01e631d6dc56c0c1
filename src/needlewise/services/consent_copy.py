"""The patient's copy of a signed consent, as data: the signed text, then who signed and
when, any interpreter, and the withdrawal if there was one.

:func:`patient_copy` builds it from what was stored (:class:`SignedCopy`) with the
labels of the consent template in the language signed. Every value is passed through
:func:`~needlewise.services.fields.one_line`, so a stored value (even one written before
names were checked) cannot start a line or reorder one. :func:`copy_as_text` is the copy
as plain text (what a patient link gets back when signing, and ``GET
/api/consents/{id}/copy``); a door renders its own format (the API's HTML page) from
the same data.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Text
from needlewise.services.fields import one_line


class SignedCopy(BaseModel):
    """What the patient's copy shows besides the signed text (read from the stored
    consent)."""

    language: str
    text: str
    text_version: str
    text_sha256: str
    typed_name: str
    signer_role: str
    signer_name: str
    signed_at: datetime
    interpreter_name: str | None
    interpreter_language: str | None
    withdrawn_at: datetime | None
    withdrawal_reason: str | None


class CopyLine(BaseModel):
    """One line under the copy's heading: a label and its value (one line, no breaks)."""

    label: str
    value: str


class PatientCopy(BaseModel):
    """The patient's copy, ready to show in the language signed."""

    language: str
    text: str  # the signed text, exactly as stored
    heading: str  # the heading above the signature lines
    lines: list[CopyLine]
    in_force: str | None  # "not withdrawn" in words while the consent is in force


def patient_copy(kb: KnowledgeBase, copy: SignedCopy) -> PatientCopy:
    """The copy of ``copy`` with the template's labels in its language."""
    labels = kb.data.consent.copy_labels
    lang = copy.language
    role = getattr(labels.roles, copy.signer_role, None)
    role_text = role.get(lang) if isinstance(role, Text) else copy.signer_role
    interpreter = labels.no_interpreter.get(lang)
    if copy.interpreter_name:
        interpreter = copy.interpreter_name
        if copy.interpreter_language:
            interpreter += f" ({copy.interpreter_language})"
    rows = [
        (labels.signed_by.get(lang), f"{copy.signer_name} ({role_text})"),
        (labels.typed_name.get(lang), copy.typed_name),
        (labels.signed_on.get(lang), copy.signed_at.strftime("%Y-%m-%d %H:%M")),
        (labels.interpreter.get(lang), interpreter),
        (labels.text_version.get(lang), copy.text_version),
        (labels.fingerprint.get(lang), copy.text_sha256),
    ]
    if copy.withdrawn_at is not None:
        rows.append((labels.withdrawn_on.get(lang), copy.withdrawn_at.strftime("%Y-%m-%d %H:%M")))
        rows.append((labels.reason.get(lang), copy.withdrawal_reason or ""))
    return PatientCopy(
        language=lang,
        text=copy.text,
        heading=labels.heading.get(lang),
        lines=[CopyLine(label=label, value=one_line(value)) for label, value in rows],
        in_force=labels.not_withdrawn.get(lang) if copy.withdrawn_at is None else None,
    )


def copy_as_text(copy: PatientCopy) -> str:
    """The patient's copy as plain text: the signed text, then who signed and when, one
    line each (no stored value can add a line)."""
    lines = [copy.text.rstrip("\n"), "", "----", copy.heading]
    lines += [f"{line.label}: {line.value}" for line in copy.lines]
    if copy.in_force is not None:
        lines.append(copy.in_force)
    return "\n".join(lines) + "\n"
