"""Bundle ``searchset``: one page of a search, with its total and paging links."""

from __future__ import annotations

from collections.abc import Sequence

from needlewise.interop.fhir.emit.common import JsonObject


def searchset(
    resources: Sequence[JsonObject],
    total: int,
    base: str,
    links: Sequence[tuple[str, str]],
) -> JsonObject:
    """A searchset Bundle. ``base`` is the FHIR base URL (``https://host/fhir``), each
    entry's ``fullUrl`` is ``{base}/{type}/{id}``; ``links`` are (relation, url) pairs
    (``self``, ``next``, ``previous``)."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": relation, "url": url} for relation, url in links],
        "entry": [
            {
                "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in resources
        ],
    }
