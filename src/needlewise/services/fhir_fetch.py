"""Fetch missing prefetch data from the calling EHR's FHIR server, and nowhere else.

A CDS Hooks request may name the EHR's FHIR server (``fhirServer``) and a token for it
(``fhirAuthorization.access_token``). The door builds one :class:`HttpFhirFetcher` per
call (:func:`fetcher_for`) and hands it to the use case, which calls it with a relative
FHIR query (``Patient/123``, ``Condition?patient=123``) when the request's prefetch lacks
something it needs.

The guard against server-side request forgery — a request naming a server we were never
meant to contact:

* the ``fhirServer`` must be on the **caller's** ``fhir_servers`` allow-list (from the
  clients file), compared after normalisation (scheme, host, port, path;
  :func:`~needlewise.services.cds_clients.normalise_base_url`). Absent, off the list,
  or carrying a user name, password, query or fragment: :class:`PreconditionFailed`
  (412), and the server is never contacted;
* the query must stay under that base URL: a relative reference (no scheme, no ``:``,
  ``..`` or ``\\`` in its path; search parameters may hold URLs);
* redirects are not followed (a 3xx is an error), proxy environment variables are
  ignored (``trust_env=False``);
* connect, read, write and pool timeouts are ``NEEDLEWISE_CDS_FETCH_TIMEOUT_SECONDS``,
  and the whole answer must arrive within it too (checked as each chunk arrives);
* the answer is read as a stream and abandoned past ``NEEDLEWISE_CDS_FETCH_MAX_BYTES``.

Every failure is a 412 whose message names the query and what went wrong (status,
timeout, size, not JSON), never the data. Nothing is logged but the failure's kind.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import orjson

from needlewise.errors import PreconditionFailed
from needlewise.services.cds_caller import CdsCaller, FhirFetcher
from needlewise.services.cds_clients import normalise_base_url

log = logging.getLogger("needlewise.cds")

ACCEPT = "application/fhir+json"
MAX_QUERY_CHARS = 2_000


def _fhir_request(request: dict[str, Any]) -> tuple[str | None, str | None]:
    """(``fhirServer``, ``fhirAuthorization.access_token``) of a CDS Hooks request, each
    ``None`` when absent or not a string."""
    server = request.get("fhirServer")
    auth = request.get("fhirAuthorization")
    token = auth.get("access_token") if isinstance(auth, dict) else None
    return (
        server if isinstance(server, str) else None,
        token if isinstance(token, str) and token else None,
    )


def _refused(query: str, why: str) -> PreconditionFailed:
    return PreconditionFailed(f"could not fetch {query[:200]!r} from the EHR's FHIR server: {why}")


class HttpFhirFetcher:
    """A :class:`~needlewise.services.cds_caller.FhirFetcher` bound to one allowed FHIR
    server (or to none: then every query is refused with ``reason``)."""

    def __init__(
        self,
        base_url: str | None,
        access_token: str | None,
        *,
        timeout: float,
        max_bytes: int,
        refusal: str | None = None,
    ) -> None:
        self.base_url = base_url
        self.access_token = access_token
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.refusal = refusal

    def url_of(self, query: str) -> str:
        """The absolute URL of ``query`` under the base URL (412 when it would leave it)."""
        if self.base_url is None:
            raise _refused(query, self.refusal or "no FHIR server")
        path = query.split("?", 1)[0]
        if (
            not path
            or len(query) > MAX_QUERY_CHARS
            or path.startswith("/")
            or ":" in path  # a scheme (http:, file:) or a port: not a relative reference
            or "#" in query
            or "\\" in query
            or any(ord(c) <= 32 or ord(c) == 127 for c in query)
            or any(part in (".", "..") for part in path.split("/"))
        ):
            raise _refused(query, "not a relative FHIR query")
        url = f"{self.base_url}/{query}"
        parsed = httpx.URL(url)
        if not str(parsed.copy_with(query=None)).startswith(self.base_url + "/"):
            raise _refused(query, "not a relative FHIR query")
        return url

    def __call__(self, query: str) -> Any:
        url = self.url_of(query)
        headers = {"accept": ACCEPT, "accept-encoding": "identity"}
        if self.access_token is not None:
            headers["authorization"] = f"Bearer {self.access_token}"
        deadline = time.monotonic() + self.timeout
        body = bytearray()
        try:
            with (
                httpx.Client(
                    timeout=self.timeout, follow_redirects=False, trust_env=False
                ) as client,
                client.stream("GET", url, headers=headers) as answer,
            ):
                if not 200 <= answer.status_code < 300:
                    raise _refused(query, f"it answered HTTP {answer.status_code}")
                declared = answer.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise _refused(query, f"the answer is larger than {self.max_bytes} bytes")
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise _refused(query, f"the answer is larger than {self.max_bytes} bytes")
                    if time.monotonic() > deadline:
                        raise _refused(query, f"no full answer within {self.timeout:g} s")
        except httpx.TimeoutException:
            log.warning("CDS Hooks: a FHIR fetch timed out")
            raise _refused(query, f"no answer within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            log.warning("CDS Hooks: a FHIR fetch failed (%s)", type(exc).__name__)
            raise _refused(query, f"the connection failed ({type(exc).__name__})") from None
        try:
            return orjson.loads(bytes(body))
        except orjson.JSONDecodeError:
            raise _refused(query, "the answer is not JSON") from None


def fetcher_for(
    request: dict[str, Any], caller: CdsCaller, *, timeout: float, max_bytes: int
) -> FhirFetcher:
    """The fetcher for one CDS Hooks call: bound to the request's ``fhirServer`` when it
    is on ``caller.fhir_servers``; otherwise one that refuses every query (412) without
    contacting anything. Building it does no I/O."""
    server, token = _fhir_request(request)
    if server is None:
        refusal = "the request names no fhirServer"
    else:
        try:
            base = normalise_base_url(server)
        except ValueError as exc:
            refusal = f"its fhirServer {exc}"
        else:
            if base in caller.fhir_servers:
                return HttpFhirFetcher(base, token, timeout=timeout, max_bytes=max_bytes)
            refusal = "its fhirServer is not on this CDS client's fhir_servers allow-list"
    return HttpFhirFetcher(None, None, timeout=timeout, max_bytes=max_bytes, refusal=refusal)
