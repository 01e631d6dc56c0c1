"""Prefetch: the FHIR queries a screen needs, and reading what the client sent.

Each key of :func:`templates` is a FHIR search with ``{{context.patientId}}`` tokens
(the only root-level context field we need). A client fills the keys it can; for a key
it left out (or answered with an OperationOutcome, i.e. it could not get the data) the
use case asks its :data:`Fetch` for :func:`render`-ed query instead, and the fetcher
raises :class:`~needlewise.errors.PreconditionFailed` (HTTP 412) when the data cannot be
had. A key sent as ``null`` means "there is no such data": that is an answer.

:func:`screening_bundle` turns the prefetch into one ``collection`` Bundle, read by the
same FHIR reader as every other screening input
(:func:`needlewise.interop.fhir.bundle.read_screening_document`); an error it finds is
reported at the prefetch path it came from (``$.prefetch.conditions.entry[2].resource…``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from needlewise.errors import InputError, PreconditionFailed
from needlewise.interop.fhir.access import kind_of
from needlewise.interop.fhir.canonical import INTAKE_ID, questionnaire_url
from needlewise.knowledge.base import KnowledgeBase

Fetch = Callable[[str], Any]
"""Reads one FHIR query relative to the request's ``fhirServer`` (the door's fetcher)."""

MAX_PAGES = 10
"""Pages of one paginated prefetch search we follow (``link`` ``next``) before giving up."""

#: the keys a screen cannot do without: missing and not fetchable -> 412
REQUIRED = ("patient", "conditions", "medicationRequests", "allergies", "observations")
#: keys that only add to a screen; missing and not fetchable -> screened without them
#: (the card names what was not shared; without the intake the screen is never "eligible")
OPTIONAL = ("procedures", "medicationStatements", "intake")

_TOKEN = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_CONTEXT_FIELD = re.compile(r"^context\.([A-Za-z][A-Za-z0-9]*)$")
_USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}


def templates(kb: KnowledgeBase) -> dict[str, str]:
    """The prefetch templates of the screen (published in discovery)."""
    patient = "{{context.patientId}}"
    return {
        "patient": f"Patient/{patient}",
        "conditions": f"Condition?patient={patient}",
        "medicationRequests": f"MedicationRequest?patient={patient}",
        "allergies": f"AllergyIntolerance?patient={patient}",
        "observations": f"Observation?patient={patient}&_sort=-date&_count=100",
        "procedures": f"Procedure?patient={patient}&_sort=-date&_count=50",
        "medicationStatements": f"MedicationStatement?patient={patient}",
        "intake": (
            f"QuestionnaireResponse?subject=Patient/{patient}"
            f"&questionnaire={questionnaire_url(kb, INTAKE_ID)}&_sort=-authored&_count=1"
        ),
    }


class UnsupportedToken(ValueError):
    """A template token CDS Hooks 2.0 does not define (e.g. 3.0's FHIRPath tokens)."""


def render(template: str, context: dict[str, Any]) -> str:
    """Fill a template's tokens from the hook's context: ``{{context.x}}`` (root-level
    primitive fields only, as CDS Hooks 2.0 allows) and the user tokens
    (``{{userPractitionerId}}`` … from ``context.userId``). Raises
    :class:`UnsupportedToken` for any other token, and :class:`InputError` at
    ``$.context.x`` when the context lacks the field a token needs."""

    def value(match: re.Match[str]) -> str:
        token = match.group(1)
        field_match = _CONTEXT_FIELD.match(token)
        if field_match is not None:
            name = field_match.group(1)
            found = context.get(name)
            if not isinstance(found, str | int) or isinstance(found, bool):
                raise InputError(
                    "the prefetch template needs this context field (a string)",
                    f"$.context.{name}",
                )
            return str(found)
        if token in _USER_TOKENS:
            user = context.get("userId")
            kind, _, rid = user.partition("/") if isinstance(user, str) else ("", "", "")
            if kind != _USER_TOKENS[token] or not rid:
                raise InputError(
                    f"the prefetch template needs a {_USER_TOKENS[token]} userId",
                    "$.context.userId",
                )
            return rid
        raise UnsupportedToken(f"prefetch token {{{{{token}}}}} is not a CDS Hooks 2.0 token")

    return _TOKEN.sub(value, template)


@dataclass
class Gathered:
    """Prefetch data ready for the screen."""

    bundle: dict[str, Any]
    origins: list[Origin]  # where each entry of ``bundle`` came from (:func:`origin_of`)
    fetched: list[str] = field(default_factory=list)  # keys read from the FHIR server
    missing: list[str] = field(default_factory=list)  # optional keys we could not have
    counts: dict[str, int] = field(default_factory=dict)  # resources read, by type
    patient: dict[str, Any] | None = None  # the Patient resource, when sent


Origin = tuple[str, int | None]
"""A prefetch path and, for a Bundle entry, its index (the path is built only on error)."""


def _origin_path(origin: Origin) -> str:
    path, index = origin
    return path if index is None else f"{path}.entry[{index}]"


def _is_outcome(value: Any) -> bool:
    return type(value) is dict and value.get("resourceType") == "OperationOutcome"


def _relative(url: str, server: str | None) -> str | None:
    if server and url.startswith(server.rstrip("/") + "/"):
        return url[len(server.rstrip("/")) + 1 :]
    return None


def _next_link(bundle: dict[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if type(link) is dict and link.get("relation") == "next":
            url = link.get("url")
            return url if type(url) is str else None
    return None


class _Collector:
    def __init__(self, fetch: Fetch, server: str | None) -> None:
        self.fetch = fetch
        self.server = server
        self.entries: list[dict[str, Any]] = []
        self.origins: list[Origin] = []
        self.counts: dict[str, int] = {}
        self.patient: dict[str, Any] | None = None

    def add(self, value: Any, path: str) -> None:
        if value is None:
            return
        if type(value) is not dict:
            raise InputError(f"expected a FHIR resource or Bundle, found {kind_of(value)}", path)
        if value.get("resourceType") != "Bundle":
            kind = value.get("resourceType")
            if type(kind) is not str:
                raise InputError("resource without a resourceType", f"{path}.resourceType")
            self.entries.append({"resource": value})
            self.origins.append((path, None))
            self._count(kind, value)
            return
        page, pages = value, 0
        while True:
            self._bundle(page, path)
            pages += 1
            following = _next_link(page)
            if following is None:
                return
            relative = _relative(following, self.server)
            if relative is None or pages >= MAX_PAGES:
                raise PreconditionFailed(
                    "a prefetch search has more pages than can be read from the FHIR server",
                    location=f"{path}.link",
                )
            try:
                page = self.fetch(relative)
            except PreconditionFailed as exc:
                raise PreconditionFailed(
                    "the next page of a prefetch search cannot be read from the FHIR server "
                    f"({exc.message})",
                    location=f"{path}.link",
                ) from None
            path = f"{path}(page {pages + 1})"
            if type(page) is not dict or page.get("resourceType") != "Bundle":
                raise PreconditionFailed(
                    "the FHIR server's next page is not a Bundle", location=path
                )

    def _bundle(self, bundle: dict[str, Any], path: str) -> None:
        entries = bundle.get("entry", [])
        if type(entries) is not list:
            raise InputError(f"expected a list, found {kind_of(entries)}", f"{path}.entry")
        for i, entry in enumerate(entries):
            if type(entry) is not dict:
                raise InputError(
                    f"expected an entry object, found {kind_of(entry)}", f"{path}.entry[{i}]"
                )
            resource = entry.get("resource")
            if resource is None:
                continue
            kind = resource.get("resourceType") if type(resource) is dict else None
            if kind == "OperationOutcome":
                continue  # a search's warnings (search.mode outcome) are not patient data
            self.entries.append(entry)
            self.origins.append((path, i))
            if type(kind) is str:  # (anything else: the FHIR reader names the problem)
                self._count(kind, resource)

    def _count(self, kind: str, resource: dict[str, Any]) -> None:
        counts = self.counts
        counts[kind] = counts.get(kind, 0) + 1
        if kind == "Patient" and self.patient is None:
            self.patient = resource


def value_or_fetch(
    prefetch: dict[str, Any] | None,
    key: str,
    template: str,
    context: dict[str, Any],
    fetch: Fetch,
) -> Any:
    """The value of a needed prefetch ``key`` as sent (a resource, a Bundle or ``null``),
    or else read from the FHIR server; :class:`PreconditionFailed` (412) when it cannot
    be had, :class:`InputError` when the value sent is not FHIR JSON."""
    sent = prefetch or {}
    path = f"$.prefetch.{key}"
    if key in sent and not _is_outcome(sent[key]):
        value = sent[key]
        if value is not None and (type(value) is not dict or "resourceType" not in value):
            raise InputError(f"expected a FHIR resource or Bundle, found {kind_of(value)}", path)
        return value
    try:
        return fetch(render(template, context))
    except PreconditionFailed as exc:
        raise PreconditionFailed(
            f"prefetch {key!r} was not sent and cannot be read from the FHIR server "
            f"({exc.message}); send it as prefetch or allow the fetch",
            location=path,
            query=template,
        ) from None


def gather(
    kb: KnowledgeBase,
    prefetch: dict[str, Any] | None,
    context: dict[str, Any],
    fetch: Fetch,
    server: str | None,
) -> Gathered:
    """Every prefetch key the screen reads, from the request or else from the server.

    Raises :class:`PreconditionFailed` when a required key is neither sent nor fetchable,
    :class:`InputError` for a prefetch value that is not FHIR JSON."""
    sent = prefetch or {}
    collector = _Collector(fetch, server)
    fetched: list[str] = []
    missing: list[str] = []
    for key, template in templates(kb).items():
        path = f"$.prefetch.{key}"
        if key in sent and not _is_outcome(sent[key]):
            collector.add(sent[key], path)
            continue
        query = render(template, context)
        try:
            value = fetch(query)
        except PreconditionFailed as exc:
            if key in REQUIRED:
                raise PreconditionFailed(
                    f"prefetch {key!r} was not sent and cannot be read from the FHIR server "
                    f"({exc.message}); send it as prefetch or allow the fetch",
                    location=path,
                    query=template,
                ) from None
            missing.append(key)
            continue
        fetched.append(key)
        collector.add(value, f"{path}(fetched)")
    _check_patient(collector, context)
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": collector.entries}
    return Gathered(
        bundle, collector.origins, fetched, missing, collector.counts, collector.patient
    )


def collect(
    prefetch: dict[str, Any], fetch: Fetch, server: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Every key of ``prefetch`` as one collection Bundle (and each entry's prefetch path),
    following ``next`` links through ``fetch``; the checks :func:`gather` makes on each
    value, for any prefetch (the conformance tests read the spec's examples with it)."""
    collector = _Collector(fetch, server)
    for key, value in prefetch.items():
        if not _is_outcome(value):
            collector.add(value, f"$.prefetch.{key}")
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": collector.entries}
    return bundle, [_origin_path(origin) for origin in collector.origins]


def _check_patient(collector: _Collector, context: dict[str, Any]) -> None:
    """The prefetched Patient must be the context's patient (screening another person's
    data would be unsafe); the reader checks every other resource refers to it."""
    if collector.patient is None or collector.counts.get("Patient", 0) > 1:
        return  # none to check, or several: the FHIR reader refuses a second Patient
    if collector.patient.get("id") not in (None, str(context.get("patientId", ""))):
        for entry, origin in zip(collector.entries, collector.origins, strict=True):
            if entry["resource"] is collector.patient:
                raise InputError(
                    "this Patient is not the context's patientId", f"{_origin_path(origin)}.id"
                )


_ENTRY = re.compile(r"^\$\.entry\[(\d+)\]")


def origin_of(error: InputError, origins: list[Origin]) -> InputError:
    """``error`` from reading the assembled Bundle, located in the prefetch instead."""
    match = _ENTRY.match(error.where)
    if match is None or int(match.group(1)) >= len(origins):
        return InputError(error.problem, "$.prefetch")
    origin = _origin_path(origins[int(match.group(1))])
    return InputError(error.problem, origin + error.where[match.end() :])
