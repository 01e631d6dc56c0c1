"""The guard on fetching missing prefetch data (server-side request forgery).

Real HTTP to loopback listeners: a server off the caller's allow-list is never
contacted (the listener accepts no connection), the allowed one gets the bearer token
from ``fhirAuthorization``, and timeouts, the size cap, redirects, error statuses and
non-JSON answers are each a 412 that names the query, never the data.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from needlewise.errors import PreconditionFailed
from needlewise.services.cds_caller import CdsCaller
from needlewise.services.fhir_fetch import fetcher_for
from support.cds import dry_needling_order, order_select
from support.cds_http import Drip, EcKey, Loopback, bearer, cds_service, claims_for, json_answer

PATIENT = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Synthetic"}]}


@pytest.fixture
def ehr() -> Iterator[Loopback]:
    with Loopback() as server:
        server.routes["/fhir/Patient/p1"] = json_answer(PATIENT)
        yield server


@pytest.fixture
def stranger() -> Iterator[Loopback]:
    """Another listener on another port: nothing may ever reach it."""
    with Loopback() as server:
        server.routes["/fhir/Patient/p1"] = json_answer(PATIENT)
        yield server


def caller(*servers: str) -> CdsCaller:
    return CdsCaller("https://ehr.example.org", 1, "jti-1", None, tuple(servers))


def request(server: str | None, token: str | None = "fhir-access-token") -> dict[str, Any]:
    found: dict[str, Any] = {"hook": "order-select"}
    if server is not None:
        found["fhirServer"] = server
    if token is not None:
        found["fhirAuthorization"] = {"access_token": token, "token_type": "Bearer"}
    return found


def fetch(
    req: dict[str, Any], who: CdsCaller, query: str, timeout: float = 2.0, cap: int = 100_000
) -> Any:
    return fetcher_for(req, who, timeout=timeout, max_bytes=cap)(query)


def test_the_allowed_server_is_asked_with_the_bearer_token(ehr: Loopback) -> None:
    got = fetch(request(f"{ehr.base}/fhir"), caller(f"{ehr.base}/fhir"), "Patient/p1")
    assert got == PATIENT
    (seen,) = ehr.seen
    assert seen.path == "/fhir/Patient/p1"
    headers = {name.lower(): value for name, value in seen.headers.items()}
    assert headers["authorization"] == "Bearer fhir-access-token"
    assert headers["accept"] == "application/fhir+json"


def test_the_allow_list_compares_normalised_base_urls(ehr: Loopback) -> None:
    """A trailing slash or upper-case host in either still names the same server."""
    port = ehr.port
    got = fetch(
        request(f"HTTP://LOCALHOST:{port}/fhir/"),
        caller(f"http://localhost:{port}/fhir"),
        "Patient/p1",
    )
    assert got == PATIENT


def test_without_a_token_no_authorization_is_sent(ehr: Loopback) -> None:
    fetch(request(f"{ehr.base}/fhir", token=None), caller(f"{ehr.base}/fhir"), "Patient/p1")
    assert "authorization" not in {name.lower() for name in ehr.seen[0].headers}


@pytest.mark.parametrize(
    "server",
    [
        "{other}/fhir",  # another port
        "{ehr}/fhir/../admin",
        "{ehr}/other",  # another path on the allowed host
        "{ehr}/fhir?x=1",
        "http://user:pw@127.0.0.1:{port}/fhir",
        "ftp://127.0.0.1:{port}/fhir",
        "not a url",
        None,
    ],
)
def test_a_server_off_the_allow_list_is_never_contacted(
    ehr: Loopback, stranger: Loopback, server: str | None
) -> None:
    named = (
        None if server is None else server.format(other=stranger.base, ehr=ehr.base, port=ehr.port)
    )
    who = caller(f"{ehr.base}/fhir")
    if named is not None and named.startswith("{"):
        raise AssertionError(named)
    with pytest.raises(PreconditionFailed) as refused:
        fetch(request(named), who, "Patient/p1")
    assert refused.value.status == 412
    assert "Patient/p1" in refused.value.message
    time.sleep(0.05)  # a connection, had one been made, would have been accepted by now
    assert (stranger.connections, ehr.connections) == (0, 0)


def test_a_caller_with_no_fhir_servers_never_fetches(stranger: Loopback) -> None:
    with pytest.raises(PreconditionFailed):
        fetch(request(f"{stranger.base}/fhir"), caller(), "Patient/p1")
    assert stranger.connections == 0


@pytest.mark.parametrize(
    "query",
    [
        "../admin",
        "Patient/../../admin",
        "/Patient/p1",
        "//127.0.0.1:1/x",
        "http://127.0.0.1:1/x",
        "Patient\\p1",
        "Patient/p1 x",
        "",
    ],
)
def test_a_query_cannot_leave_the_base_url(ehr: Loopback, query: str) -> None:
    with pytest.raises(PreconditionFailed):
        fetch(request(f"{ehr.base}/fhir"), caller(f"{ehr.base}/fhir"), query)
    assert ehr.connections == 0


def test_a_redirect_is_not_followed(ehr: Loopback, stranger: Loopback) -> None:
    ehr.routes["/fhir/Patient/moved"] = (302, {"Location": f"{stranger.base}/fhir/Patient/p1"}, b"")
    with pytest.raises(PreconditionFailed) as refused:
        fetch(request(f"{ehr.base}/fhir"), caller(f"{ehr.base}/fhir"), "Patient/moved")
    assert "302" in refused.value.message
    assert stranger.connections == 0


def test_an_error_status_or_a_body_that_is_not_json_is_412_without_the_data(
    ehr: Loopback,
) -> None:
    ehr.routes["/fhir/Patient/gone"] = (404, {}, b'{"secret": "SYNTHETIC-PATIENT-NAME"}')
    ehr.routes["/fhir/Patient/html"] = (200, {}, b"<html>SYNTHETIC-PATIENT-NAME</html>")
    for query, words in (("Patient/gone", "HTTP 404"), ("Patient/html", "not JSON")):
        with pytest.raises(PreconditionFailed) as refused:
            fetch(request(f"{ehr.base}/fhir"), caller(f"{ehr.base}/fhir"), query)
        assert words in refused.value.message
        assert query in refused.value.message
        assert "SYNTHETIC" not in refused.value.message


def test_a_slow_server_times_out(ehr: Loopback) -> None:
    def slow() -> tuple[int, dict[str, str], bytes]:
        time.sleep(1.5)
        return json_answer(PATIENT)

    ehr.routes["/fhir/Patient/slow"] = slow
    started = time.monotonic()
    with pytest.raises(PreconditionFailed) as refused:
        fetch(request(f"{ehr.base}/fhir"), caller(f"{ehr.base}/fhir"), "Patient/slow", timeout=0.3)
    assert time.monotonic() - started < 1.2
    assert "0.3 s" in refused.value.message


def test_a_dripping_answer_is_cut_at_the_total_timeout(ehr: Loopback) -> None:
    """Each chunk arrives within the read timeout, but the whole takes too long."""
    ehr.routes["/fhir/Patient/drip"] = Drip([b"[" + b" " * 10] * 40 + [b"]"], delay=0.05)
    started = time.monotonic()
    with pytest.raises(PreconditionFailed) as refused:
        fetch(request(f"{ehr.base}/fhir"), caller(f"{ehr.base}/fhir"), "Patient/drip", timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert "within" in refused.value.message


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
def test_an_answer_over_the_size_cap_is_abandoned(ehr: Loopback, declared: bool) -> None:
    big = b'{"resourceType": "Bundle", "pad": "' + b"x" * 50_000 + b'"}'
    if declared:
        ehr.routes["/fhir/Patient/big"] = (200, {"Content-Type": "application/json"}, big)
    else:
        ehr.routes["/fhir/Patient/big"] = Drip(
            [big[i : i + 4096] for i in range(0, len(big), 4096)], 0
        )
    with pytest.raises(PreconditionFailed) as refused:
        fetch(request(f"{ehr.base}/fhir"), caller(f"{ehr.base}/fhir"), "Patient/big", cap=10_000)
    assert "larger than 10000 bytes" in refused.value.message


def test_search_parameters_may_hold_urls(ehr: Loopback) -> None:
    ehr.routes["/fhir/QuestionnaireResponse"] = json_answer(EMPTY)
    query = "QuestionnaireResponse?subject=Patient/p1&questionnaire=http://example.org/Q|1"
    assert fetch(request(f"{ehr.base}/fhir"), caller(f"{ehr.base}/fhir"), query) == EMPTY


# ------------------------------------------------------------------ through the app

EMPTY = {"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": []}
SEARCHED = (
    "Condition",
    "MedicationRequest",
    "AllergyIntolerance",
    "Observation",
    "Procedure",
    "MedicationStatement",
    "QuestionnaireResponse",
)


def _signed_call(
    database_url: str, folder: Path, allowed: str, server: str
) -> tuple[int, dict[str, Any]]:
    key = EcKey()
    clients = [
        {
            "issuer": "https://ehr.example.org",
            "name": "ehr",
            "jwks": key.jwks(),
            "fhir_servers": [allowed],
        }
    ]
    body = order_select("p1", None, [dry_needling_order("o1", "p1")], ["ServiceRequest/o1"])
    body["fhirServer"] = server
    body["fhirAuthorization"] = {
        "access_token": "ehr-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "needlewise",
    }
    path = "/cds-services/needlewise-order-select"
    with cds_service(database_url, folder, clients) as service:
        token = key.sign(claims_for("https://test" + path))
        answer = service.client.post(path, json=body, headers=bearer(token))
        return answer.status_code, answer.json()


def test_through_the_app_the_allowed_server_supplies_missing_prefetch(
    database_url: str, tmp_path: Path, ehr: Loopback
) -> None:
    ehr.routes["/fhir/Patient/p1"] = json_answer({**PATIENT, "birthDate": "1980-01-01"})
    for kind in SEARCHED:
        ehr.routes[f"/fhir/{kind}"] = json_answer(EMPTY)
    status, answer = _signed_call(database_url, tmp_path, f"{ehr.base}/fhir", f"{ehr.base}/fhir")
    assert status == 200, answer
    assert answer["cards"]
    asked = {seen.path.split("?")[0] for seen in ehr.seen}
    assert "/fhir/Patient/p1" in asked
    tokens = {
        value
        for seen in ehr.seen
        for name, value in seen.headers.items()
        if name.lower() == "authorization"
    }
    assert tokens == {"Bearer ehr-token"}


def test_through_the_app_a_server_off_the_list_is_412_and_never_contacted(
    database_url: str, tmp_path: Path, ehr: Loopback, stranger: Loopback
) -> None:
    status, answer = _signed_call(
        database_url, tmp_path, f"{ehr.base}/fhir", f"{stranger.base}/fhir"
    )
    assert status == 412, answer
    assert "allow-list" in answer["error"]["message"]
    time.sleep(0.05)
    assert (stranger.connections, ehr.connections) == (0, 0)
