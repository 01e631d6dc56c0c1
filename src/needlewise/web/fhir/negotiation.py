"""What the facade answers in: FHIR JSON only.

``_format`` (``json``, ``application/json``, ``application/fhir+json``, with any
parameters) and the ``Accept`` header are checked on every GET: a request that accepts
only something else (XML, Turtle, HTML alone) gets 406 Not Acceptable as an
OperationOutcome, as the FHIR HTTP page recommends, rather than JSON it did not ask for.
A missing ``Accept``, ``*/*`` and ``application/*`` are fine (browsers and most clients).
"""

from __future__ import annotations

from starlette.requests import Request

from needlewise.errors import ServiceError

_JSON = frozenset({"json", "application/json", "application/fhir+json"})
_ACCEPTED = _JSON | {"*/*", "application/*"}


class NotAcceptable(ServiceError):
    """The client asked for a format other than FHIR JSON."""

    status, code = 406, "not-acceptable"


def _bare(media: str) -> str:
    return media.split(";", 1)[0].strip().lower()


def check_format(request: Request) -> None:
    """``NotAcceptable`` unless the request takes FHIR JSON."""
    for value in request.query_params.getlist("_format"):
        if _bare(value) not in _JSON:
            raise NotAcceptable(
                "this server answers FHIR JSON only (_format=json or application/fhir+json)"
            )
    accept = request.headers.get("accept")
    if accept and not any(_bare(part) in _ACCEPTED for part in accept.split(",")):
        raise NotAcceptable("this server answers application/fhir+json only")
