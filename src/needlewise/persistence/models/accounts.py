"""Clinic, staff accounts, providers, login sessions and login attempts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from needlewise.persistence.db import utcnow
from needlewise.persistence.models.base import Base, UtcDateTime


class Clinic(Base):
    """The clinic (name, phone numbers, languages offered)."""

    __tablename__ = "clinics"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phones: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Aftercare (docs/aftercare.md): the clinic's IANA time zone (check-in times, quiet
    # hours, every time a page shows), its quiet hours as local "HH:MM", the address its
    # alerts go to, and its own changes to the knowledge base's check-in schedule.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    quiet_hours_start: Mapped[str] = mapped_column(
        String(5), default="21:00", server_default="21:00"
    )
    quiet_hours_end: Mapped[str] = mapped_column(String(5), default="08:00", server_default="08:00")
    alert_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    aftercare: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it


class User(Base):
    """A staff account: admin, clinician or front-desk."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: raised by every change of password, activity or role; a session or token made
    #: under an older value no longer works (even if the change is undone)
    credential_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it


class Provider(Base):
    """Someone who needles: profession, licence and dry-needling training.

    The scope check (state x profession) runs against ``licence_state`` and
    ``profession`` whenever this provider is recorded as the needling provider.
    """

    __tablename__ = "providers"
    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    profession: Mapped[str] = mapped_column(String(20))
    licence_state: Mapped[str] = mapped_column(String(2))
    licence_number: Mapped[str] = mapped_column(String(50))
    training_hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    training_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it


class AuthSession(Base):
    """A staff login (browser cookie) or an API token. Only a hash of the token is kept.

    It works while it is not revoked, not expired, its user is active, and
    ``user_epoch`` equals the user's ``credential_epoch`` (the credentials it was made
    under are still the user's).
    """

    __tablename__ = "auth_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # browser | api
    csrf_token: Mapped[str] = mapped_column(String(64))
    remote: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    label: Mapped[str | None] = mapped_column(String(100), nullable=True)  # API tokens
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class LoginAttempt(Base):
    """One login attempt (or one try of the current password on a password change),
    for rate limiting. The email is stored only as a hash; ``device_key`` is a hash of
    the known device the attempt came from (or of the session that tried a password
    change), ``None`` for an unknown device."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    email_key: Mapped[str] = mapped_column(String(64))
    remote: Mapped[str] = mapped_column(String(64))
    device_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email_key", "at"),
        Index("ix_login_attempts_remote_at", "remote", "at"),
        Index("ix_login_attempts_device_at", "device_key", "at"),
    )
