"""Use cases of the FHIR facade's read side: read one resource, search a type.

Both are scoped to the caller's clinic and authorized as the JSON API authorizes the
same records (:mod:`needlewise.services.fhir_sources`); both write one audit ``read``
entry per record returned, under the JSON API's kind for it (``patient``, ``screening``,
``session`` …), exactly as the JSON API's reads do (:func:`audit.record_reads`). A
search that returns nothing writes nothing. Questionnaires come from the knowledge base
(no patient data) and any staff member may read them; their reads are audited as
``questionnaire``.

Searches build the matching resources of the clinic (filtered in SQL by clinic,
patient, id and date), order them by row id, and return one page by offset
(``_offset``), with the total. Each returned resource's id is stable (``session-12``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from needlewise.errors import Forbidden, NotFound
from needlewise.interop.fhir.canonical import AFTERCARE_ID, INTAKE_ID
from needlewise.interop.fhir.emit import ids
from needlewise.interop.fhir.emit.common import JsonObject
from needlewise.interop.fhir.emit.patient import patient_identifier_system
from needlewise.interop.fhir.questionnaire import questionnaire
from needlewise.services import audit
from needlewise.services.actor import Actor
from needlewise.services.fhir_search import SearchQuery, parse_query
from needlewise.services.fhir_sources import TYPES, FhirType, Source
from needlewise.services.runtime import Runtime

QUESTIONNAIRES = {INTAKE_ID: "intake", AFTERCARE_ID: "aftercare"}

#: every type the facade reads, in the CapabilityStatement's order
READ_TYPES: tuple[str, ...] = ("Questionnaire", *TYPES)


@dataclass(frozen=True)
class Found:
    """One page of a search: its resources, the total over all pages, the query read."""

    resources: list[JsonObject]
    total: int
    query: SearchQuery


def fhir_type(name: str) -> FhirType | None:
    return TYPES.get(name)


def _unknown_type(name: str) -> NotFound:
    del name  # never echoed: a path segment may carry anything
    return NotFound("this server does not serve that resource type (see /fhir/metadata)")


def _readable(actor: Actor, sources: tuple[Source, ...]) -> list[Source]:
    """The sources the actor may read; ``Forbidden`` (the first missing permission) when
    none."""
    readable = []
    for source in sources:
        try:
            actor.require(source.permission)
        except Forbidden:
            continue
        readable.append(source)
    if not readable:
        actor.require(sources[0].permission)  # raises Forbidden naming the permission
    return readable


def _audit(runtime: Runtime, actor: Actor, returned: list[tuple[Source, int, int]]) -> None:
    entries = {}
    for source, row_id, patient_id in returned:
        entries[(source.audit_kind, row_id)] = audit.entry(
            actor, "read", source.audit_kind, row_id, patient_id
        )
    audit.record_now(runtime.db, list(entries.values()))


def _patient_of(row: object) -> int:
    patient_id = getattr(row, "patient_id", None)
    return patient_id if isinstance(patient_id, int) else int(getattr(row, "id"))  # noqa: B009


def _collect(
    runtime: Runtime,
    actor: Actor,
    sources: list[Source],
    query: SearchQuery,
    base_url: str,
    row_id: int | None = None,
) -> list[tuple[JsonObject, Source, int, int]]:
    """(resource, source, row id, patient id) of every match, by source then row id."""
    found: list[tuple[JsonObject, Source, int, int]] = []
    if actor.clinic_id is None:
        return found
    with runtime.db.read() as tx:
        for source in sources:
            rows = source.rows(tx, actor.clinic_id, query, row_id)
            context = source.context_for(tx, runtime.kb, base_url, rows)
            for row in rows:
                found.extend(
                    (resource, source, row.id, _patient_of(row))
                    for resource in source.emit(context, row)
                )
    return found


def read_resource(
    runtime: Runtime, actor: Actor, type_name: str, resource_id: str, base_url: str
) -> JsonObject:
    """One resource by type and id (``NotFound`` when it is not the caller's to see)."""
    if type_name == "Questionnaire":
        return _read_questionnaire(runtime, actor, resource_id)
    kind = fhir_type(type_name)
    if kind is None:
        raise _unknown_type(type_name)
    parsed = ids.parse(resource_id)
    sources = [s for s in kind.sources if parsed is not None and s.prefix == parsed[0]]
    if parsed is None or not sources:
        raise NotFound(f"no {type_name} with that id")
    readable = _readable(actor, tuple(sources))
    matches = [
        hit
        for hit in _collect(runtime, actor, readable, SearchQuery(), base_url, parsed[1])
        if hit[0]["id"] == resource_id
    ]
    if not matches:
        raise NotFound(f"no {type_name} with that id")
    resource, source, row_id, patient_id = matches[0]
    _audit(runtime, actor, [(source, row_id, patient_id)])
    return resource


def search(
    runtime: Runtime,
    actor: Actor,
    type_name: str,
    params: list[tuple[str, str]],
    base_url: str,
) -> Found:
    """One page of the resources of ``type_name`` matching ``params`` (FHIR search
    parameters, strictly read: :mod:`needlewise.services.fhir_search`)."""
    if type_name == "Questionnaire":
        return _search_questionnaires(runtime, actor, params)
    kind = fhir_type(type_name)
    if kind is None:
        raise _unknown_type(type_name)
    query = parse_query(params, kind.date_param, kind.patient_param, kind.identifier_param)
    readable = _readable(actor, kind.sources)
    row_id = None
    if query.identifier is not None and query.identifier[0] == patient_identifier_system(
        runtime.kb
    ):
        # our own patient number: the row itself, not an imported identifier
        number = query.identifier[1]
        if not number.isdigit() or len(number) > 10 or int(number) > ids.MAX_ROW_ID:
            return Found([], 0, query)
        row_id = int(number)
        query = replace(query, identifier=None)
    if query.resource_id is not None:
        parsed = ids.parse(query.resource_id)
        if parsed is None or (row_id is not None and row_id != parsed[1]):
            return Found([], 0, query)
        readable = [s for s in readable if s.prefix == parsed[0]]
        row_id = parsed[1]
    hits = _collect(runtime, actor, readable, query, base_url, row_id)
    if query.resource_id is not None:
        hits = [hit for hit in hits if hit[0]["id"] == query.resource_id]
    page = hits[query.offset : query.offset + query.count]
    _audit(runtime, actor, [(source, row, patient) for _, source, row, patient in page])
    return Found([resource for resource, *_ in page], len(hits), query)


def _questionnaire(runtime: Runtime, questionnaire_id: str) -> JsonObject:
    resource = questionnaire(runtime.kb, QUESTIONNAIRES[questionnaire_id])
    released = runtime.kb.data.meta.released.isoformat()
    meta = {"versionId": runtime.kb.version, "lastUpdated": f"{released}T00:00:00+00:00"}
    return {**resource, "meta": meta}


def _read_questionnaire(runtime: Runtime, actor: Actor, resource_id: str) -> JsonObject:
    if resource_id not in QUESTIONNAIRES:
        raise NotFound("no Questionnaire with that id")
    resource = _questionnaire(runtime, resource_id)
    audit.record_reads(runtime.db, actor, "questionnaire", [(resource_id, None)])
    return resource


def _search_questionnaires(runtime: Runtime, actor: Actor, params: list[tuple[str, str]]) -> Found:
    query = parse_query(params, None, False)
    wanted = [q for q in QUESTIONNAIRES if query.resource_id in (None, q)]
    page = wanted[query.offset : query.offset + query.count]
    audit.record_reads(runtime.db, actor, "questionnaire", [(q, None) for q in page])
    return Found([_questionnaire(runtime, q) for q in page], len(wanted), query)
