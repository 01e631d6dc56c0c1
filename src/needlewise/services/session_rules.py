"""The rules a treatment session must pass before it is stored (issue 3).

Checked in this order; the first rule broken refuses the session with a 422
``rule-violation`` whose body names the rule, the knowledge-base policy that words it,
and its sources. Nothing is stored when a rule is broken.

=====================================================  ===========================================
rule id                                                when it fires
=====================================================  ===========================================
``session.requires-screening``                         the patient has no stored screening (never
                                                       overridable)
``session.requires-eligible-screening``                the screening named, or the patient's
                                                       decisive screening, is ``not-eligible``
                                                       and no clinician override with a reason
                                                       was sent (a ``review`` decision does not
                                                       block)
``session.screening-covers-electrical-stimulation``    the session used electrical stimulation but
                                                       the screening was run for a plan without it
``session.requires-consent``                           no signed consent that is not withdrawn
                                                       (never overridable)
``state.<xx>`` (with ``profession``)                   the needling provider's profession may not
                                                       dry-needle in their licence state
                                                       (policy.session-provider-scope)
=====================================================  ===========================================

Each ``session.<name>`` rule is worded in ``knowledge/data/policies.yaml`` as
``policy.session-<name>`` (knowledge-base ids must start with ``policy.``).

The rules decide on the patient's **decisive** screening
(:mod:`needlewise.services.decisive_screening`): the latest not-eligible screening stays
decisive until a clinician enters a screening after it; otherwise the latest screening
is. So a front-desk or patient-entered "eligible" or "review" after a not-eligible
screening does not clear it. The session is recorded against the screening named by
``screening_id`` (it must be this patient's; naming one never hides a not-eligible
decisive screening), else against the decisive one. The consent used is the patient's
latest signed consent whose ``withdrawn_at`` is empty.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from needlewise.domain.scope import ScopeResult
from needlewise.errors import Forbidden, InputError, RuleViolation
from needlewise.knowledge.base import KnowledgeBase
from needlewise.persistence.models import Consent, Provider, Screening
from needlewise.security.roles import Role
from needlewise.services.actor import Actor
from needlewise.services.decisive_screening import NOT_ELIGIBLE, Decisive, decisive_screening
from needlewise.services.providers import scope_of
from needlewise.services.runtime import Runtime

REQUIRES_SCREENING = "session.requires-screening"
REQUIRES_ELIGIBLE_SCREENING = "session.requires-eligible-screening"
SCREENING_COVERS_ESTIM = "session.screening-covers-electrical-stimulation"
REQUIRES_CONSENT = "session.requires-consent"
PROVIDER_SCOPE_POLICY = "policy.session-provider-scope"
SESSION_RULES = (
    REQUIRES_SCREENING,
    REQUIRES_ELIGIBLE_SCREENING,
    SCREENING_COVERS_ESTIM,
    REQUIRES_CONSENT,
)


def policy_of(rule: str) -> str:
    """The policy wording a session rule (``session.x`` -> ``policy.session-x``)."""
    return "policy." + rule.replace(".", "-", 1)


def violation(kb: KnowledgeBase, rule: str, detail: str) -> RuleViolation:
    """A 422 naming ``rule``, its policy and its sources (``detail`` holds no patient data)."""
    policy = kb.policy(policy_of(rule))
    return RuleViolation(
        f"{policy.title.en}: {detail} ({rule})",
        rule=rule,
        policy=policy.id,
        sources=list(policy.sources),
    )


@dataclass(frozen=True)
class Checked:
    """What a session that passed every rule is recorded against."""

    screening: Screening
    consent: Consent
    provider: Provider
    scope: ScopeResult
    override_reason: str | None


def find_screening(tx: Session, patient_id: int, screening_id: int) -> Screening:
    """The screening named by ``screening_id`` (``InputError`` when it is not this
    patient's)."""
    screening = tx.get(Screening, screening_id)
    if screening is None or screening.patient_id != patient_id:
        raise InputError(f"no screening {screening_id} for this patient", "$.screening_id")
    return screening


def not_eligible_detail(screening: Screening, decisive: Decisive) -> str | None:
    """Why the session is blocked by a not-eligible screening (``None``: it is not).

    ``screening`` is the one the session is recorded against (named or decisive)."""
    if screening.decision == NOT_ELIGIBLE:
        return f"screening {screening.id} is not-eligible"
    if not decisive.blocks:
        return None
    detail = f"screening {decisive.screening.id} is not-eligible and is the decisive screening"
    if decisive.screening.id != screening.id:
        detail += f", which decides instead of screening {screening.id}"
    if decisive.not_counted:
        later = ", ".join(str(i) for i in decisive.not_counted)
        detail += (
            f"; no clinician has screened the patient since, so the later screening(s) {later}"
            " (not entered by a clinician) do not change it"
        )
    return detail


def find_consent(tx: Session, patient_id: int) -> Consent | None:
    """The consent in force: the latest signed one, unless it was withdrawn.

    One rule for the whole service (``services.consents.current_consent``): withdrawing
    the latest consent ends consent; an older one does not come back into force.
    """
    from needlewise.services.consents import current_consent

    return current_consent(tx, patient_id)


def find_provider(tx: Session, actor: Actor, provider_id: int) -> Provider:
    """An active provider of the actor's clinic (``InputError`` at ``$.provider_id``)."""
    provider = tx.get(Provider, provider_id)
    if provider is None or provider.clinic_id != actor.clinic_id:
        raise InputError(f"no provider {provider_id} in this clinic", "$.provider_id")
    if not provider.active:
        raise InputError(f"provider {provider_id} is not active", "$.provider_id")
    return provider


def check_scope(runtime: Runtime, provider: Provider) -> ScopeResult:
    """The provider's state scope; a ``not-permitted`` scope is a rule violation whose
    rule is the state record (``state.ny``) and whose message cites its sources."""
    scope = scope_of(runtime, provider)
    if scope.status != "not-permitted":
        return scope
    rule = f"state.{scope.state.lower()}"
    citations = "; ".join(runtime.kb.citations(scope.sources).values())
    note = f" {scope.note}" if scope.note else ""
    raise RuleViolation(
        f"{scope.state_name} does not permit dry needling by a {scope.profession_name} "
        f"({rule}, profession {scope.profession}, as of {scope.as_of}).{note} "
        f"Choose a provider who may needle in their licence state. Sources: {citations}",
        rule=rule,
        profession=scope.profession,
        policy=PROVIDER_SCOPE_POLICY,
        sources=list(scope.sources),
    )


def check_session(
    runtime: Runtime,
    tx: Session,
    actor: Actor,
    patient_id: int,
    *,
    provider_id: int,
    screening_id: int | None,
    electrical_stimulation: bool,
    override_reason: str | None,
) -> Checked:
    """Apply every session rule (see the module docstring); raise on the first broken."""
    kb = runtime.kb
    provider = find_provider(tx, actor, provider_id)
    decisive = decisive_screening(tx, patient_id)
    if decisive is None:
        raise violation(
            kb, REQUIRES_SCREENING, "this patient has no stored screening; screen them first"
        )
    screening = (
        decisive.screening if screening_id is None else find_screening(tx, patient_id, screening_id)
    )
    blocked = not_eligible_detail(screening, decisive)
    if override_reason is not None:
        if blocked is None:
            raise InputError(
                f"nothing to override: screening {screening.id} is {screening.decision}; "
                "send an override only for a not-eligible screening",
                "$.override",
            )
        if actor.role is not Role.clinician:
            raise Forbidden("only a clinician may override a screening")
    elif blocked is not None:
        raise violation(
            kb,
            REQUIRES_ELIGIBLE_SCREENING,
            f"{blocked}; a clinician may screen the patient again, or record the session "
            "only with override.reason",
        )
    if electrical_stimulation and screening.electrical_stimulation is False:
        raise violation(
            kb,
            SCREENING_COVERS_ESTIM,
            f"screening {screening.id} was run for a plan without electrical stimulation",
        )
    consent = find_consent(tx, patient_id)
    if consent is None:
        raise violation(
            kb,
            REQUIRES_CONSENT,
            "this patient has no signed consent that is still in force; record consent first",
        )
    scope = check_scope(runtime, provider)
    return Checked(screening, consent, provider, scope, override_reason)
