"""A record's version on the wire: the ETag we answer with and the If-Match we read back.

Every versioned record (patients, users, providers, the clinic, consents, sessions,
adverse events, check-ins) is answered with a strong ``ETag`` naming its kind, id and
version (``"patient-7-v3"``, built by :func:`needlewise.services.records.etag`, the
format the kept idempotent answers also store). A change sends it back in ``If-Match``;
the use case receives the version as a plain ``int`` and refuses a stale one with 412
(:mod:`needlewise.services.records`).

* :func:`tagged` — the :class:`~needlewise.services.idempotency.Answer` of one version
  of a record (body and ETag), for :func:`needlewise.web.responses.respond` or for an
  idempotent create to keep;
* :func:`versioned` — that answer as a response: the one way a route answers with an ETag;
* :func:`if_match` — the version a request's ``If-Match`` names (428 when it is missing).
"""

from __future__ import annotations

from typing import Any, Protocol

from starlette.requests import Request

from needlewise.errors import PreconditionRequired
from needlewise.services.idempotency import Answer
from needlewise.services.records import etag
from needlewise.web.responses import JsonBytes, respond


class VersionedOut(Protocol):
    """A record as returned by a service: its id and version make its ETag."""

    @property
    def id(self) -> int: ...

    @property
    def version(self) -> int: ...

    def model_dump(self, *, mode: str) -> dict[str, Any]: ...


def tagged(kind: str, out: VersionedOut, status: int = 200) -> Answer:
    """``out`` as JSON with its ETag (``kind``, id, version): the value to send back in
    ``If-Match`` when changing the record."""
    return Answer(status, out.model_dump(mode="json"), etag(kind, out.id, out.version))


def versioned(kind: str, out: VersionedOut, status: int = 200) -> JsonBytes:
    """The response carrying ``out`` and its ETag."""
    return respond(tagged(kind, out, status))


def parse_if_match(header: str | None, kind: str, record_id: int) -> int | None:
    """The version an ``If-Match`` header names: ``None`` when it is absent or empty, -1
    when it names another record or is not one of our ETags (so it never matches)."""
    if not header:
        return None
    value = header.strip().removeprefix("W/")
    prefix = f'"{kind}-{record_id}-v'  # the format of services.records.etag
    if value.startswith(prefix) and value.endswith('"') and value[len(prefix) : -1].isdigit():
        return int(value[len(prefix) : -1])
    return -1


def if_match(request: Request, kind: str, record_id: int) -> int:
    """The version named by the request's ``If-Match``; 428 when the header is missing."""
    version = parse_if_match(request.headers.get("if-match"), kind, record_id)
    if version is None:
        raise PreconditionRequired(
            f"send If-Match with the ETag of the {kind} you read (e.g. {etag(kind, record_id, 1)})"
        )
    return version
