"""Who is calling a CDS Hooks service: the bearer JWT checked, the caller built.

:class:`CdsDoor` is built once by :func:`needlewise.web.cds_hooks.add_cds_hooks` (at
``create_app`` time) and kept on ``app.state.cds_door``: the client registry, the JWT
verifier with its parsed keys and fetched key sets, the clinic of each client once
looked up. Per call, :meth:`CdsDoor.caller` does no registry work and no I/O on the
usual path (keys held, clinic known): it reads the header, verifies the token and
returns a :class:`~needlewise.services.cds_caller.CdsCaller`.

Every refusal is one audit entry (``denied``, with the :data:`REASONS
<needlewise.security.cds_jwt.REASONS>` code, the caller ``anonymous``: nothing of an
unverified token is trusted or stored) and a 401 naming the code. Once a caller is
let in, ``request.state.actor`` names it as the use cases' audit entries do
(``cds:<issuer>``, :func:`~needlewise.services.cds_writer.caller_actor`) so that a later refusal (a
replayed ``jti``, an unknown service) is audited by the app's error handler under the
client's clinic.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import NoReturn

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from needlewise.errors import Unauthorized, audited
from needlewise.security.cds_jwt import CdsJwtVerifier, JwtRefused, KeyNeeded, VerifiedToken
from needlewise.services.cds_caller import UNSIGNED, CdsCaller
from needlewise.services.cds_clients import CdsClient, CdsClients, ClinicResolver
from needlewise.services.cds_writer import caller_actor
from needlewise.services.refusals import anonymous
from needlewise.web import refusals
from needlewise.web.auth import remote_of
from needlewise.web.state import runtime_of

log = logging.getLogger("needlewise.cds")


@dataclass
class CdsDoor:
    """What the CDS Hooks routes share, built once per app."""

    clients: CdsClients
    verifier: CdsJwtVerifier
    allow_unsigned: bool
    base_url: str | None
    """``NEEDLEWISE_CDS_BASE_URL`` without a trailing ``/`` (``None``: as received)."""
    clinics: ClinicResolver = field(default_factory=ClinicResolver)

    def public_base(self, request: Request) -> str:
        """Our base URL as EHRs call it: the setting, else the request's own."""
        if self.base_url is not None:
            return self.base_url
        url = request.url
        return f"{url.scheme}://{url.netloc}"

    def audience(self, request: Request) -> str:
        """The exact URL being called, which the JWT's ``aud`` must equal: the base URL
        plus the request's path (no query string)."""
        return self.public_base(request) + request.url.path

    async def caller(self, request: Request) -> CdsCaller:
        """The verified caller of ``request``; an audited 401 otherwise (see the module
        docstring). Without an ``Authorization`` header, the development switch lets
        the call in as :data:`~needlewise.services.cds_caller.UNSIGNED`."""
        header = request.headers.get("authorization")
        if header is None:
            if self.allow_unsigned:
                return await self._unsigned(request)
            await self._refuse(request, "unauthenticated", "send Authorization: Bearer <JWT>")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await self._refuse(request, "malformed", "the Authorization header is not Bearer")
        try:
            verified = await self._verify(token.strip(), self.audience(request))
        except JwtRefused as exc:
            await self._refuse(request, exc.reason, exc.message)
        client = self.clients.get(verified.issuer)
        assert client is not None  # the verifier knows only registered issuers
        clinic_id = await self._clinic(request, client.clinic_id)
        caller = CdsCaller(
            client=client.issuer,
            clinic_id=clinic_id,
            jti=verified.jti,
            expires_at=verified.expires_at,
            fhir_servers=client.fhir_servers,
        )
        request.state.actor = replace(caller_actor(caller), remote=remote_of(request))
        return caller

    async def _verify(self, token: str, audience: str) -> VerifiedToken:
        found = self.verifier.check(token, audience)  # no I/O when the key is held
        if isinstance(found, KeyNeeded):
            return await run_in_threadpool(self.verifier.verify_blocking, token, audience)
        return found

    async def _clinic(self, request: Request, wanted: int | None) -> int:
        known = self.clinics.known(wanted)
        if known is not None:
            return known
        return await run_in_threadpool(self.clinics.resolve, runtime_of(request), wanted)

    async def _unsigned(self, request: Request) -> CdsCaller:
        log.warning(
            "CDS Hooks: UNSIGNED call to %s %s accepted (NEEDLEWISE_CDS_ALLOW_UNSIGNED is on)",
            request.method,
            request.url.path,
        )
        clinic_id = await self._clinic(request, None)
        caller = CdsCaller(client=UNSIGNED, clinic_id=clinic_id, jti=None, expires_at=None)
        request.state.actor = replace(caller_actor(caller), remote=remote_of(request))
        return caller

    async def _refuse(self, request: Request, reason: str, message: str) -> NoReturn:
        """Audit the refusal (once) and raise the 401."""
        await refusals.record(request, anonymous(remote_of(request)), "denied", reason)
        raise audited(Unauthorized(f"CDS Hooks call refused: {message}", reason=reason))


def door_of(request: Request) -> CdsDoor:
    """The app's :class:`CdsDoor` (built by ``add_cds_hooks``)."""
    door: CdsDoor = request.app.state.cds_door
    return door


def registered(client: CdsClient) -> str:
    """How a start-up log line names a client (its name and issuer; no keys)."""
    return f"{client.name} ({client.issuer})"
