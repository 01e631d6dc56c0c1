"""The aftercare Questionnaire a patient answers through their check-in link.

The patient side of a check-in, like its intake twin
(:func:`needlewise.services.stored_screenings.intake_form`): the Questionnaire comes in the
patient's preferred language, and the read is audited as a use of the link.
"""

from __future__ import annotations

from typing import Any

from needlewise.errors import NotFound
from needlewise.interop.fhir.questionnaire import aftercare_questionnaire
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.documents import check_language
from needlewise.services.patients import get_in_clinic
from needlewise.services.runtime import Runtime


def check_in_form(runtime: Runtime, actor: Actor) -> dict[str, Any]:
    """The aftercare Questionnaire for a check-in link, in the patient's preferred language."""
    if actor.link_id is None or actor.link_purpose != "check-in" or actor.patient_id is None:
        raise NotFound("this link is not valid")
    with runtime.db.read() as tx:
        language = get_in_clinic(tx, actor, actor.patient_id).preferred_language
    audit.record_reads(runtime.db, actor, "patient-link", [(actor.link_id, actor.patient_id)])
    return aftercare_questionnaire(runtime.kb, check_language(language))
