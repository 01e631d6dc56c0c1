"""The app's error answers (web/errors.py, web/middleware.py): a bug is a 500 that tells
nothing of the request, an edit that lost a race is a 412, and a door can register its
own error dialect for a path prefix while every other path keeps the JSON one."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from sqlalchemy.orm.exc import StaleDataError
from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse, Response

from needlewise.config import Settings
from needlewise.web.app import create_app
from needlewise.web.errors import Problem, add_error_dialect
from support.http import ApiClient

#: what a request could carry that must never come back in an error
PATH_SECRET = "Averyson-1985-04-12"
QUERY_SECRET = "Blakeson"
BODY_SECRET = "555-0199 chest pain since Tuesday"
INTERNAL = {"error": {"code": "internal", "message": "internal error", "location": None}}


@pytest.fixture
def app(valuesets_dir: Path, tmp_path: Path) -> FastAPI:
    app = create_app(
        Settings(
            database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
            valuesets_dir=valuesets_dir,
            secret_key="test",
            nlp_warmup=False,
        )
    )

    async def explode(request: Request, secret: str) -> Response:
        """A bug whose message holds everything the request carried."""
        body = (await request.body()).decode()
        raise RuntimeError(f"{secret} {request.url.query} {body}")

    async def lose_race(request: Request) -> Response:
        raise StaleDataError(f"UPDATE patients SET ... WHERE version = 3 ({request.url})")

    app.add_api_route("/api/explode/{secret}", explode, methods=["POST"])
    app.add_api_route("/pages/explode/{secret}", explode, methods=["POST"])
    app.add_api_route("/api/race", lose_race, methods=["PATCH"])
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[ApiClient]:
    client = ApiClient(app)
    yield client
    client.close()


def test_a_bug_is_a_500_that_echoes_nothing_of_the_request(
    client: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="needlewise"):
        response = client.post(
            f"/api/explode/{PATH_SECRET}",
            params={"name": QUERY_SECRET},
            json={"note": BODY_SECRET},
        )
    assert response.status_code == 500
    assert response.json() == INTERNAL
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    for secret in (PATH_SECRET, QUERY_SECRET, BODY_SECRET, "RuntimeError", "Traceback"):
        assert secret not in response.text, secret
        assert secret not in headers, secret
    # the answer carries the security headers like any other
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    # our log names the exception's type only, never its message
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("needlewise"))
    assert "internal error: RuntimeError" in ours
    for secret in (PATH_SECRET, QUERY_SECRET, BODY_SECRET):
        assert secret not in ours, secret


def test_an_edit_that_lost_a_race_is_a_412(client: ApiClient) -> None:
    response = client.patch("/api/race", json={})
    assert response.status_code == 412
    error = response.json()["error"]
    assert error["code"] == "precondition-failed"
    assert "changed by someone else at the same time" in error["message"]
    assert "UPDATE" not in response.text


def test_a_door_answers_errors_in_its_own_dialect(app: FastAPI, client: ApiClient) -> None:
    seen: list[Problem] = []

    def page(_connection: HTTPConnection, problem: Problem) -> Response:
        seen.append(problem)
        return HTMLResponse(f"<h1>{problem.status}</h1>", status_code=problem.status)

    add_error_dialect(app, "/pages", page)
    missing = client.get("/pages/nowhere")
    assert (missing.status_code, missing.text) == (404, "<h1>404</h1>")
    assert missing.headers["content-type"].startswith("text/html")
    bug = client.post(f"/pages/explode/{PATH_SECRET}", json={"note": BODY_SECRET})
    assert (bug.status_code, bug.text) == (500, "<h1>500</h1>")  # the middleware's too
    assert [p.error["code"] for p in seen] == ["not-found", "internal"]
    # every other path keeps the JSON dialect
    assert client.get("/api/nowhere").json()["error"]["code"] == "not-found"
    assert client.post(f"/api/explode/{PATH_SECRET}").json() == INTERNAL
