"""The /learn pages through the real app: index, articles, the state answer and the
take-home sheet, in English and Spanish; unknown topics and states answered plainly."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from needlewise.knowledge.articles import MAIN_TOPIC
from support.pages import soup, visible_text
from support.service import Service, make_service, settings_for


@pytest.fixture(scope="module")
def learn(module_database_url: str, valuesets_dir: Path) -> Iterator[Service]:
    """One service for the module (the pages read no table; both databases still run)."""
    with make_service(settings_for(module_database_url, valuesets_dir)) as running:
        yield running


def get(service: Service, url: str) -> tuple[int, str, str]:
    """(status, visible text, html) of ``url``; the language cookie is dropped first."""
    service.client.cookies.clear()
    answer = service.client.get(url)
    return answer.status_code, visible_text(answer), answer.text


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Learn about dry needling", "Dry needling", "Physical therapy", "Neurology"]),
        ("es", ["Aprenda sobre la punción seca", "Punción seca", "Fisioterapia", "Neurología"]),
    ],
)
def test_the_index_has_a_card_per_article(learn: Service, language: str, words: list[str]) -> None:
    status, text, _html = get(learn, f"/learn?lang={language}")
    assert status == 200
    for word in words:
        assert word in text
    page = soup(learn.client.get(f"/learn?lang={language}"))
    cards = page.select(".article-cards > li")
    assert len(cards) == 4
    assert cards[0].find("a")["href"] == f"/learn/{MAIN_TOPIC}"  # type: ignore[index]
    assert all(card.select_one(".tag") is not None for card in cards)
    assert page.find("html")["lang"] == language  # type: ignore[index]


def test_the_article_has_disclaimer_checklist_sources_and_date(learn: Service) -> None:
    status, text, html = get(learn, f"/learn/{MAIN_TOPIC}?lang=en")
    assert status == 200
    assert "It does not take the place of advice from your own therapist" in text
    assert "Before your treatment, check these things" in text
    assert "licensed and trained to do dry needling in your state" in text
    assert "Each needle is new and used only once" in text
    assert "Sources" in text
    assert "Reviewed 2026-12-07" in text
    assert "When to call 911" in text
    assert "Trouble breathing" in text
    assert 'href="/learn/who-can-do-it"' in html
    assert 'href="/learn/aftercare"' in html
    headings = [
        int(h.name[1])
        for h in soup(learn.client.get("/learn/dry-needling")).find_all(["h1", "h2", "h3"])
    ]
    assert headings[0] == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(headings))


def test_the_article_in_spanish(learn: Service) -> None:
    status, text, _ = get(learn, f"/learn/{MAIN_TOPIC}?lang=es")
    assert status == 200
    assert "No reemplaza los consejos de su propio terapeuta" in text
    assert "Antes de su tratamiento, revise lo siguiente" in text
    assert "Cuándo llamar al 911" in text
    assert "Dificultad para respirar" in text
    assert "Revisado" in text or "Revisión" in text
    assert "proveedor" not in text.lower()


def test_the_language_is_remembered_by_the_cookie(learn: Service) -> None:
    learn.client.cookies.clear()
    learn.client.get("/learn?lang=es")
    again = learn.client.get("/learn/acupuncture")
    assert "Acupuntura" in visible_text(again)


def test_other_articles_have_no_checklist_but_the_disclaimer(learn: Service) -> None:
    status, text, _ = get(learn, "/learn/lumbar-puncture?lang=en")
    assert status == 200
    assert "It does not take the place of advice" in text
    assert "Before your treatment, check these things" not in text


@pytest.mark.parametrize(
    "path", ["/learn/no-such-topic", "/learn/..%2Fsecret", "/learn/ACUPUNCTURE"]
)
def test_an_unknown_topic_is_a_404_page(learn: Service, path: str) -> None:
    status, text, html = get(learn, path + "?lang=en")
    assert status == 404
    assert "This page was not found" in text
    assert html.lstrip().lower().startswith("<!doctype html>")


def test_the_404_page_in_spanish(learn: Service) -> None:
    status, text, _ = get(learn, "/learn/no-such-topic?lang=es")
    assert status == 404
    assert "there is no article" not in text  # the English reason is not shown in Spanish


def test_the_state_picker_then_the_answer(learn: Service) -> None:
    status, text, _html = get(learn, "/learn/who-can-do-it?lang=en")
    assert status == 200
    page = soup(learn.client.get("/learn/who-can-do-it"))
    select = page.find("select", attrs={"name": "state"})
    assert select is not None
    assert page.find("label", attrs={"for": "state"}) is not None
    assert len(select.find_all("option")) == 52  # "choose" + 50 states + DC
    assert page.find("form")["method"] == "get"  # type: ignore[index]

    status, text, _ = get(learn, "/learn/who-can-do-it?state=ny&lang=en")
    assert status == 200
    assert "New York" in text
    assert "Physical therapist" in text
    assert "Not allowed" in text
    assert "Licensed acupuncturist" in text
    assert "Physician (MD or DO)" in text
    assert "As of" in text


def test_the_state_answer_agrees_with_the_api(learn: Service) -> None:
    api = learn.client.get("/api/scope/UT", params={"profession": "pt"}).json()
    _, text, _ = get(learn, "/learn/who-can-do-it?state=UT&lang=en")
    assert api["status"] == "allowed"
    assert f"As of {api['as_of']}" in text
    assert all(requirement in text for requirement in api["requirements"])


def test_the_state_answer_in_spanish(learn: Service) -> None:
    status, text, _ = get(learn, "/learn/who-can-do-it?state=CA&lang=es")
    assert status == 200
    assert "California" in text
    assert "Fisioterapeuta" in text
    assert "No está permitido" in text


@pytest.mark.parametrize("state", ["ZZ", "New York", "<script>"])
def test_an_unknown_state_is_told_near_the_field(learn: Service, state: str) -> None:
    answer = learn.client.get("/learn/who-can-do-it", params={"state": state, "lang": "en"})
    assert answer.status_code == 422
    page = soup(answer)
    error = page.find(id="state-error")
    assert error is not None
    assert "Please choose a state from the list." in error.get_text()
    assert page.find("select")["aria-describedby"] == "state-error"  # type: ignore[index]
    assert "<script>" not in answer.text


def test_the_aftercare_page_in_both_languages(learn: Service) -> None:
    status, text, html = get(learn, "/learn/aftercare?lang=en")
    assert status == 200
    assert "After dry needling: what to watch for" in text
    assert "Call 911 right away" in text
    assert "Call the clinic today" in text
    assert "ask the clinic for this number and write it here" in text
    assert 'href="/learn/aftercare.pdf"' in html
    status, text, _ = get(learn, "/learn/aftercare?lang=es")
    assert status == 200
    assert "Después de la punción seca: qué debe vigilar" in text
    assert "pida este número a la clínica" in text


def test_pages_are_small_and_carry_the_page_headers(learn: Service) -> None:
    for path in (
        "/learn",
        f"/learn/{MAIN_TOPIC}",
        "/learn/who-can-do-it?state=CO",
        "/learn/aftercare",
    ):
        answer = learn.client.get(path)
        assert answer.status_code == 200, path
        assert len(answer.content) < 100_000, path
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["cache-control"] == "no-store"
        assert " style=" not in answer.text
        assert "<script>" not in answer.text
