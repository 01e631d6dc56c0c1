"""Consent (one per signed consent) and the Provenance that carries its signature.

The Consent says what was agreed to (scope ``treatment``, category LOINC 59284-0
"Patient Consent", as in FHIR's own examples), by whom and when, whether it still holds
(``active``; ``inactive`` once withdrawn, with the withdrawal date as the end of the
provision), and where the exact text signed is: ``sourceAttachment`` points at the
consent's PDF copy, and our extension ``consent-text-sha256`` holds the SHA-256 of the
text (FHIR's ``Attachment.hash`` is a SHA-1 of the attachment's own bytes, which the PDF
is rendered to on request, so it is not used). An interpreter appears as a
``verification``.

The drawn signature is a Provenance targeting the Consent, after FHIR's example
``Provenance/consent-signature``: ``signature.type`` ISO-ASTM E1762 "Consent
Signature", ``when``, ``who``, ``sigFormat`` ``image/png`` and ``data`` (the PNG, base64).
"""

from __future__ import annotations

import base64

from needlewise.interop.fhir.emit import ids
from needlewise.interop.fhir.emit.common import (
    JsonObject,
    coding,
    instant,
    meta,
    our_extension,
    patient_ref,
)
from needlewise.knowledge.base import KnowledgeBase
from needlewise.persistence.models import Consent

SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
SIGNATURE_TYPE = "urn:iso-astm:E1762-95:2013"
CONSENT_SIGNATURE = "1.2.840.10065.1.12.1.7"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"


def consent_id(row_id: int) -> str:
    return ids.of(ids.CONSENT, row_id)


def provenance_id(row_id: int) -> str:
    return ids.of(ids.CONSENT, row_id, "signature")


def _signer(row: Consent) -> JsonObject:
    """The patient themself, or (a guardian or representative) their name and role."""
    if row.signer_role == "patient":
        return {**patient_ref(row.patient_id), "display": row.signer_name}
    return {"display": f"{row.signer_name} ({row.signer_role})"}


def consent_resource(kb: KnowledgeBase, row: Consent, pdf_url: str) -> JsonObject:
    """One consent. ``pdf_url`` is where its PDF copy is served (``/app/consents/{id}.pdf``
    on this server, made absolute by the caller)."""
    provision: JsonObject = {"type": "permit", "period": {"start": instant(row.signed_at)}}
    if row.withdrawn_at is not None:
        provision["period"]["end"] = instant(row.withdrawn_at)
    resource: JsonObject = {
        "resourceType": "Consent",
        "id": consent_id(row.id),
        "meta": meta(row.updated_at),
        "language": row.language,
        "extension": [
            {"url": our_extension(kb, "consent-text-sha256"), "valueString": row.text_sha256}
        ],
        "status": "inactive" if row.withdrawn_at is not None else "active",
        "scope": {"coding": [coding(SCOPE, "treatment", "Treatment")]},
        "category": [{"coding": [coding("http://loinc.org", "59284-0", "Patient Consent")]}],
        "patient": patient_ref(row.patient_id),
        "dateTime": instant(row.signed_at),
        "performer": [_signer(row)],
        "sourceAttachment": {
            "contentType": "application/pdf",
            "language": row.language,
            "url": pdf_url,
            "title": f"Consent to dry needling (text version {row.text_version})",
            "creation": instant(row.signed_at),
        },
        "policy": [{"uri": f"{kb.data.meta.canonical_base}/consent-text/{row.text_version}"}],
        "provision": provision,
    }
    if row.interpreter_name:
        with_language = f" ({row.interpreter_language})" if row.interpreter_language else ""
        resource["verification"] = [
            {
                "verified": True,
                "verifiedWith": {"display": f"Interpreter: {row.interpreter_name}{with_language}"},
                "verificationDate": instant(row.signed_at),
            }
        ]
    return resource


def signature_provenance(row: Consent) -> JsonObject:
    """The Provenance carrying the consent's drawn signature."""
    signer = _signer(row)
    return {
        "resourceType": "Provenance",
        "id": provenance_id(row.id),
        "meta": meta(row.created_at),
        "target": [{"reference": f"Consent/{consent_id(row.id)}"}],
        "recorded": instant(row.signed_at),
        "agent": [
            {
                "type": {"coding": [coding(PARTICIPANT_TYPE, "author", "Author")]},
                "who": signer,
            }
        ],
        "signature": [
            {
                "type": [coding(SIGNATURE_TYPE, CONSENT_SIGNATURE, "Consent Signature")],
                "when": instant(row.signed_at),
                "who": signer,
                "sigFormat": "image/png",
                "data": base64.b64encode(row.signature_png).decode("ascii"),
            }
        ],
    }
