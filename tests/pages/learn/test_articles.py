"""The education articles as data: every topic in every language, strict front matter,
known sources, and Markdown that can never become markup of its own (raw HTML is text,
only http(s) and relative links)."""

from __future__ import annotations

from pathlib import Path

import pytest

from needlewise.knowledge.articles import (
    MAIN_TOPIC,
    ArticleError,
    Specialty,
    articles_for,
    read_articles,
)
from needlewise.knowledge.base import KnowledgeBase
from needlewise.languages import LANGUAGES

TOPICS = {"dry-needling", "acupuncture", "trigger-point-injection", "lumbar-puncture"}
SOURCES = {"source.source-page", "source.brady-2014"}


def front(**changes: str | None) -> str:
    """A valid front matter, with ``changes`` (a value of ``None`` drops the key)."""
    values: dict[str, str | None] = {
        "title": '"Dry needling"',
        "teaser": '"One line about it."',
        "specialty": "physical-therapy",
        "sources": "[source.source-page]",
        "reviewed": "2026-12-07",
        "evidence": "secondary",
        **changes,
    }
    lines = [f"{key}: {value}" for key, value in values.items() if value is not None]
    return "---\n" + "\n".join(lines) + "\n---\n"


def write(folder: Path, *, body: str = "## Part\n\nSome words.\n", **changes: str | None) -> Path:
    for language in LANGUAGES:
        (folder / f"{MAIN_TOPIC}.{language}.md").write_text(front(**changes) + body, "utf-8")
    return folder


def test_every_topic_loads_in_every_language(kb: KnowledgeBase) -> None:
    library = articles_for(kb)
    assert set(library.topics) == TOPICS
    assert library.topics[0] == MAIN_TOPIC
    for topic in TOPICS:
        for language in LANGUAGES:
            article = library.get(topic, language)
            assert article is not None, (topic, language)
            assert article.meta.title
            assert article.meta.teaser
            assert article.blocks, (topic, language)
    assert {a.meta.specialty for a in library} == set(Specialty)


def test_loading_is_cached(kb: KnowledgeBase) -> None:
    assert articles_for(kb) is articles_for(kb)


def test_an_unknown_topic_or_language(kb: KnowledgeBase) -> None:
    library = articles_for(kb)
    assert library.get("no-such-topic", "en") is None
    english = library.get(MAIN_TOPIC, "en")
    assert library.get(MAIN_TOPIC, "fr") is english


def test_a_topic_without_its_spanish_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path)
    (tmp_path / f"{MAIN_TOPIC}.es.md").unlink()
    with pytest.raises(ArticleError) as caught:
        read_articles(tmp_path, SOURCES)
    assert str(caught.value) == (
        f"articles/{MAIN_TOPIC}: missing language 'es' "
        f"(add {MAIN_TOPIC}.es.md: every topic needs every language)"
    )


def test_an_unknown_source_id_is_refused(tmp_path: Path) -> None:
    write(tmp_path, sources="[source.source-page, source.made-up]")
    with pytest.raises(ArticleError, match=r"sources: unknown source id\(s\) source\.made-up"):
        read_articles(tmp_path, SOURCES)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": None}, "title: Field required"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"specialty": "astrology"}, "specialty: Input should be"),
        ({"sources": "[]"}, "sources: List should have at least 1 item"),
        ({"evidence": "hearsay"}, "evidence: Input should be"),
        ({"reviewed": "someday"}, "reviewed: Input should be a valid date"),
        ({"teaser": '"two\\nlines"'}, "teaser: String should match pattern"),
        ({"warning_sections": '["Nowhere"]'}, "warning_sections: no '##' heading 'Nowhere'"),
    ],
)
def test_front_matter_refusals_name_file_and_field(
    tmp_path: Path, changes: dict[str, str | None], message: str
) -> None:
    write(tmp_path, body="## Part\n\nSome words.\n", **changes)
    with pytest.raises(ArticleError) as caught:
        read_articles(tmp_path, SOURCES)
    assert str(caught.value).startswith(f"articles/{MAIN_TOPIC}.en.md: ")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("notes.txt", "name it <topic>.<language>.md"),
        (f"{MAIN_TOPIC}.fr.md", "'fr' is not a supported language"),
        ("aftercare.en.md", "'aftercare' is the name of a page of its own"),
    ],
)
def test_files_that_are_not_articles_are_refused(tmp_path: Path, name: str, message: str) -> None:
    write(tmp_path)
    (tmp_path / name).write_text(front() + "## Part\n\nWords.\n", "utf-8")
    with pytest.raises(ArticleError, match=message):
        read_articles(tmp_path, SOURCES)


def test_missing_front_matter_and_a_top_level_heading_are_refused(tmp_path: Path) -> None:
    for language in LANGUAGES:
        (tmp_path / f"{MAIN_TOPIC}.{language}.md").write_text("## Part\n\nWords.\n", "utf-8")
    with pytest.raises(ArticleError, match="must start with front matter"):
        read_articles(tmp_path, SOURCES)
    write(tmp_path, body="# A second title\n\nWords.\n")
    with pytest.raises(ArticleError, match="start headings at '##'"):
        read_articles(tmp_path, SOURCES)


def test_html_in_markdown_is_shown_as_text_never_as_markup(tmp_path: Path) -> None:
    body = (
        "## Part\n\n"
        '<script>alert("x")</script>\n\n'
        'Words <img src=x onerror="alert(1)"> and <b>bold</b>.\n\n'
        "[bad](javascript:alert(1)) [data](data:text/html,hi) [proto](//evil.example) "
        "[good](https://example.org/page) [ours](/learn/aftercare)\n\n"
        "![picture](https://example.org/p.png)\n"
    )
    write(tmp_path, body=body)
    html = read_articles(tmp_path, SOURCES).get(MAIN_TOPIC, "en").html  # type: ignore[union-attr]
    assert "<script" not in html
    assert "<img" not in html
    assert "<b>" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "javascript:" not in html.replace("[bad](javascript:alert(1))", "")
    assert 'href="javascript' not in html
    assert 'href="data:' not in html
    assert 'href="//evil.example"' not in html
    assert '<a href="https://example.org/page">good</a>' in html
    assert '<a href="/learn/aftercare">ours</a>' in html


def test_the_shipped_articles_only_link_where_they_may(kb: KnowledgeBase) -> None:
    for article in articles_for(kb):
        assert "<script" not in article.html
        for part in article.html.split('href="')[1:]:
            target = part.split('"', 1)[0]
            assert target.startswith(("/learn", "https://")), (article.topic, target)
