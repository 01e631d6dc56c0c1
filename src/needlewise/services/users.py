"""Staff accounts, administered: create, list, read and change users (admins), and
"who am I".

* Passwords are hashed with argon2 and never leave the services. A new password (at
  account creation, set by an admin, or changed by its user) must pass
  :func:`needlewise.security.password_policy.weakness` (:func:`require_strong`): at least
  12 characters, not blank, and hard to guess by zxcvbn's offline estimate (the
  account's own email and name count against it); a refusal names the field and says
  what to change.
* Any change of a user's password, activity or role ends every session and API token of
  that user (:func:`needlewise.services.credentials.end_credentials`), whatever else the
  edit contains.
* A clinic always keeps an active admin: an edit that would deactivate or demote its
  last one is refused (409), also when two admins edit each other at the same moment.

Authentication lives elsewhere: logging in is :mod:`needlewise.services.login`, checking
and ending sessions and tokens :mod:`needlewise.services.credentials`, API tokens
:mod:`needlewise.services.api_tokens`, changing one's own password
:mod:`needlewise.services.password_change`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from needlewise.errors import Conflict, InputError, NotFound, Unauthorized
from needlewise.persistence.models import Clinic, User
from needlewise.security.password_policy import MAX_LENGTH, MIN_LENGTH, weakness
from needlewise.security.roles import Role
from needlewise.security.secrets import hash_password
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.credentials import end_credentials, forget_sessions
from needlewise.services.fields import Name
from needlewise.services.paging import Page, PageParams
from needlewise.services.records import check_version
from needlewise.services.runtime import Runtime

Password = Annotated[str, StringConstraints(min_length=MIN_LENGTH, max_length=MAX_LENGTH)]


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    active: bool
    clinic_id: int
    version: int


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    name: Name = Field(min_length=1, max_length=200)
    role: Role
    password: Password = Field(
        description="At least 12 characters, not easy to guess (checked offline by zxcvbn)"
    )


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    active: bool | None = None
    password: Password | None = Field(
        default=None,
        description="A new password; ends every session and API token of the user",
    )


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=Role(user.role),
        active=user.active,
        clinic_id=user.clinic_id,
        version=user.version,
    )


def require_strong(password: str, where: str, *known: str) -> None:
    """Refuse a weak new password (``InputError`` at JSON path ``where``); ``known`` are
    the account's own words (email, name) that count against it."""
    problem = weakness(password, known)
    if problem is not None:
        raise InputError(problem, where)


def me(runtime: Runtime, actor: Actor) -> UserOut:
    with runtime.db.read() as tx:
        user = tx.get(User, actor.user_id)
        if user is None:
            raise Unauthorized("not logged in")
        return user_out(user)


def create_user(
    runtime: Runtime, actor: Actor, data: UserIn, clinic_id: int | None = None
) -> UserOut:
    actor.require("users:write")
    email = str(data.email).strip().lower()
    require_strong(data.password, "$.password", email, data.name)
    with runtime.db.write() as tx:
        if tx.scalar(select(User.id).where(User.email == email)) is not None:
            raise Conflict("a user with this email already exists")
        user = User(
            clinic_id=clinic_id if clinic_id is not None else actor.clinic_id,
            email=email,
            name=data.name,
            role=data.role.value,
            password_hash=hash_password(data.password),
        )
        tx.add(user)
        tx.flush()
        audit.record(tx, actor, "create", "user", user.id)
        return user_out(user)


def list_users(runtime: Runtime, actor: Actor, page: PageParams) -> Page[UserOut]:
    actor.require("users:read")
    with runtime.db.read() as tx:
        where = User.clinic_id == actor.clinic_id
        total = tx.scalar(select(func.count()).select_from(User).where(where)) or 0
        users = tx.scalars(
            select(User).where(where).order_by(User.id).limit(page.limit).offset(page.offset)
        )
        return Page[UserOut](
            items=[user_out(u) for u in users], total=total, limit=page.limit, offset=page.offset
        )


def get_user(runtime: Runtime, actor: Actor, user_id: int) -> UserOut:
    actor.require("users:read")
    with runtime.db.read() as tx:
        user = tx.get(User, user_id)
        if user is None or user.clinic_id != actor.clinic_id:
            raise NotFound(f"no user {user_id}")
        return user_out(user)


def _keep_an_admin(tx: Session, user: User, role: str, active: bool) -> None:
    """Refuse an edit that leaves ``user``'s clinic without an active admin. The caller
    holds the clinic's row lock, so two such edits cannot both see the other admin."""
    if not (user.role == Role.admin.value and user.active) or (role == Role.admin.value and active):
        return
    others = tx.scalar(
        select(func.count())
        .select_from(User)
        .where(
            User.clinic_id == user.clinic_id,
            User.id != user.id,
            User.role == Role.admin.value,
            User.active.is_(True),
        )
    )
    if not others:
        raise Conflict(
            "this is the clinic's last active admin: make another user admin first "
            "(a clinic always keeps one)"
        )


def update_user(
    runtime: Runtime, actor: Actor, user_id: int, expected_version: int, data: UserPatch
) -> UserOut:
    """Change a user (admins). A change of password, activity or role ends every session
    and API token of the user, whatever else the edit holds."""
    actor.require("users:write")
    with runtime.db.write() as tx:
        # one edit of a clinic's users at a time (PostgreSQL; SQLite writes are serial)
        tx.execute(select(Clinic.id).where(Clinic.id == actor.clinic_id).with_for_update()).first()
        user = tx.get(User, user_id, populate_existing=True)
        if user is None or user.clinic_id != actor.clinic_id:
            raise NotFound(f"no user {user_id}")
        check_version("user", user.version, expected_version)
        role = data.role.value if data.role is not None else user.role
        active = data.active if data.active is not None else user.active
        _keep_an_admin(tx, user, role, active)
        if data.password is not None:
            require_strong(data.password, "$.password", user.email, data.name or user.name)
        changed = data.password is not None or role != user.role or active != user.active
        if data.name is not None:
            user.name = data.name
        user.role, user.active = role, active
        if data.password is not None:
            user.password_hash = hash_password(data.password)
        if changed:
            end_credentials(runtime, tx, user)
        tx.flush()
        audit.record(tx, actor, "update", "user", user.id)
        out = user_out(user)
    if changed:
        forget_sessions(runtime, user_id)  # again after the commit: nothing cached it in between
    return out
