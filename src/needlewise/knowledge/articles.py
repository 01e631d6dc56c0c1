"""Patient-education articles: Markdown files with YAML front matter, one per topic and
language, in ``knowledge/data/articles/<topic>.<lang>.md``.

The front matter is strict (:class:`ArticleMeta`: unknown keys are errors) and carries
the same provenance as every knowledge item — sources (ids that must exist in
``sources.yaml``), a review date and an evidence tag — plus the title, a one-line teaser
and a specialty tag. Every topic must exist in every supported language
(:data:`needlewise.languages.LANGUAGES`); a topic may not take a name the ``/learn``
pages use for themselves (:data:`RESERVED_TOPICS`).

The body is CommonMark rendered by markdown-it-py with raw HTML **off** (``<script>``
written in a file shows as text, never as a tag), images off, and links only to
``http(s)://`` addresses or to our own relative paths. The body starts at ``##``: the
page's ``<h1>`` is the title. Sections about warning signs are named in
``warning_sections`` so the reading-level test holds them to the stricter grade.

:func:`articles_for` loads and renders them once per knowledge base (cached);
:func:`read_articles` reads any folder (the tests use it for broken files). Problems are
raised as :class:`ArticleError`, whose message names the file and the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from needlewise.knowledge.base import KnowledgeBase
from needlewise.knowledge.schema import Evidence, Source
from needlewise.knowledge.schema.common import SourceId
from needlewise.languages import LANGUAGES

#: the article every page leads with
MAIN_TOPIC = "dry-needling"
#: paths under ``/learn`` that are pages of their own, so never a topic
RESERVED_TOPICS = frozenset({"aftercare", "aftercare.pdf", "who-can-do-it", "static"})
_FILE_NAME = re.compile(r"^(?P<topic>[a-z0-9]+(?:-[a-z0-9]+)*)\.(?P<lang>[a-z]{2})\.md$")
_SAFE_LINK = re.compile(r"^(?:https?://[^\s]+|/(?!/)[^\s]*|#[^\s]*)$", re.IGNORECASE)

OneLine = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\n]+$")]


class ArticleError(Exception):
    """An article file is invalid; the message says which file and what."""


class Specialty(StrEnum):
    """The specialty tag shown on an article's card (the pages translate the label)."""

    physical_therapy = "physical-therapy"
    acupuncture = "acupuncture"
    pain_medicine = "pain-medicine"
    neurology = "neurology"


class ArticleMeta(BaseModel):
    """The front matter of one article file."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    title: OneLine
    teaser: OneLine = Field(description="One line for the card on the /learn index")
    specialty: Specialty
    sources: list[SourceId] = Field(min_length=1)
    reviewed: date
    evidence: Evidence
    #: ``##`` headings of the sections about warning signs (read at grade 6, not 8)
    warning_sections: list[OneLine] = Field(default_factory=list)


@dataclass(frozen=True)
class Block:
    """One paragraph or list item of an article as plain text, with its section."""

    section: str
    text: str


@dataclass(frozen=True)
class Article:
    """One topic in one language: front matter, Markdown and its safe HTML."""

    topic: str
    language: str
    meta: ArticleMeta
    markdown: str
    html: str
    sections: tuple[str, ...]
    blocks: tuple[Block, ...]

    def is_warning(self, block: Block) -> bool:
        """Whether ``block`` is in a section about warning signs."""
        return block.section in self.meta.warning_sections


@dataclass(frozen=True)
class ArticleLibrary:
    """Every article, by topic and language; the main topic first, then by topic."""

    articles: dict[tuple[str, str], Article]

    @property
    def topics(self) -> tuple[str, ...]:
        found = sorted({topic for topic, _ in self.articles})
        return tuple(sorted(found, key=lambda topic: (topic != MAIN_TOPIC, topic)))

    def get(self, topic: str, language: str) -> Article | None:
        """``topic`` in ``language`` (English when the language is not supported);
        ``None`` for an unknown topic."""
        lang = language if language in LANGUAGES else LANGUAGES[0]
        return self.articles.get((topic, lang))

    def in_language(self, language: str) -> list[Article]:
        """Every topic in ``language``, in index order."""
        return [a for t in self.topics if (a := self.get(t, language)) is not None]

    def __iter__(self) -> Iterator[Article]:
        return iter(self.articles.values())


def _safe_link(url: str) -> bool:
    """Links may go to ``http(s)://`` addresses and our own paths; nothing else
    (no ``javascript:``, ``data:``, ``file:``, protocol-relative ``//host``)."""
    return bool(_SAFE_LINK.match(url.strip()))


def markdown_renderer() -> MarkdownIt:
    """CommonMark with raw HTML off, images off and only safe links."""
    md = MarkdownIt("commonmark", {"html": False})
    md.disable("image")
    md.validateLink = _safe_link  # type: ignore[method-assign]
    return md


def _text(token: Token) -> str:
    """The words of an inline token (links and emphasis as their text; breaks as spaces)."""
    parts = [
        child.content if child.type in ("text", "code_inline") else " "
        for child in token.children or []
        if child.type in ("text", "code_inline", "softbreak", "hardbreak")
    ]
    return " ".join("".join(parts).split())


def _plain(tokens: list[Token]) -> tuple[tuple[str, ...], tuple[Block, ...]]:
    """(the ``##`` headings, every paragraph and list item as plain text)."""
    sections: list[str] = []
    blocks: list[Block] = []
    section = ""
    heading: str | None = None
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            heading = token.tag
        elif token.type == "inline" and heading is not None:
            if heading == "h2":
                section = _text(token)
                sections.append(section)
            heading = None
        elif token.type == "inline" and index > 0 and tokens[index - 1].type == "paragraph_open":
            blocks.append(Block(section, _text(token)))
    return tuple(sections), tuple(blocks)


def parse_article(text: str, label: str, known_sources: Iterable[str]) -> tuple[ArticleMeta, str]:
    """(front matter, Markdown body) of one file's ``text``; ``label`` names it in errors."""
    if not text.startswith("---\n"):
        raise ArticleError(f"{label}: must start with front matter between '---' lines")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise ArticleError(f"{label}: the front matter has no closing '---' line")
    try:
        raw: Any = yaml.safe_load(text[4:end])
    except yaml.YAMLError as exc:
        raise ArticleError(f"{label}: the front matter is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ArticleError(f"{label}: the front matter must be a mapping of keys")
    try:
        meta = ArticleMeta.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'front matter'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ArticleError(f"{label}: {problems}") from None
    known = set(known_sources)
    unknown = [s for s in meta.sources if s not in known]
    if unknown:
        raise ArticleError(
            f"{label}: sources: unknown source id(s) {', '.join(unknown)} "
            "(every id must be in knowledge/data/sources.yaml)"
        )
    body = text[end + len("\n---\n") :]
    if not body.strip():
        raise ArticleError(f"{label}: the article has no text after the front matter")
    return meta, body


def _article(topic: str, language: str, text: str, label: str, sources: set[str]) -> Article:
    meta, body = parse_article(text, label, sources)
    md = markdown_renderer()
    tokens = md.parse(body)
    if any(t.type == "heading_open" and t.tag == "h1" for t in tokens):
        raise ArticleError(f"{label}: body: start headings at '##' (the title is the page's h1)")
    sections, blocks = _plain(tokens)
    missing = [name for name in meta.warning_sections if name not in sections]
    if missing:
        raise ArticleError(
            f"{label}: warning_sections: no '##' heading {', '.join(repr(m) for m in missing)}"
        )
    return Article(
        topic=topic,
        language=language,
        meta=meta,
        markdown=body,
        html=md.renderer.render(tokens, md.options, {}),
        sections=sections,
        blocks=blocks,
    )


def read_articles(folder: Any, source_ids: Iterable[str]) -> ArticleLibrary:
    """Read, check and render every article of ``folder`` (a path or a resources
    Traversable). ``source_ids``: the ids a front matter may cite."""
    sources = set(source_ids)
    articles: dict[tuple[str, str], Article] = {}
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    for name in names:
        label = f"articles/{name}"
        match = _FILE_NAME.match(name)
        if match is None:
            raise ArticleError(f"{label}: name it <topic>.<language>.md, e.g. dry-needling.es.md")
        topic, language = match["topic"], match["lang"]
        if language not in LANGUAGES:
            raise ArticleError(f"{label}: {language!r} is not a supported language")
        if topic in RESERVED_TOPICS:
            raise ArticleError(f"{label}: {topic!r} is the name of a page of its own")
        text = folder.joinpath(name).read_text(encoding="utf-8")
        articles[(topic, language)] = _article(topic, language, text, label, sources)
    topics = sorted({topic for topic, _ in articles})
    if MAIN_TOPIC not in topics:
        raise ArticleError(f"articles/: the main article {MAIN_TOPIC}.en.md is missing")
    for topic in topics:
        for language in LANGUAGES:
            if (topic, language) not in articles:
                raise ArticleError(
                    f"articles/{topic}: missing language {language!r} "
                    f"(add {topic}.{language}.md: every topic needs every language)"
                )
    return ArticleLibrary(articles)


def _articles_dir() -> Any:
    return resources.files("needlewise.knowledge").joinpath("data", "articles")


@lru_cache(maxsize=4)
def _cached(source_ids: frozenset[str]) -> ArticleLibrary:
    return read_articles(_articles_dir(), source_ids)


def articles_for(kb: KnowledgeBase) -> ArticleLibrary:
    """The package's articles, checked against ``kb``'s sources (read once, then kept)."""
    return _cached(frozenset(s.id for s in kb.data.sources if isinstance(s, Source)))
