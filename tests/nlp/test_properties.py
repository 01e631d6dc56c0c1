"""Free text can only raise a disposition (issue 7, property tests with hypothesis).

* Adding a denied minor symptom or a pleasantry to a patient's message, before or after
  it, never lowers its disposition.
* Free text never lowers the disposition the structured answers give, whatever it says
  (messages from the table, or any text at all).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.loader import load_cached
from needlewise.services.triage import triage_document

HERE = Path(__file__).parent
MESSAGES = [
    row
    for name in ("messages.yaml", "messages_holdout.yaml")
    if (HERE / name).exists()
    for row in yaml.safe_load((HERE / name).read_text(encoding="utf-8"))
]
ADDITIONS = {
    "en": ["no bruising", "no headache", "not tired", "no nausea at all", "thanks!",
           "thank you so much", "hi", "have a nice day", "no rash", "I'm not nauseous"],
    "es": ["sin moretones", "no tengo dolor de cabeza", "ni náuseas", "gracias", "hola doctora",
           "saludos", "no tengo sarpullido", "sin cansancio", "muchas gracias!"],
}  # fmt: skip
SEPARATORS = [" ", ". ", ", ", "! ", "\n", " and ", " y "]
SYMPTOMS = [s.id for s in load_cached(None).symptoms]
SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def rank(document: dict[str, Any], kb: KnowledgeBase) -> int:
    return triage_document(document, kb).disposition.rank


@st.composite
def padded(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    row = draw(st.sampled_from(MESSAGES))
    language = row["lang"]
    addition = draw(st.sampled_from(ADDITIONS[language] + ADDITIONS["en"]))
    separator = draw(st.sampled_from(SEPARATORS))
    before = draw(st.booleans())
    text = row["text"]
    longer = f"{addition}{separator}{text}" if before else f"{text}{separator}{addition}"
    context = row.get("context") or {"hours_since_treatment": 20}
    base = {"text": text, "language": language, **context}
    return base, {**base, "text": longer}


@SETTINGS
@given(pair=padded())
def test_a_denied_minor_symptom_or_a_pleasantry_never_lowers_a_message(
    kb: KnowledgeBase, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    base, longer = pair
    assert rank(longer, kb) >= rank(base, kb), longer["text"]


@st.composite
def structured(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = {
        "symptoms": sorted(draw(st.sets(st.sampled_from(SYMPTOMS), max_size=3))),
        "language": draw(st.sampled_from(["en", "es"])),
    }
    if draw(st.booleans()):
        document["hours_since_treatment"] = float(draw(st.integers(0, 400)))
    if draw(st.booleans()):
        document["treated_regions"] = draw(
            st.lists(st.sampled_from(["region.upper-back", "region.lower-back", "region.neck"]))
        )
    if draw(st.booleans()):
        document["temperature"] = {
            "value": draw(st.sampled_from([36.8, 37.9, 38.0, 39.4])),
            "unit": "Cel",
        }
    return document


@SETTINGS
@given(
    document=structured(),
    text=st.one_of(st.sampled_from([m["text"] for m in MESSAGES]), st.text(max_size=80)),
)
def test_free_text_never_lowers_the_structured_answers(
    kb: KnowledgeBase, document: dict[str, Any], text: str
) -> None:
    if "\x00" in text:
        text = text.replace("\x00", "")
    assert rank({**document, "text": text}, kb) >= rank(document, kb)
