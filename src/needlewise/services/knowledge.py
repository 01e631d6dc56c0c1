"""Use cases about the knowledge base itself: check it, show items, summarise it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from needlewise.errors import InputError
from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Source

KINDS = (
    "contraindication", "indication", "risk", "symptom", "escalation", "disposition",
    "region", "muscle", "billing", "coverage", "documentation", "state", "profession",
    "measure", "policy", "source", "aftercare", "emergency-plan", "override-reason",
    "consent-addendum", "checklist",
)  # fmt: skip


def counts(kb: KnowledgeBase) -> dict[str, int]:
    """Number of items of each kind, by id prefix."""
    found = dict.fromkeys(KINDS, 0)
    for item_id in kb.by_id:
        kind = item_id.split(".", 1)[0]
        found[kind] = found.get(kind, 0) + 1
    return found


def summary(kb: KnowledgeBase) -> dict[str, Any]:
    """Version, content hash and counts (``GET /api/knowledge``)."""
    return {
        "version": kb.version,
        "sha256": kb.sha256,
        "released": kb.data.meta.released.isoformat(),
        "languages": list(kb.data.meta.languages),
        "counts": counts(kb),
        "value_sets": {
            "loaded": kb.codes.value_sets_loaded,
            "sha256": kb.codes.value_sets_sha256,
            "named": len(kb.codes.named_sets),
            "problems": len(kb.value_set_problems),
        },
    }


def check(kb: KnowledgeBase, folder: Path | None) -> dict[str, Any]:
    """Everything ``needlewise kb check`` reports: validity, counts, each named value set."""
    notes = [
        f"value set {s.title} ({s.url}): knowledge names version {s.version_named}, "
        f"folder has {s.version_found}"
        for s in kb.codes.named_sets
        if s.found and s.version_named and s.version_found and s.version_named != s.version_found
    ]
    return {
        "valid": True,
        "version": kb.version,
        "sha256": kb.sha256,
        "counts": counts(kb),
        "value_sets": {
            "folder": str(folder) if folder is not None else None,
            "loaded": kb.codes.value_sets_loaded,
            "sha256": kb.codes.value_sets_sha256,
            "named": [
                {
                    "url": s.url,
                    "title": s.title,
                    "found": s.found,
                    "codes": s.codes,
                    "file": s.file,
                    "rules": list(s.rules),
                }
                for s in kb.codes.named_sets
            ],
        },
        "problems": list(kb.value_set_problems),
        "notes": notes,
    }


def show(kb: KnowledgeBase, item_id: str | None) -> dict[str, Any]:
    """One item (with its citations), or the items whose id starts with ``item_id``."""
    if not item_id:
        return {
            "version": kb.version,
            "sha256": kb.sha256,
            "counts": counts(kb),
            "ids": {kind: [i for i in kb.by_id if i.split(".", 1)[0] == kind] for kind in KINDS},
        }
    item = kb.get(item_id)
    if item is not None:
        document: dict[str, Any] = item.model_dump(mode="json", exclude_none=True)  # type: ignore[attr-defined]
        sources = [] if isinstance(item, Source) else _sources_of(document)
        return {"item": document, "citations": kb.citations(sources)}
    prefix = item_id if item_id.endswith(".") else f"{item_id}."
    matches = [i for i in kb.by_id if i.startswith(prefix)]
    if not matches:
        raise InputError(
            f"no knowledge item {item_id!r}; try `needlewise kb show` for every id", "ID"
        )
    return {"items": [{"id": i, "title": _title(kb.get(i))} for i in matches]}


def _title(item: object) -> str:
    title = getattr(item, "title", None)
    if title is None:
        return getattr(item, "citation", "")
    return str(getattr(title, "en", title))


def _sources_of(value: Any) -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in ("sources",) and isinstance(inner, list):
                found.extend(s for s in inner if isinstance(s, str))
            elif key == "source" and isinstance(inner, str):
                found.append(inner)
            else:
                found.extend(_sources_of(inner))
    elif isinstance(value, list):
        for inner in value:
            found.extend(_sources_of(inner))
    return found
