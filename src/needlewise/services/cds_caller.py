"""Who is calling a CDS Hooks service, once the door has checked the call's JWT.

The door (:mod:`needlewise.web.cds_hooks`) verifies the bearer JWT against the registered
CDS clients and hands the use cases (:mod:`needlewise.services.cds_hooks`) a
:class:`CdsCaller`. The use case records the JWT id in the same transaction as what the
call writes, so a replayed token changes nothing; it fetches missing prefetch data only
through a :class:`FhirFetcher` the door built from the caller's allow-list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

UNSIGNED = "unsigned"
"""``CdsCaller.client`` of a call let in without a JWT by the development switch."""


@dataclass(frozen=True, slots=True)
class CdsCaller:
    """A CDS client whose call passed the door's checks."""

    client: str
    """The JWT issuer (``iss``) as registered, or :data:`UNSIGNED`."""
    clinic_id: int
    """The clinic the client belongs to: cards and feedback are stored under it."""
    jti: str | None
    """The JWT id to record (``None`` for an unsigned call)."""
    expires_at: datetime | None
    """When the JWT expires: its id is kept until then."""
    fhir_servers: tuple[str, ...] = ()
    """FHIR server base URLs of this client we may fetch missing prefetch data from."""


class FhirFetcher(Protocol):
    """Reads one FHIR query (relative to the request's ``fhirServer``) for a use case.

    Returns the parsed JSON resource or Bundle. Raises
    :class:`~needlewise.errors.PreconditionFailed` when the data cannot be had: no
    ``fhirServer`` in the request, a server off the caller's allow-list (never contacted),
    a timeout, an answer over the size cap, a non-2xx status or a body that is not JSON.
    """

    def __call__(self, query: str) -> Any: ...
