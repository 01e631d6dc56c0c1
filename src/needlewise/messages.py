"""Interface wording that is not clinical knowledge (labels, questionnaire prompts).

Every message exists in English and Spanish; a test checks both are present. Clinical
wording (questions about contraindications and symptoms, advice) lives in the knowledge
base instead.
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "intake.title": {
        "en": "Dry needling: health questions before treatment",
        "es": "Punción seca: preguntas de salud antes del tratamiento",
    },
    "intake.description": {
        "en": "Please answer each question. Your answers help your provider decide if dry needling is safe for you.",
        "es": "Por favor, responda cada pregunta. Sus respuestas ayudan a su terapeuta a decidir si la punción seca es segura para usted.",
    },
    "aftercare.title": {
        "en": "How are you feeling after dry needling?",
        "es": "¿Cómo se siente después de la punción seca?",
    },
    "aftercare.description": {
        "en": "Answer these questions to find out what to do next. If you think it is an emergency, call 911 now.",
        "es": "Responda estas preguntas para saber qué hacer. Si cree que es una emergencia, llame al 911 ahora.",
    },
    "answer.yes": {"en": "Yes", "es": "Sí"},
    "answer.no": {"en": "No", "es": "No"},
    "answer.unsure": {"en": "Not sure", "es": "No estoy seguro/a"},
    "aftercare.group.emergency": {
        "en": "Signs of an emergency",
        "es": "Señales de emergencia",
    },
    "aftercare.group.call-provider": {
        "en": "Signs to call your provider about",
        "es": "Señales para llamar a la clínica",
    },
    "aftercare.group.self-care": {
        "en": "Common, expected effects",
        "es": "Efectos comunes y esperados",
    },
    "aftercare.temperature": {
        "en": "If you took your temperature, what was it?",
        "es": "Si se tomó la temperatura, ¿cuánto marcó?",
    },
    "aftercare.time-since-treatment": {
        "en": "When was your dry needling treatment?",
        "es": "¿Cuándo fue su tratamiento de punción seca?",
    },
    "aftercare.time.under-24-hours": {
        "en": "Less than 1 day ago (under 24 hours)",
        "es": "Hace menos de 1 día (menos de 24 horas)",
    },
    "aftercare.time.24-to-72-hours": {
        "en": "1 to 3 days ago (24 to 72 hours)",
        "es": "Hace de 1 a 3 días (de 24 a 72 horas)",
    },
    "aftercare.time.over-72-hours": {
        "en": "More than 3 days ago (over 72 hours)",
        "es": "Hace más de 3 días (más de 72 horas)",
    },
    "aftercare.treated-regions": {
        "en": "Which parts of your body were treated?",
        "es": "¿Qué partes del cuerpo le trataron?",
    },
    "aftercare.pain": {
        "en": "How much pain do you have now? 0 means no pain. 10 means the worst pain you can imagine.",
        "es": "¿Cuánto dolor tiene ahora? 0 es sin dolor. 10 es el peor dolor que se pueda imaginar.",
    },
    "aftercare.details": {
        "en": "Is there anything else you want to tell us? Use your own words.",
        "es": "¿Hay algo más que quiera contarnos? Use sus propias palabras.",
    },
    "disposition.emergency": {"en": "Emergency: call 911", "es": "Emergencia: llame al 911"},
    "disposition.call-provider": {
        "en": "Call your provider today",
        "es": "Llame hoy a su terapeuta o a la clínica",
    },
    "disposition.self-care": {"en": "Care for yourself at home", "es": "Cuídese en casa"},
    "decision.eligible": {"en": "Eligible", "es": "Apto"},
    "decision.review": {"en": "Clinician review needed", "es": "Requiere revisión clínica"},
    "decision.not-eligible": {"en": "Not eligible", "es": "No apto"},
    "check-in.repeat": {
        "en": "The clinic already has this check-in. You do not need to send it again.",
        "es": "La clínica ya tiene este reporte. No necesita enviarlo otra vez.",
    },
    "check-in.not-stored": {
        "en": "You sent many check-ins in a short time, so this one was not saved. "
        "The clinic already has your recent check-ins. Do what the advice says. "
        "If you think it is an emergency, call 911 now.",
        "es": "Envió muchos reportes en poco tiempo, así que este no se guardó. "
        "La clínica ya tiene sus reportes recientes. Haga lo que dicen los consejos. "
        "Si cree que es una emergencia, llame al 911 ahora.",
    },
    # after an emergency or call-provider check-in (the clinic is alerted: escalation.py);
    # what the patient does comes first, and the alert never takes the place of 911
    "check-in.clinic-told.emergency": {
        "en": "We have also told your clinic. That does not take the place of 911. "
        "Call 911 first, even if your clinic calls you.",
        "es": "También le avisamos a su clínica. Eso no reemplaza al 911. "
        "Llame primero al 911, aunque su clínica le llame.",
    },
    "check-in.clinic-told.call-provider": {
        "en": "We have also told your clinic. Do not wait for them to call you. "
        "Call them today. If you feel worse, call 911.",
        "es": "También le avisamos a su clínica. No espere a que le llamen. "
        "Llámeles hoy. Si se siente peor, llame al 911.",
    },
}


def message(key: str, language: str = "en") -> str:
    """The message ``key`` in ``language`` (English when the language is not supported)."""
    entry = MESSAGES[key]
    return entry.get(language, entry["en"])
