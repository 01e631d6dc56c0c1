"""The JSON API through real HTTP into the ASGI app (httpx + ``ASGITransport``).

The client is ``support.http.ApiClient`` (why not ``starlette.testclient``: see there).

Contract: web/responses.py (error body ``{"error": {"code", "message", "location"}}``;
400 malformed/empty JSON, 413 too large, 415 wrong media type, 422 unusable input, 500),
the response models in web/api/schemas.py, architecture.md (security headers, strict CSP,
bad input changes nothing).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Request
from pydantic import BaseModel

from needlewise.interop.fhir.canonical import YES_NO_SYSTEM
from needlewise.knowledge.base import KnowledgeBase
from needlewise.security.roles import Role
from needlewise.web.api.schemas import (
    CodingOut,
    HealthOut,
    KnowledgeOut,
    ScopeOut,
    ScreeningOut,
    TriageOut,
)
from needlewise.web.openapi import api_routes
from needlewise.web.responses import ErrorResponse
from support.http import ApiClient
from support.routes import methods
from support.service import make_service, settings_for

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
JSON = {"content-type": "application/json"}
FHIR_JSON = {"content-type": "application/fhir+json"}
SMALL_LIMIT = 2048


def anticoagulant_bundle() -> dict[str, Any]:
    """Synthetic patient born 1980 with an active ICD-10-CM Z79.01."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:5b0c6a8e-0000-4000-8000-000000000001",
                "resource": {"resourceType": "Patient", "id": "syn-2", "birthDate": "1980-07-15"},
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "syn-cond-2",
                    "subject": {"reference": "Patient/syn-2"},
                    "clinicalStatus": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                "code": "active",
                            }
                        ]
                    },
                    "code": {"coding": [{"system": ICD10CM, "code": "Z79.01"}]},
                },
            },
        ],
    }


THREE_MUSCLES = {
    "muscles": [
        {"muscle": "muscle.upper-trapezius", "laterality": "left"},
        {"muscle": "muscle.levator-scapulae", "laterality": "left"},
        {"muscle": "muscle.rhomboids", "laterality": "right"},
    ]
}


# ---------------------------------------------------------------- client


@contextmanager
def logged_in(folder: Path, valuesets_dir: Path, **settings: Any) -> Iterator[ApiClient]:
    """A client of an app on its own SQLite file that sends a clinician's bearer token
    (the screening, triage and coding tools need a staff login) and sees a 500 as the
    response the app sends."""
    url = f"sqlite:///{folder / 'db.sqlite'}"
    with make_service(settings_for(url, valuesets_dir, **settings)) as service:
        headers = service.headers(Role.clinician)
        with ApiClient(service.app, headers=headers, raise_app_exceptions=False) as client:
            yield client


@pytest.fixture(scope="module")
def client(valuesets_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    with logged_in(tmp_path_factory.mktemp("api"), valuesets_dir) as client:
        yield client


@pytest.fixture(scope="module")
def small_client(
    valuesets_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiClient]:
    folder = tmp_path_factory.mktemp("api")
    with logged_in(folder, valuesets_dir, max_body_bytes=SMALL_LIMIT) as client:
        yield client


@pytest.fixture(scope="module")
def openapi(client: ApiClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


def body_of(document: object) -> bytes:
    return json.dumps(document).encode()


def documented(model: type[BaseModel], body: Any) -> None:
    """``body`` validates against ``model`` and holds nothing the model does not document."""
    parsed = model.model_validate(body)
    assert parsed.model_dump(mode="json", exclude_unset=True) == body


def assert_error(
    response: httpx.Response, status: int, code: str, location: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    documented(ErrorResponse, body)
    error: dict[str, Any] = body["error"]
    assert error["code"] == code
    assert error["message"]
    if location is not None:
        assert error["location"] == location
    return error


# ---------------------------------------------------------------- operations


def test_healthz(client: ApiClient, kb: KnowledgeBase) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "knowledge": kb.version}
    documented(HealthOut, response.json())


def test_knowledge_summary(client: ApiClient, kb: KnowledgeBase) -> None:
    response = client.get("/api/knowledge")
    assert response.status_code == 200
    body = response.json()
    documented(KnowledgeOut, body)
    assert body["version"] == kb.version
    assert re.fullmatch(r"[0-9a-f]{64}", body["sha256"])
    assert body["sha256"] == kb.sha256
    assert body["counts"]["contraindication"] >= 18
    assert body["counts"]["contraindication"] == len(kb.contraindications)
    assert body["counts"]["state"] == 51
    assert body["value_sets"]["loaded"] > 0
    assert body["value_sets"]["problems"] == 0
    assert set(body["languages"]) == {"en", "es"}


# ---------------------------------------------------------------- screening


def test_screen_bundle(client: ApiClient, kb: KnowledgeBase) -> None:
    response = client.post("/api/screen", content=body_of(anticoagulant_bundle()), headers=JSON)
    assert response.status_code == 200, response.text
    body = response.json()
    documented(ScreeningOut, body)
    assert body["decision"] == "review"
    finding = next(f for f in body["findings"] if f["rule"] == "contraindication.anticoagulant")
    assert finding["certainty"] == "present"
    assert any("Z79.01" in line for line in finding["evidence"])
    assert set(finding["sources"]) <= set(body["citations"])
    assert body["knowledge"]["version"] == kb.version
    assert body["knowledge"]["sha256"] == kb.sha256
    assert body["knowledge"]["value_sets"]["loaded"] > 0
    assert "contraindication.implanted-device" in body["unanswered"]


def test_screen_query_parameters(client: ApiClient, kb: KnowledgeBase) -> None:
    response = client.post(
        "/api/screen?electrical_stimulation=false&language=es&as_of=2026-11-26",
        content=body_of(anticoagulant_bundle()),
        headers=FHIR_JSON,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    documented(ScreeningOut, body)
    assert body["language"] == "es"
    assert "contraindication.implanted-device" not in body["unanswered"]
    rule = kb.contraindication("contraindication.anticoagulant")
    assert rule is not None
    finding = next(f for f in body["findings"] if f["rule"] == rule.id)
    assert finding["title"] == rule.title.get("es")


def test_screen_as_of_changes_the_age(client: ApiClient) -> None:
    response = client.post(
        "/api/screen?as_of=1990-01-01", content=body_of(anticoagulant_bundle()), headers=JSON
    )
    assert response.status_code == 200
    assert "contraindication.child" in [f["rule"] for f in response.json()["findings"]]


def test_screen_fhir_json_with_charset(client: ApiClient) -> None:
    response = client.post(
        "/api/screen",
        content=body_of(anticoagulant_bundle()),
        headers={"content-type": "application/fhir+json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    documented(ScreeningOut, response.json())


def test_screen_intake_round_trip(client: ApiClient) -> None:
    """The API's own intake Questionnaire, answered "no" everywhere (yes to consent): eligible."""
    q = client.get("/api/questionnaires/intake").json()
    items = [
        {
            "linkId": item["linkId"],
            "answer": [
                {
                    "valueCoding": {
                        "system": YES_NO_SYSTEM,
                        "code": "Y"
                        if item["linkId"]
                        in ("contraindication.unwilling", "contraindication.not-yet-understood")
                        else "N",
                    }
                }
            ],
        }
        for item in q["item"]
    ]
    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{q['url']}|{q['version']}",
        "status": "completed",
        "item": items,
    }
    screened = client.post("/api/screen?electrical_stimulation=true", json=response)
    assert screened.status_code == 200, screened.text
    body = screened.json()
    documented(ScreeningOut, body)
    assert body["decision"] == "eligible"
    assert body["findings"] == []
    assert body["unanswered"] == []


# ---------------------------------------------------------------- triage, coding, scope


def test_triage(client: ApiClient, kb: KnowledgeBase) -> None:
    response = client.post("/api/triage", json={"symptoms": ["symptom.chest-pain"]})
    assert response.status_code == 200, response.text
    body = response.json()
    documented(TriageOut, body)
    assert body["disposition"] == "emergency"
    assert body["reasons"][0]["rule"] == "symptom.chest-pain"
    assert body["advice"]
    assert body["knowledge"]["version"] == kb.version


def test_triage_temperature(client: ApiClient) -> None:
    response = client.post("/api/triage", json={"temperature": {"value": 100.4, "unit": "[degF]"}})
    assert response.status_code == 200, response.text
    body = response.json()
    documented(TriageOut, body)
    assert body["disposition"] == "call-provider"
    # the health history is not given: fever asks about a weak immune system
    assert [r["rule"] for r in body["reasons"]] == ["symptom.fever", "policy.conditions-unknown"]
    assert body["conditions"] is None


def test_triage_with_conditions(client: ApiClient) -> None:
    """escalation.fever-weak-immunity: the API accepts the patient's conditions explicitly."""
    response = client.post(
        "/api/triage",
        json={"temperature": {"value": 38.4, "unit": "Cel"}, "conditions": ["immunocompromised"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    documented(TriageOut, body)
    assert body["disposition"] == "emergency"
    assert "escalation.fever-weak-immunity" in [r["rule"] for r in body["reasons"]]
    assert body["conditions"] == [
        {
            "condition": "contraindication.immunocompromised",
            "where": "given",
            "certainty": "present",
        }
    ]
    bad = client.post("/api/triage", json={"conditions": ["not-a-condition"]})
    assert bad.status_code == 422, bad.text
    assert "$.conditions[0]" in bad.text


def test_triage_spanish(client: ApiClient) -> None:
    document = {"symptoms": ["symptom.soreness"], "hours_since_treatment": 20, "language": "es"}
    response = client.post("/api/triage", json=document)
    assert response.status_code == 200
    body = response.json()
    documented(TriageOut, body)
    assert body["language"] == "es"
    assert body["disposition"] == "self-care"


def test_code_session(client: ApiClient) -> None:
    response = client.post("/api/code-session", json=THREE_MUSCLES)
    assert response.status_code == 200, response.text
    body = response.json()
    documented(CodingOut, body)
    assert [line["code"] for line in body["lines"]] == ["20561"]
    assert body["lines"][0]["muscle_count"] == 3


def test_scope(client: ApiClient) -> None:
    response = client.get("/api/scope/CO?profession=pt")
    assert response.status_code == 200, response.text
    body = response.json()
    documented(ScopeOut, body)
    assert body["state"] == "CO"
    assert body["profession"] == "pt"
    assert body["status"] == "allowed"
    assert body["may_perform"] is True


def test_scope_not_permitted(client: ApiClient) -> None:
    response = client.get("/api/scope/NY")
    assert response.status_code == 200
    body = response.json()
    documented(ScopeOut, body)
    assert body["status"] == "not-permitted"
    assert body["may_perform"] is False


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("which", ["intake", "aftercare"])
def test_questionnaires(client: ApiClient, kb: KnowledgeBase, which: str, language: str) -> None:
    response = client.get(f"/api/questionnaires/{which}?language={language}")
    assert response.status_code == 200, response.text
    q = response.json()
    assert q["resourceType"] == "Questionnaire"
    assert q["id"] == f"needlewise-{which}"
    assert q["language"] == language
    assert q["version"] == kb.version
    if which == "intake":
        assert [i["linkId"] for i in q["item"]] == [r.id for r in kb.contraindications]
        assert [i["text"] for i in q["item"]] == [
            r.question.get(language) for r in kb.contraindications
        ]


# ---------------------------------------------------------------- errors


def test_malformed_json(client: ApiClient) -> None:
    for path in ("/api/screen", "/api/triage", "/api/code-session"):
        assert_error(client.post(path, content=b'{"a":', headers=JSON), 400, "invalid-json")


def test_empty_body(client: ApiClient) -> None:
    for content in (b"", b"   \n"):
        for path in ("/api/screen", "/api/triage", "/api/code-session"):
            assert_error(client.post(path, content=content, headers=JSON), 400, "invalid-json")


def test_wrong_resource_type(client: ApiClient) -> None:
    response = client.post("/api/screen", content=b'{"resourceType":"Patient"}', headers=JSON)
    error = assert_error(response, 422, "invalid-input", "$.resourceType")
    assert "Patient" in error["message"]


def test_json_array(client: ApiClient) -> None:
    for path in ("/api/screen", "/api/triage", "/api/code-session"):
        assert_error(client.post(path, json=[]), 422, "invalid-input", "$")


def test_unknown_symptom(client: ApiClient) -> None:
    response = client.post("/api/triage", json={"symptoms": ["symptom.does-not-exist"]})
    assert_error(response, 422, "invalid-input", "$.symptoms[0]")


def test_unknown_temperature_unit(client: ApiClient) -> None:
    response = client.post("/api/triage", json={"temperature": {"value": 38.2, "unit": "C"}})
    error = assert_error(response, 422, "invalid-input", "$.temperature")
    assert "Cel" in error["message"]


def test_unknown_muscle(client: ApiClient) -> None:
    document = {"muscles": [{"muscle": "muscle.made-up", "laterality": "left"}]}
    assert_error(
        client.post("/api/code-session", json=document), 422, "invalid-input", "$.muscles[0].muscle"
    )


def test_aftercare_time_code_of_wrong_type_is_422(client: ApiClient) -> None:
    """A time-since-treatment code that is not a string is unusable input, not a server error."""
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [{"linkId": "time-since-treatment", "answer": [{"valueCoding": {"code": {}}}]}],
    }
    assert_error(
        client.post("/api/triage", json=response),
        422,
        "invalid-input",
        "$.item[0].answer[0].valueCoding",
    )


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_wrong_media_type(client: ApiClient, content_type: str) -> None:
    for path in ("/api/screen", "/api/triage", "/api/code-session"):
        response = client.post(
            path, content=body_of(anticoagulant_bundle()), headers={"content-type": content_type}
        )
        assert_error(response, 415, "unsupported-media-type")


def test_missing_media_type(client: ApiClient) -> None:
    response = client.post("/api/screen", content=body_of(anticoagulant_bundle()))
    assert_error(response, 415, "unsupported-media-type")


def test_too_large_declared(small_client: ApiClient) -> None:
    big = body_of({"text": "a" * (SMALL_LIMIT * 2)})
    for path in ("/api/screen", "/api/triage", "/api/code-session"):
        assert_error(small_client.post(path, content=big, headers=JSON), 413, "too-large")


def test_too_large_streamed_without_length(small_client: ApiClient) -> None:
    """A chunked body (no content-length) is cut off once it passes the limit."""

    def chunks() -> Callable[[], AsyncIterator[bytes]]:
        async def gen() -> AsyncIterator[bytes]:
            for _ in range(8):
                yield b" " * 512
            yield b"{}"

        return gen

    response = small_client.post("/api/triage", content=chunks()(), headers=JSON)
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert_error(response, 413, "too-large")


def test_small_body_under_the_limit_is_accepted(small_client: ApiClient) -> None:
    response = small_client.post("/api/triage", json={"symptoms": ["symptom.chest-pain"]})
    assert response.status_code == 200
    assert response.json()["disposition"] == "emergency"


def test_unknown_route(client: ApiClient) -> None:
    assert_error(client.get("/api/nope"), 404, "not-found")
    assert_error(client.post("/nope", json={}), 404, "not-found")


def test_wrong_method(client: ApiClient) -> None:
    assert_error(client.get("/api/screen"), 405, "method-not-allowed")


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("/api/questionnaires/intake?language=fr", "language"),
        ("/api/questionnaires/discharge", "which"),
        ("/api/scope/CO?language=fr", "language"),
        ("/api/scope/CO?profession=dentist", "profession"),
        ("/api/scope/XX", "state"),
    ],
)
def test_bad_get_parameters(client: ApiClient, url: str, location: str) -> None:
    assert_error(client.get(url), 422, "invalid-input", location)


@pytest.mark.parametrize(
    ("query", "location"),
    [
        ("language=fr", "language"),
        ("as_of=26-11-2026", "as_of"),
        ("electrical_stimulation=maybe", "electrical_stimulation"),
    ],
)
def test_bad_screen_query(client: ApiClient, query: str, location: str) -> None:
    response = client.post(
        f"/api/screen?{query}", content=body_of(anticoagulant_bundle()), headers=JSON
    )
    assert_error(response, 422, "invalid-input", location)


def test_bad_requests_change_nothing(client: ApiClient, small_client: ApiClient) -> None:
    before = client.get("/api/knowledge").json()
    screened_before = client.post("/api/screen?as_of=2026-11-26", json=anticoagulant_bundle())
    bad: list[tuple[str, dict[str, Any], int]] = [
        ("/api/screen", {"content": b'{"a":', "headers": JSON}, 400),
        ("/api/screen", {"content": b"", "headers": JSON}, 400),
        ("/api/screen", {"content": b'{"resourceType":"Patient"}', "headers": JSON}, 422),
        ("/api/screen", {"content": b"{}", "headers": {"content-type": "text/plain"}}, 415),
        ("/api/triage", {"json": {"symptoms": ["symptom.nope"]}}, 422),
        ("/api/triage", {"json": {"temperature": {"value": 38, "unit": "C"}}}, 422),
        (
            "/api/code-session",
            {"json": {"muscles": [{"muscle": "x", "laterality": "left"}]}},
            422,
        ),
        ("/api/screen?language=fr", {"json": anticoagulant_bundle()}, 422),
    ]
    for path, kwargs, status in bad:
        response = client.post(path, **kwargs)
        assert response.status_code == status, (path, kwargs, response.text)
    big = body_of({"text": "a" * (SMALL_LIMIT * 2)})
    assert small_client.post("/api/triage", content=big, headers=JSON).status_code == 413
    assert client.get("/api/scope/XX").status_code == 422

    assert client.get("/api/knowledge").json() == before
    screened_after = client.post("/api/screen?as_of=2026-11-26", json=anticoagulant_bundle())
    assert screened_after.json() == screened_before.json()


# ---------------------------------------------------------------- OpenAPI

POST_ERRORS = {"400", "413", "415", "422", "500"}
GET_PARAM_ERRORS = {"422", "500"}
RESPONSE_MODELS = {
    ("get", "/healthz"): "HealthOut",
    ("get", "/readyz"): "ReadyOut",
    ("get", "/api/knowledge"): "KnowledgeOut",
    ("post", "/api/screen"): "ScreeningOut",
    ("post", "/api/triage"): "TriageOut",
    ("post", "/api/code-session"): "CodingOut",
    ("get", "/api/scope/{state}"): "ScopeOut",
}


def test_openapi_lists_every_endpoint(openapi: dict[str, Any]) -> None:
    operations = {(m, p) for p, ops in openapi["paths"].items() for m in ops}
    expected = {*RESPONSE_MODELS, ("get", "/api/questionnaires/{which}")}
    assert expected <= operations


def test_openapi_documents_every_status(openapi: dict[str, Any]) -> None:
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            success = statuses & {"200", "201"}
            assert success, (method, path)
            assert "500" in statuses, (method, path)
            if "requestBody" in operation:  # a body can be malformed, too large or wrong
                assert statuses >= {*POST_ERRORS}, (method, path, statuses)
            if operation.get("parameters"):
                assert statuses >= {*GET_PARAM_ERRORS}, (method, path, statuses)
            for status in statuses - success:
                content = operation["responses"][status]["content"]
                if path.startswith("/fhir"):  # the FHIR facade answers OperationOutcomes
                    assert "application/fhir+json" in content, (method, path, status)
                    continue
                schema = content["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (
                    method,
                    path,
                    status,
                )


def test_openapi_response_models(openapi: dict[str, Any]) -> None:
    for (method, path), model in RESPONSE_MODELS.items():
        ok = openapi["paths"][path][method]["responses"]["200"]
        assert ok["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{model}"
        }


def test_openapi_json_bodies_are_not_documented_as_strings(openapi: dict[str, Any]) -> None:
    """Every endpoint returns a JSON object; no 200 schema may say the body is a string
    (a ``type: string`` beside a ``$ref`` makes the schema unsatisfiable for an object)."""
    wrong = [
        (method, path, media)
        for path, operations in openapi["paths"].items()
        for method, operation in operations.items()
        for ok in ("200", "201")
        for media, content in operation["responses"].get(ok, {}).get("content", {}).items()
        if "json" in media and content.get("schema", {}).get("type") == "string"
    ]
    assert wrong == []


def test_openapi_post_bodies(openapi: dict[str, Any]) -> None:
    for path in ("/api/screen", "/api/triage", "/api/code-session"):
        body = openapi["paths"][path]["post"]["requestBody"]
        assert body["required"] is True
        assert {"application/json", "application/fhir+json"} <= set(body["content"])


def test_openapi_parameters(openapi: dict[str, Any]) -> None:
    screen = openapi["paths"]["/api/screen"]["post"]
    assert {p["name"] for p in screen["parameters"]} == {
        "electrical_stimulation",
        "as_of",
        "language",
    }
    scope = openapi["paths"]["/api/scope/{state}"]["get"]
    assert {p["name"] for p in scope["parameters"]} == {"state", "profession", "language"}


@pytest.mark.parametrize(
    ("method", "url", "template", "kwargs"),
    [
        ("GET", "/healthz", "/healthz", {}),
        ("GET", "/api/knowledge", "/api/knowledge", {}),
        ("POST", "/api/screen", "/api/screen", {"json": anticoagulant_bundle()}),
        ("POST", "/api/triage", "/api/triage", {"json": {"symptoms": []}}),
        ("POST", "/api/code-session", "/api/code-session", {"json": THREE_MUSCLES}),
        ("GET", "/api/scope/CO", "/api/scope/{state}", {}),
        ("GET", "/api/questionnaires/intake", "/api/questionnaires/{which}", {}),
        ("GET", "/api/questionnaires/aftercare", "/api/questionnaires/{which}", {}),
    ],
)
def test_response_media_type_is_the_documented_one(
    client: ApiClient,
    openapi: dict[str, Any],
    method: str,
    url: str,
    template: str,
    kwargs: dict[str, Any],
) -> None:
    response = client.request(method, url, **kwargs)
    assert response.status_code == 200
    media = response.headers["content-type"].split(";")[0].strip()
    documented_media = openapi["paths"][template][method.lower()]["responses"]["200"]["content"]
    assert media in documented_media, (url, media, sorted(documented_media))


def test_docs_page(client: ApiClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text


# ---------------------------------------------------------------- headers and leaks


def assert_security_headers(response: httpx.Response) -> None:
    assert response.headers.get("x-content-type-options") == "nosniff", response.request.url
    assert response.headers.get("x-frame-options") == "DENY", response.request.url
    assert "default-src 'none'" in response.headers.get("content-security-policy", "")


@pytest.mark.parametrize(
    ("method", "url", "kwargs"),
    [
        ("GET", "/healthz", {}),
        ("GET", "/readyz", {}),
        ("GET", "/api/knowledge", {}),
        ("GET", "/openapi.json", {}),
        ("POST", "/api/screen", {"json": anticoagulant_bundle()}),
        ("POST", "/api/screen", {"content": b'{"a":', "headers": JSON}),
        ("POST", "/api/screen", {"content": b"{}", "headers": {"content-type": "text/plain"}}),
        ("POST", "/api/triage", {"json": {"symptoms": ["symptom.nope"]}}),
        ("GET", "/api/scope/XX", {}),
        ("GET", "/nope", {}),
    ],
)
def test_security_headers(client: ApiClient, method: str, url: str, kwargs: dict[str, Any]) -> None:
    assert_security_headers(client.request(method, url, **kwargs))


def test_security_headers_on_too_large(small_client: ApiClient) -> None:
    big = body_of({"text": "a" * (SMALL_LIMIT * 2)})
    response = small_client.post("/api/triage", content=big, headers=JSON)
    assert response.status_code == 413
    assert_security_headers(response)


#: a time code of the wrong type: it once crashed triage with a TypeError (a 500)
BAD_TIME_CODE = {
    "resourceType": "QuestionnaireResponse",
    "item": [{"linkId": "time-since-treatment", "answer": [{"valueCoding": {"code": []}}]}],
}


def test_a_time_code_of_the_wrong_type_is_refused_not_crashed(client: ApiClient) -> None:
    response = client.post("/api/triage", json=BAD_TIME_CODE)
    assert_error(response, 422, "invalid-input", "$.item[0].answer[0].valueCoding")
    assert "TypeError" not in response.text
    assert_security_headers(response)


def test_an_unexpected_error_is_a_500_that_echoes_nothing_of_the_request(
    valuesets_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug (here a route that raises with the request in its message) reaches the
    internal-error handler: the documented 500 body, the security headers, and nothing
    of the request (path, query, header, body) in the answer or in the app's log."""

    async def crash(request: Request, name: str) -> None:
        body = (await request.body()).decode()
        raise RuntimeError(f"cannot handle {name} {request.url} {dict(request.headers)} {body}")

    with make_service(
        settings_for(f"sqlite:///{tmp_path / 'db.sqlite'}", valuesets_dir),
        raise_app_exceptions=False,
    ) as service:
        service.app.router.add_api_route("/api/crash/{name}", crash, methods=["POST"])
        with caplog.at_level(logging.DEBUG):
            response = service.client.post(
                "/api/crash/Zebulon-path?q=Zebulon-query",
                json={"given_name": "Zebulon-body"},
                headers={"x-note": "Zebulon-header"},
            )
    assert response.status_code == 500
    error = {"code": "internal", "message": "internal error", "location": None}
    assert response.json() == {"error": error}
    documented(ErrorResponse, response.json())
    assert "Zebulon" not in response.text
    assert "Zebulon" not in str(response.headers)
    assert_security_headers(response)
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("needlewise")]
    assert logged == ["internal error: RuntimeError"]  # the operator learns what kind of bug


def test_docs_page_has_its_own_policy(client: ApiClient) -> None:
    response = client.get("/docs")
    assert response.headers.get("x-frame-options") == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


LEAK_PROBES: list[tuple[str, str, dict[str, Any], int]] = [
    ("POST", "/api/screen", {"content": b'{"a":', "headers": JSON}, 400),
    ("POST", "/api/screen", {"content": b'{"resourceType":"Patient"}', "headers": JSON}, 422),
    ("POST", "/api/screen", {"json": {"resourceType": "Bundle", "type": "weird"}}, 422),
    (
        "POST",
        "/api/screen",
        {"json": {"resourceType": "Bundle", "type": "collection", "entry": 5}},
        422,
    ),
    ("POST", "/api/triage", {"json": {"symptoms": ["symptom.nope"]}}, 422),
    ("POST", "/api/triage", {"json": {"temperature": {"value": "hot", "unit": "Cel"}}}, 422),
    (
        "POST",
        "/api/triage",
        {"json": {"resourceType": "QuestionnaireResponse", "item": [1]}},
        422,
    ),
    ("POST", "/api/triage", {"json": BAD_TIME_CODE}, 422),
    ("POST", "/api/code-session", {"json": {"muscles": "all of them"}}, 422),
    ("GET", "/api/scope/XX", {}, 422),
    ("GET", "/api/questionnaires/intake?language=fr", {}, 422),
]


@pytest.mark.parametrize(("method", "url", "kwargs", "status"), LEAK_PROBES)
def test_no_internal_details_leak(
    client: ApiClient, method: str, url: str, kwargs: dict[str, Any], status: int
) -> None:
    response = client.request(method, url, **kwargs)
    assert response.status_code == status, response.text
    documented(ErrorResponse, response.json())
    for leak in ("Traceback", 'File "', "site-packages", "needlewise/"):
        assert leak not in response.text, (leak, response.text)


def test_every_route_is_reached_by_its_own_path(client: ApiClient) -> None:
    """Routers are included busiest first (``web/app.py``), which is safe only while no
    route's path can also be taken by a route of a router included before it."""
    routes = api_routes(client.app.routes)
    assert len(routes) > 50
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "1", route.path_format)
        for method in methods(route):
            first = next(r for r in routes if method in methods(r) and r.path_regex.match(path))
            assert first is route, f"{method} {route.path} is shadowed by {first.path}"
