"""Who is acting: a staff user (with a role), a patient through a link, or the system."""

from __future__ import annotations

from dataclasses import dataclass

from needlewise.errors import Forbidden
from needlewise.security.roles import Role, allowed


@dataclass(frozen=True)
class Actor:
    """The authenticated caller. ``ref`` is what records store (``user:3``, ``link:9``)."""

    ref: str
    remote: str | None = None
    user_id: int | None = None
    role: Role | None = None
    clinic_id: int | None = None
    link_id: int | None = None
    link_purpose: str | None = None
    patient_id: int | None = None
    session_id: int | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(ref="system")

    def require(self, permission: str) -> None:
        """Raise ``Forbidden`` unless this actor's role grants ``permission``."""
        if self.role is None or not allowed(self.role, permission):
            raise Forbidden(f"your role may not do this ({permission})", permission=permission)
