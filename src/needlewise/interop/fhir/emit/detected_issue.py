"""DetectedIssue: one per finding of a stored screening, and one per required intake
question left unanswered.

``code`` is the rule's stable id in our code system ``{canonical}/CodeSystem/rule``;
``severity`` follows the rule's level (absolute → ``high``, relative → ``moderate``,
precaution → ``low``). ``evidence.detail`` points at the input that fired: the
screening's QuestionnaireResponse when the finding came from an intake answer (with the
finding's evidence text as display), else a display-only reference naming the record in
the screened document. ``reference`` is the rule's first source with a URL.

An unanswered required question is an issue too (``screening-N-unanswered-K``): missing
input escalates, so it is reported as ``moderate`` — a clinician must review — under the
question's rule code, never dropped.
"""

from __future__ import annotations

from typing import Any

from needlewise.interop.fhir.emit import ids
from needlewise.interop.fhir.emit.common import JsonObject, coding, instant, meta, our_system
from needlewise.interop.fhir.emit.common import patient_ref as _patient
from needlewise.interop.fhir.emit.questionnaire_response import intake_of
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Contraindication
from needlewise.knowledge.schema.meta import Source
from needlewise.persistence.models import Screening

SEVERITY = {"absolute": "high", "relative": "moderate", "precaution": "low"}


def _first_url(kb: KnowledgeBase, source_ids: Any) -> str | None:
    for source_id in source_ids if isinstance(source_ids, list) else []:
        source = kb.get(source_id) if isinstance(source_id, str) else None
        if isinstance(source, Source) and source.url:
            return source.url
    return None


def _evidence(row: Screening, texts: Any) -> list[JsonObject]:
    has_response = intake_of(row.inputs) is not None
    response = f"QuestionnaireResponse/{ids.of(ids.SCREENING, row.id)}"
    details: list[JsonObject] = []
    for text in texts if isinstance(texts, list) else []:
        if not isinstance(text, str):
            continue
        if has_response and text.startswith("QuestionnaireResponse"):
            details.append({"reference": response, "display": text})
        else:
            details.append({"display": text})
    return [{"detail": details}] if details else []


def _issue(row: Screening, resource_id: str, severity: str) -> JsonObject:
    return {
        "resourceType": "DetectedIssue",
        "id": resource_id,
        "meta": meta(row.created_at),
        "status": "final",
        "severity": severity,
        "patient": _patient(row.patient_id),
        "identifiedDateTime": instant(row.created_at),
    }


def screening_issues(kb: KnowledgeBase, row: Screening) -> list[JsonObject]:
    """The findings, then the unanswered questions, of one stored screening."""
    issues = []
    findings = row.result.get("findings") or []
    for number, finding in enumerate(findings, start=1):
        if not isinstance(finding, dict):
            continue
        level = str(finding.get("level", ""))
        # an unknown level escalates to high, never down
        issue = _issue(
            row, ids.of(ids.SCREENING, row.id, "finding", number), SEVERITY.get(level, "high")
        )
        rule = str(finding.get("rule", ""))
        title = str(finding.get("title") or rule)
        issue["code"] = {"coding": [coding(our_system(kb, "rule"), rule, title)], "text": title}
        evidence = _evidence(row, finding.get("evidence"))
        if evidence:
            issue["evidence"] = evidence
        certainty = finding.get("certainty")
        issue["detail"] = f"{title}: {level or 'unknown'} contraindication" + (
            f" ({certainty})" if isinstance(certainty, str) else ""
        )
        url = _first_url(kb, finding.get("sources"))
        if url:
            issue["reference"] = url
        issues.append(issue)
    unanswered = row.result.get("unanswered") or []
    for number, rule_id in enumerate(unanswered, start=1):
        if not isinstance(rule_id, str):
            continue
        question = kb.contraindication(rule_id)
        title = question.title.en if question is not None else rule_id
        issue = _issue(row, ids.of(ids.SCREENING, row.id, "unanswered", number), "moderate")
        issue["code"] = {
            "coding": [coding(our_system(kb, "rule"), rule_id, title)],
            "text": f"Not answered: {title}",
        }
        issue["detail"] = (
            f"The required intake question for {title} was not answered: a clinician must review."
        )
        if intake_of(row.inputs) is not None:
            issue["evidence"] = [
                {
                    "detail": [
                        {
                            "reference": f"QuestionnaireResponse/{ids.of(ids.SCREENING, row.id)}",
                            "display": f"item {rule_id} not answered",
                        }
                    ]
                }
            ]
        if isinstance(question, Contraindication):
            url = _first_url(kb, list(question.sources))
            if url:
                issue["reference"] = url
        issues.append(issue)
    return issues
