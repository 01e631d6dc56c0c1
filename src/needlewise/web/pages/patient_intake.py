"""``/p/{token}/intake``: the health questions a patient answers before treatment.

The questions are the intake Questionnaire of the knowledge base, exactly as the JSON
twin serves it (:func:`needlewise.services.stored_screenings.intake_form`), in the
patient's language. Every question offers "Not sure". A follow-up question
(``enableWhen``, e.g. the first trimester after "pregnant") counts only when the answer
it follows opens it: without scripts it is on the page with a note saying when to answer
it, and its answer is ignored otherwise; with ``intake.js`` it shows only then, and the
questions come a few per screen.

The answers become a QuestionnaireResponse sent to
:func:`~needlewise.services.stored_screenings.submit_intake`, as ``POST
/api/p/{token}/intake`` does; the link is used up. The patient is thanked in calm words
and never sees the screening decision: the clinic reviews it. A required question left
unanswered shows the form again with the reason next to it (422), and nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse

from needlewise.languages import Language
from needlewise.services import stored_screenings
from needlewise.web.api.deps import IntakeLink, RuntimeDep
from needlewise.web.pages.form_guard import read_form
from needlewise.web.pages.patient_link import link_language
from needlewise.web.pages.rendering import render

router = APIRouter(include_in_schema=False)

#: questions per screen when ``intake.js`` runs (a phone screen's worth)
PER_SCREEN = 3


@dataclass
class Question:
    """One question of the Questionnaire, as the form shows it."""

    link_id: str
    number: str
    text: str
    help: str | None
    required: bool
    options: list[tuple[str, str]]  # (code, words)
    codings: dict[str, dict[str, Any]]  # code -> valueCoding
    follows: str | None = None  # the linkId it follows (enableWhen)
    follows_number: str | None = None
    opens_on: list[str] = field(default_factory=list)  # codes of that answer that open it
    opens_on_words: list[str] = field(default_factory=list)


def questions_of(questionnaire: dict[str, Any]) -> list[Question]:
    """The Questionnaire's questions (choice items), in order."""
    out: list[Question] = []
    numbers: dict[str, str] = {}
    words: dict[str, dict[str, str]] = {}
    for item in questionnaire.get("item", []):
        if item.get("type") != "choice":
            continue
        codings = {o["valueCoding"]["code"]: o["valueCoding"] for o in item["answerOption"]}
        helps = [i["text"] for i in item.get("item", []) if i.get("type") == "display"]
        question = Question(
            link_id=item["linkId"],
            number=str(item.get("prefix", "")).rstrip("."),
            text=item["text"],
            help=helps[0] if helps else None,
            required=bool(item.get("required")),
            options=[(code, c["display"]) for code, c in codings.items()],
            codings=codings,
        )
        conditions = item.get("enableWhen", [])
        if conditions:
            question.follows = conditions[0]["question"]
            question.follows_number = numbers.get(question.follows)
            question.opens_on = [c["answerCoding"]["code"] for c in conditions]
            question.opens_on_words = [
                words.get(question.follows, {}).get(code, code) for code in question.opens_on
            ]
        numbers[question.link_id] = question.number
        words[question.link_id] = {code: c["display"] for code, c in codings.items()}
        out.append(question)
    return out


def read_answers(
    questions: list[Question], form: FormData
) -> tuple[dict[str, str], dict[str, str]]:
    """(linkId -> code of each question that counts, linkId -> error) from the form."""
    answers: dict[str, str] = {}
    errors: dict[str, str] = {}
    for question in questions:
        if question.follows is not None and answers.get(question.follows) not in question.opens_on:
            continue  # not asked: its answer (if any) does not count
        sent = form.get(question.link_id)
        if sent is None or sent == "":
            if question.required:
                errors[question.link_id] = "missing"
            continue
        if not isinstance(sent, str) or sent not in question.codings:
            errors[question.link_id] = "unknown"
            continue
        answers[question.link_id] = sent
    return answers, errors


def response_of(
    questionnaire: dict[str, Any], questions: list[Question], answers: dict[str, str]
) -> dict[str, Any]:
    """The QuestionnaireResponse of ``answers`` (what the JSON twin receives)."""
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "questionnaire": f"{questionnaire['url']}|{questionnaire['version']}",
        "item": [
            {
                "linkId": q.link_id,
                "answer": [{"valueCoding": dict(q.codings[answers[q.link_id]])}],
            }
            for q in questions
            if q.link_id in answers
        ],
    }


def _page(
    request: Request,
    token: str,
    language: Language,
    questionnaire: dict[str, Any],
    questions: list[Question],
    answers: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "patient/intake.html",
        {
            "token": token,
            "title": questionnaire.get("title", ""),
            "description": questionnaire.get("description", ""),
            "questions": questions,
            "answers": answers or {},
            "errors": errors or {},
            "per_screen": PER_SCREEN,
        },
        language=language,
        status=422 if errors else 200,
    )


@router.get("/p/{token}/intake", response_class=HTMLResponse)
async def intake_form(
    request: Request, rt: RuntimeDep, token: str, actor: IntakeLink
) -> HTMLResponse:
    """The questions, all on one page (a few per screen when scripts run)."""
    _info, language = await run_in_threadpool(link_language, request, rt, actor)
    questionnaire = await run_in_threadpool(stored_screenings.intake_form, rt, actor)
    return _page(request, token, language, questionnaire, questions_of(questionnaire))


@router.post("/p/{token}/intake", response_class=HTMLResponse)
async def send_intake(
    request: Request, rt: RuntimeDep, token: str, actor: IntakeLink
) -> HTMLResponse:
    """Store the answers (once), or show the form again with what is missing."""
    form = await read_form(request, actor)
    _info, language = await run_in_threadpool(link_language, request, rt, actor)
    questionnaire = await run_in_threadpool(stored_screenings.intake_form, rt, actor)
    questions = questions_of(questionnaire)
    answers, errors = read_answers(questions, form)
    if errors:
        return _page(request, token, language, questionnaire, questions, answers, errors)
    document = response_of(questionnaire, questions, answers)
    await run_in_threadpool(stored_screenings.submit_intake, rt, actor, document)
    return render(request, "patient/intake_done.html", {"token": token}, language=language)
