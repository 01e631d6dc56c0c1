"""The words of every message the worker sends: check-in invitations, their reminder,
clinic alerts and their repeats, in English and Spanish, as plain text.

Pure functions of the message's kind, language, ``params`` and links (and the knowledge
base, for symptom titles): no database, no clock. The wording is ours, plain and kind,
written for a 6th-grade reader (``tests/service/test_message_text.py`` measures it).

* A check-in invitation asks how the patient feels and gives the check-in link. When the
  session needled the chest wall, neck or shoulder girdle (``params["thoracic"]``) it
  also names the warning signs of a collapsed lung and says to call 911 first: the signs
  are the *titles* of the knowledge base's symptoms (``symptoms.yaml``), not new clinical
  wording here.
* Every patient message ends with the opt-out line and its link.
* A clinic alert names no patient and no symptom: only that a check-in needs a clinician,
  the disposition (``call-provider`` or ``emergency``) and a link to the today list. Its
  repeat says how many times it has now been sent.
* Subjects never hold patient data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from needlewise.knowledge.base import KnowledgeBase

#: the knowledge-base symptoms whose titles name the warning signs of a collapsed lung
#: (clinical-knowledge.md §2.6: breathlessness and chest pain, at once or up to ~2 days)
LUNG_WARNING_SYMPTOMS = ("symptom.breathing-trouble", "symptom.chest-pain")

PATIENT_KINDS = ("check-in", "check-in-reminder")
CLINIC_KINDS = ("clinic-alert", "clinic-realert")


@dataclass(frozen=True)
class MessageLinks:
    """The links a message may carry (each absolute, ``settings.public_url`` first)."""

    check_in: str | None = None
    stop: str | None = None
    today: str | None = None


@dataclass(frozen=True)
class MessageText:
    """One message, ready to send."""

    subject: str
    body: str


_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "invite_subject": "How are you feeling after your treatment?",
        "invite": (
            "How are you feeling after your treatment?\nAnswer a few short questions here:\n{link}"
        ),
        "remind_subject": "Reminder: how are you feeling?",
        "remind": (
            "We have not heard from you yet. How are you feeling after your treatment?\n"
            "It takes a few minutes. Answer here:\n{link}"
        ),
        "lung": (
            "Call 911 first if you have any of these. They can be signs of a collapsed "
            "lung:\n{signs}\nDo not wait to answer the questions."
        ),
        "stop": "Do you want no more of these messages? Tap here:\n{link}",
        "thanks": "Thank you. Your care team",
        "alert_subject": "A check-in needs a clinician",
        "realert_subject": "Still not acknowledged: a check-in needs a clinician",
        "alert": (
            "A patient's check-in needs a clinician: {disposition}.\n"
            "Open the today list and acknowledge it:\n{link}"
        ),
        "realert": (
            "A patient's check-in needs a clinician: {disposition}.\n"
            "It is still not acknowledged. This is alert {n}.\n"
            "Open the today list and acknowledge it:\n{link}"
        ),
        "alert_note": "This email names no patient. The details are in needlewise.",
    },
    "es": {
        "invite_subject": "¿Cómo se siente después de su tratamiento?",
        "invite": (
            "¿Cómo se siente después de su tratamiento?\n"
            "Conteste unas preguntas cortas aquí:\n{link}"
        ),
        "remind_subject": "Recordatorio: ¿cómo se siente?",
        "remind": (
            "Aún no sabemos de usted. ¿Cómo se siente después de su tratamiento?\n"
            "Le toma unos minutos. Conteste aquí:\n{link}"
        ),
        "lung": (
            "Llame primero al 911 si tiene algo de esto. Puede ser una señal de un pulmón "
            "caído:\n{signs}\nNo espere para contestar las preguntas."
        ),
        "stop": "¿No quiere más mensajes como este? Toque aquí:\n{link}",
        "thanks": "Gracias. Su equipo de salud",
        "alert_subject": "Un seguimiento necesita a un clínico",
        "realert_subject": "Aún sin confirmar: un seguimiento necesita a un clínico",
        "alert": (
            "El seguimiento de un paciente necesita a un clínico: {disposition}.\n"
            "Abra la lista de hoy y confírmelo:\n{link}"
        ),
        "realert": (
            "El seguimiento de un paciente necesita a un clínico: {disposition}.\n"
            "Aún no está confirmado. Este es el aviso {n}.\n"
            "Abra la lista de hoy y confírmelo:\n{link}"
        ),
        "alert_note": "Este correo no nombra al paciente. Los detalles están en needlewise.",
    },
}


def _words(language: str) -> dict[str, str]:
    return _WORDS["es" if language == "es" else "en"]


def lung_warning_signs(kb: KnowledgeBase, language: str) -> list[str]:
    """The titles of the collapsed-lung warning symptoms, from the knowledge base."""
    titles = []
    for symptom_id in LUNG_WARNING_SYMPTOMS:
        symptom = kb.symptom(symptom_id)
        if symptom is not None:
            titles.append(symptom.title.get(language))
    return titles


def patient_text(
    kind: str, language: str, params: dict[str, Any], links: MessageLinks, kb: KnowledgeBase
) -> MessageText:
    """A check-in invitation or its reminder (``kind``) in ``language``."""
    words = _words(language)
    reminder = kind == "check-in-reminder"
    parts = [(words["remind"] if reminder else words["invite"]).format(link=links.check_in)]
    if params.get("thoracic"):
        signs = "\n".join(f"- {title}" for title in lung_warning_signs(kb, language))
        parts.insert(0, words["lung"].format(signs=signs))
    parts.append(words["thanks"])
    if links.stop:
        parts.append(words["stop"].format(link=links.stop))
    subject = words["remind_subject" if reminder else "invite_subject"]
    return MessageText(subject=subject, body="\n\n".join(parts) + "\n")


def clinic_text(language: str, params: dict[str, Any], links: MessageLinks) -> MessageText:
    """A clinic alert (``params["repeat"]`` 0 or absent) or its repeat (1, 2, ...)."""
    words = _words(language)
    disposition = str(params.get("disposition") or "call-provider")
    repeat = int(params.get("repeat") or 0)
    if repeat > 0:
        body = words["realert"].format(disposition=disposition, n=repeat + 1, link=links.today)
        subject = words["realert_subject"]
    else:
        body = words["alert"].format(disposition=disposition, link=links.today)
        subject = words["alert_subject"]
    return MessageText(subject=subject, body=f"{body}\n\n{words['alert_note']}\n")


def render(
    kind: str, language: str, params: dict[str, Any], links: MessageLinks, kb: KnowledgeBase
) -> MessageText:
    """The text of a message of ``kind`` (one of the four kinds of ``outbound_messages``)."""
    if kind in PATIENT_KINDS:
        return patient_text(kind, language, params, links, kb)
    if kind in CLINIC_KINDS:
        return clinic_text(language, params, links)
    raise ValueError(f"unknown message kind {kind!r}")
