"""Value-set expansions loaded at run time from a folder of FHIR ValueSet JSON.

Operators download value sets from NLM VSAC (or another publisher) as FHIR R4
``ValueSet`` resources and point ``NEEDLEWISE_VALUESETS_DIR`` at the folder. Nothing
is copied into this repository: the knowledge base only *names* the sets it needs by
canonical URL.

What is read from each ``*.json`` file:

* ``compose.include[].concept[]`` (complete code lists in VSAC exports),
* ``expansion.contains[]`` (sometimes truncated at 1000 codes in VSAC exports),
* ``compose.include[].valueSet[]`` references (grouping sets), resolved against other
  files in the same folder,
* the project's *derived extract* format (``{"source": {"canonical_url": …},
  "system": …, "codes": [{"code": …}]}``) for sets published only as FHIR Shorthand.

Codes from both ``compose`` and ``expansion`` are united: a truncated expansion
never hides a code the compose lists.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import orjson


@dataclass(frozen=True)
class LoadedValueSet:
    """One value set with its codes as ``(system, code)`` pairs."""

    url: str
    version: str | None
    title: str
    file: str
    codes: frozenset[tuple[str, str]]
    children: tuple[str, ...] = ()
    missing_children: tuple[str, ...] = ()


@dataclass
class ValueSetLibrary:
    """Every value set found in a folder, by canonical URL (children resolved)."""

    folder: Path | None
    sets: dict[str, LoadedValueSet] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    sha256: str = ""

    def get(self, url: str) -> LoadedValueSet | None:
        return self.sets.get(url)


def _expansion_complete(document: dict[str, object]) -> bool:
    """True when the file's own expansion lists every code (VSAC exports cap it at 1000)."""
    expansion = document.get("expansion")
    if not isinstance(expansion, dict):
        return False
    contains = expansion.get("contains") or []
    total = expansion.get("total")
    return (
        isinstance(contains, list)
        and bool(contains)
        and (not isinstance(total, int) or total <= len(contains))
    )


def _codes_of(document: dict[str, object]) -> tuple[set[tuple[str, str]], list[str]]:
    codes: set[tuple[str, str]] = set()
    children: list[str] = []
    compose = document.get("compose")
    if isinstance(compose, dict):
        for include in compose.get("include") or []:
            if not isinstance(include, dict):
                continue
            system = include.get("system")
            for concept in include.get("concept") or []:
                if isinstance(system, str) and isinstance(concept, dict):
                    code = concept.get("code")
                    if isinstance(code, str):
                        codes.add((system, code))
            children.extend(v for v in include.get("valueSet") or [] if isinstance(v, str))
    expansion = document.get("expansion")
    if isinstance(expansion, dict):
        for entry in expansion.get("contains") or []:
            if isinstance(entry, dict):
                system, code = entry.get("system"), entry.get("code")
                if isinstance(system, str) and isinstance(code, str):
                    codes.add((system, code))
    return codes, children


def _extract_codes(document: dict[str, object]) -> tuple[str | None, set[tuple[str, str]]]:
    source = document.get("source")
    system = document.get("system")
    url = source.get("canonical_url") if isinstance(source, dict) else None
    codes: set[tuple[str, str]] = set()
    if isinstance(system, str):
        for entry in document.get("codes") or []:  # type: ignore[attr-defined]
            if isinstance(entry, dict) and isinstance(entry.get("code"), str):
                codes.add((system, entry["code"]))
    return (url if isinstance(url, str) else None), codes


def load_value_sets(folder: Path | None) -> ValueSetLibrary:
    """Read every value set in ``folder``. Never raises for bad files: problems are listed.

    A missing folder gives an empty library with one problem line; screening still
    works from the knowledge base's own core codes.
    """
    library = ValueSetLibrary(folder=folder)
    if folder is None:
        library.problems.append("no value-set folder configured")
        return library
    if not folder.is_dir():
        library.problems.append(f"value-set folder {folder} does not exist")
        return library
    digest = hashlib.sha256()
    raw: dict[str, tuple[LoadedValueSet, list[str]]] = {}
    for path in sorted(folder.glob("*.json")):
        content = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + content)
        try:
            document = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            library.problems.append(f"{path.name}: not valid JSON ({exc})")
            continue
        if not isinstance(document, dict):
            continue
        if document.get("resourceType") == "ValueSet":
            url = document.get("url")
            if not isinstance(url, str):
                library.problems.append(f"{path.name}: ValueSet without a url")
                continue
            codes, children = _codes_of(document)
            if _expansion_complete(document):
                children = []  # its own expansion already lists every child's codes
            version = document.get("version")
            title = document.get("title") or document.get("name") or url
            loaded = LoadedValueSet(
                url=url,
                version=version if isinstance(version, str) else None,
                title=str(title),
                file=path.name,
                codes=frozenset(codes),
                children=tuple(children),
            )
            raw[url] = (loaded, children)
        elif "source" in document and "codes" in document:
            url, codes = _extract_codes(document)
            if url is None:
                library.problems.append(f"{path.name}: extract without source.canonical_url")
                continue
            about = document.get("source")
            title = about.get("title", url) if isinstance(about, dict) else url
            raw[url] = (
                LoadedValueSet(
                    url=url, version=None, title=str(title), file=path.name, codes=frozenset(codes)
                ),
                [],
            )
    library.sha256 = digest.hexdigest()
    for url, (loaded, _children) in raw.items():
        library.sets[url] = _resolve(url, raw, set())
        if not library.sets[url].codes:
            library.problems.append(f"{loaded.file}: value set {url} holds no codes")
    return library


def _resolve(
    url: str, raw: dict[str, tuple[LoadedValueSet, list[str]]], seen: set[str]
) -> LoadedValueSet:
    loaded, children = raw[url]
    if not children or url in seen:
        return loaded
    codes = set(loaded.codes)
    missing = []
    for child in children:
        if child in raw:
            codes |= _resolve(child, raw, seen | {url}).codes
        else:
            missing.append(child)
    return LoadedValueSet(
        url=loaded.url,
        version=loaded.version,
        title=loaded.title,
        file=loaded.file,
        codes=frozenset(codes),
        children=loaded.children,
        missing_children=tuple(missing),
    )
