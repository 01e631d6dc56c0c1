"""What the patient's own words add to a triage (pure; ``nlp/`` does the reading).

Every rule here escalates or leaves alone, never lowers what the structured answers
give (each is a policy in ``policies.yaml`` with its tier and sources):

* a symptom **present** in the text counts at its tier; an **uncertain** one counts as
  present, and a self-care one moves up to call-provider (``policy.unclear-symptom``);
* a red flag the patient says **has passed** is call-provider, never self-care
  (``policy.red-flag-passed``); a milder symptom that has passed adds nothing;
* a **question about the future** adds the 911 signs to the advice
  (``policy.future-question``); a **denial** adds nothing;
* a written **temperature** counts like a measured one; one that is not a plausible
  body temperature is call-provider (``policy.temperature-unclear``);
* a message that was **not understood**, or that is in a language we cannot read, is
  call-provider (``policy.text-not-understood``, ``policy.text-language-not-supported``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from needlewise.domain.facts import FreeTextReading, Temperature, TextMention
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Tier

NO_COMPLAINTS = "no-complaints"


@dataclass(frozen=True)
class TextFinding:
    """One reason the text contributes: a rule id, its tier and what matched."""

    rule: str
    tier: Tier
    title: str
    matched: str
    mentions: tuple[TextMention, ...] = ()


@dataclass
class TextOutcome:
    """Everything the free text adds to a triage."""

    findings: list[TextFinding] = field(default_factory=list)
    present: set[str] = field(default_factory=set)
    policies: list[str] = field(default_factory=list)
    temperatures: list[Temperature] = field(default_factory=list)


def _policy_tier(kb: KnowledgeBase, policy_id: str) -> Tier:
    tier = kb.policy(policy_id).tier
    if tier is None:  # the knowledge tests check every triage policy has one
        raise LookupError(f"{policy_id} has no tier")
    return tier


def read_free_text(reading: FreeTextReading, kb: KnowledgeBase, language: str) -> TextOutcome:
    """Turn a reading into triage findings (see the module docstring for the rules)."""
    out = TextOutcome()

    def add_policy(policy_id: str, matched: str, mentions: tuple[TextMention, ...] = ()) -> None:
        policy = kb.policy(policy_id)
        out.policies.append(policy_id)
        out.findings.append(
            TextFinding(
                policy_id,
                _policy_tier(kb, policy_id),
                policy.title.get(language),
                matched,
                mentions,
            )
        )

    for mention in reading.mentions:
        if mention.concept == NO_COMPLAINTS:
            continue
        symptom = kb.symptom(mention.concept)
        if symptom is None:  # the knowledge loader checks every pattern's concept
            raise LookupError(f"unknown concept {mention.concept}")
        title = symptom.title.get(language)
        described = mention.describe()
        if mention.status == "present":
            out.present.add(symptom.id)
            out.findings.append(TextFinding(symptom.id, symptom.tier, title, described, (mention,)))
        elif mention.status == "uncertain":
            out.present.add(symptom.id)
            tier = Tier.call_provider if symptom.tier is Tier.self_care else symptom.tier
            out.policies.append("policy.unclear-symptom")
            out.findings.append(
                TextFinding(
                    symptom.id,
                    tier,
                    title,
                    described + " (not sure: counted as present)",
                    (mention,),
                )
            )
        elif mention.status == "resolved" and symptom.tier is Tier.emergency:
            out.policies.append("policy.red-flag-passed")
            out.findings.append(
                TextFinding(
                    symptom.id,
                    _policy_tier(kb, "policy.red-flag-passed"),
                    title,
                    described + " (has passed: policy.red-flag-passed)",
                    (mention,),
                )
            )
        elif mention.status == "hypothetical":
            add_policy("policy.future-question", f"{symptom.id}: {described}", (mention,))

    fever = next((s for s in kb.symptoms if s.temperature is not None), None)
    for written in reading.temperatures:
        if written.unit is None:
            add_policy(
                "policy.temperature-unclear",
                f'free text: "{written.quote}" ({written.value:g} is not a body temperature in °C or °F)',
            )
        elif fever is not None:
            how = "unit written" if written.unit_source == "written" else "unit read from the value"
            out.temperatures.append(
                Temperature(written.value, written.unit, f'free text: "{written.quote}" ({how})')
            )

    if reading.other_language is not None:
        add_policy(
            "policy.text-language-not-supported",
            f"free text looks like {reading.other_language} ({reading.unknown_words} word(s) not read)",
        )
    elif not reading.understood:
        add_policy(
            "policy.text-not-understood",
            f"free text: {reading.unknown_words} word(s) not understood and nothing recognised as a finding",
        )
    return out
