"""Providers who needle: profession, licence and training; their state scope.

A provider may name the staff user who is that provider (``user_id``): it must be a user
of the same clinic; another clinic's user and an unknown id get the same 422.

A provider whose state scope is "not permitted" for their profession cannot be recorded
as the needling provider of a session (see ``services/sessions.py``).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from needlewise.domain.scope import ScopeResult, scope_lookup
from needlewise.errors import InputError, NotFound
from needlewise.persistence.models import Provider, User
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.fields import Label, Name
from needlewise.services.paging import Page, PageParams
from needlewise.services.records import MAX_ID, check_version, edit
from needlewise.services.runtime import Runtime

Profession = Literal["pt", "acupuncturist", "physician"]


class ProviderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name = Field(min_length=1, max_length=200)
    profession: Profession
    licence_state: str = Field(min_length=2, max_length=2, description="Two-letter state code")
    licence_number: Label = Field(min_length=1, max_length=50)
    training_hours: float | None = Field(default=None, ge=0, le=10_000)
    training_date: date | None = None
    user_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="The staff user who is this provider (a user of this clinic)",
    )


class ProviderPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = Field(default=None, min_length=1, max_length=200)
    licence_state: str | None = Field(default=None, min_length=2, max_length=2)
    licence_number: Label | None = Field(default=None, min_length=1, max_length=50)
    training_hours: float | None = Field(default=None, ge=0, le=10_000)
    training_date: date | None = None
    active: bool | None = None


class ProviderOut(BaseModel):
    id: int
    name: str
    profession: Profession
    licence_state: str
    licence_number: str
    training_hours: float | None
    training_date: date | None
    user_id: int | None
    active: bool
    scope_status: str = Field(
        description="allowed / not-permitted / silent / unknown in the licence state"
    )
    version: int


def scope_of(runtime: Runtime, provider: Provider) -> ScopeResult:
    return scope_lookup(runtime.kb, provider.licence_state, provider.profession)


def _check_state(runtime: Runtime, state: str, where: str) -> str:
    code = state.upper()
    if runtime.kb.state(code) is None:
        raise InputError(f"{state!r} is not the two-letter code of a US state or DC", where)
    return code


def _out(runtime: Runtime, provider: Provider) -> ProviderOut:
    return ProviderOut(
        id=provider.id,
        name=provider.name,
        profession=provider.profession,
        licence_state=provider.licence_state,
        licence_number=provider.licence_number,
        training_hours=provider.training_hours,
        training_date=provider.training_date,
        user_id=provider.user_id,
        active=provider.active,
        scope_status=scope_of(runtime, provider).status,
        version=provider.version,
    )


def create_provider(runtime: Runtime, actor: Actor, data: ProviderIn) -> ProviderOut:
    actor.require("providers:write")
    state = _check_state(runtime, data.licence_state, "$.licence_state")
    with runtime.db.write() as tx:
        if data.user_id is not None:
            _check_user(tx, actor, data.user_id)
        provider = Provider(
            clinic_id=actor.clinic_id,
            user_id=data.user_id,
            name=data.name,
            profession=data.profession,
            licence_state=state,
            licence_number=data.licence_number,
            training_hours=data.training_hours,
            training_date=data.training_date,
        )
        tx.add(provider)
        tx.flush()
        audit.record(tx, actor, "create", "provider", provider.id)
        return _out(runtime, provider)


def _check_user(tx: Session, actor: Actor, user_id: int) -> None:
    """``InputError`` at ``$.user_id`` unless ``user_id`` is a user of the actor's clinic.

    A user of another clinic gets exactly the answer an unknown id gets, so the answer
    never tells one clinic which ids another clinic has."""
    user = tx.get(User, user_id)
    if user is None or user.clinic_id != actor.clinic_id:
        raise InputError(f"no user {user_id} in this clinic", "$.user_id")


def _get(tx: Session, actor: Actor, provider_id: int) -> Provider:
    provider = tx.get(Provider, provider_id)
    if provider is None or provider.clinic_id != actor.clinic_id:
        raise NotFound(f"no provider {provider_id}")
    return provider


def get_provider(runtime: Runtime, actor: Actor, provider_id: int) -> ProviderOut:
    actor.require("providers:read")
    with runtime.db.read() as tx:
        return _out(runtime, _get(tx, actor, provider_id))


def provider_scope(
    runtime: Runtime, actor: Actor, provider_id: int, language: str = "en"
) -> ScopeResult:
    actor.require("providers:read")
    with runtime.db.read() as tx:
        provider = _get(tx, actor, provider_id)
        return scope_lookup(runtime.kb, provider.licence_state, provider.profession, language)


def list_providers(
    runtime: Runtime, actor: Actor, page: PageParams, active: bool | None = None
) -> Page[ProviderOut]:
    actor.require("providers:read")
    conditions = [Provider.clinic_id == actor.clinic_id]
    if active is not None:
        conditions.append(Provider.active == active)
    with runtime.db.read() as tx:
        total = tx.scalar(select(func.count()).select_from(Provider).where(*conditions)) or 0
        rows = tx.scalars(
            select(Provider)
            .where(*conditions)
            .order_by(Provider.id)
            .limit(page.limit)
            .offset(page.offset)
        )
        items = [_out(runtime, p) for p in rows]
    return Page[ProviderOut](items=items, total=total, limit=page.limit, offset=page.offset)


def update_provider(
    runtime: Runtime, actor: Actor, provider_id: int, expected_version: int, data: ProviderPatch
) -> ProviderOut:
    actor.require("providers:write")
    with edit(runtime.db, "provider") as tx:
        provider = _get(tx, actor, provider_id)
        check_version("provider", provider.version, expected_version)
        changes = data.model_dump(exclude_unset=True)
        if "licence_state" in changes and changes["licence_state"] is not None:
            changes["licence_state"] = _check_state(
                runtime, changes["licence_state"], "$.licence_state"
            )
        for key, value in changes.items():
            if value is not None or key in ("training_hours", "training_date"):
                setattr(provider, key, value)
        tx.flush()
        audit.record(tx, actor, "update", "provider", provider.id)
        return _out(runtime, provider)
