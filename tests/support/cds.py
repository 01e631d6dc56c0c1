"""CDS Hooks test helpers: hook requests built from the sample FHIR bundles.

* ``prefetch_from_bundle(bundle)`` — a Synthea-style patient Bundle split into the
  prefetch keys our services publish (one searchset per resource type, as a CDS client
  fills ``Condition?patient=…``); fullUrls are kept, so references still resolve.
* ``order_select(...)``, ``order_sign(...)``, ``appointment_book(...)``,
  ``patient_view(...)`` — requests for our services, with a fresh ``hookInstance``.
* ``dry_needling_order(id)`` / ``other_order(id)`` — draft ServiceRequests.
* ``caller(clinic_id)`` — a :class:`CdsCaller` with a fresh ``jti``.

Keys, tokens and servers (the door's tests):

* ``EcKey`` / ``RsaKey`` — a freshly generated key pair with its public JWK; ``sign``
  makes a JWT with any header and claims (``claims_for`` gives the usual ones).
* ``clients_file(folder, clients)`` — writes a CDS clients file and returns its path.
* ``Loopback`` — a threaded HTTP server on 127.0.0.1 that answers from a table of
  paths and records every request (and every TCP connection) it sees.
* ``cds_service(database_url, folder, clients, **settings)`` — ``make_service`` with
  a clients file and any ``cds_*`` settings.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from needlewise.config import Settings
from needlewise.errors import PreconditionFailed
from needlewise.services.cds_caller import CdsCaller
from support.service import Service, make_service, settings_for

JSON = dict[str, Any]
CPT = "http://www.ama-assn.org/go/cpt"
KEYS = {
    "Condition": "conditions",
    "MedicationRequest": "medicationRequests",
    "AllergyIntolerance": "allergies",
    "Observation": "observations",
    "Procedure": "procedures",
    "MedicationStatement": "medicationStatements",
    "QuestionnaireResponse": "intake",
}


def searchset(entries: list[JSON]) -> JSON:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


def prefetch_from_bundle(bundle: JSON) -> tuple[str, JSON]:
    """(patient id, prefetch) from a one-patient Bundle; keys without data are ``null``.

    References to the patient by its ``urn:uuid:`` fullUrl become ``Patient/<id>``, as
    a FHIR server's search results name it (the Patient itself comes from a read)."""
    for entry in bundle.get("entry", []):
        if entry["resource"]["resourceType"] == "Patient" and "fullUrl" in entry:
            text = json.dumps(bundle).replace(
                f'"{entry["fullUrl"]}"', f'"Patient/{entry["resource"]["id"]}"'
            )
            bundle = json.loads(text)
            break
    patient: JSON | None = None
    found: dict[str, list[JSON]] = {key: [] for key in KEYS.values()}
    for entry in bundle.get("entry", []):
        resource = entry["resource"]
        kind = resource["resourceType"]
        if kind == "Patient":
            patient = resource
        elif kind in KEYS:
            item = {"fullUrl": entry["fullUrl"]} if "fullUrl" in entry else {}
            found[KEYS[kind]].append({**item, "resource": resource, "search": {"mode": "match"}})
    assert patient is not None, "the bundle has no Patient"
    prefetch: JSON = {"patient": patient}
    for key, entries in found.items():
        prefetch[key] = searchset(entries) if entries else None
    return str(patient["id"]), prefetch


def dry_needling_order(order_id: str, patient_id: str, code: str = "20560") -> JSON:
    return {
        "resourceType": "ServiceRequest",
        "id": order_id,
        "status": "draft",
        "intent": "order",
        "code": {"coding": [{"system": CPT, "code": code, "display": "Dry needling"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
    }


def other_order(order_id: str, patient_id: str) -> JSON:
    return {
        "resourceType": "ServiceRequest",
        "id": order_id,
        "status": "draft",
        "intent": "order",
        "code": {
            "coding": [{"system": "http://loinc.org", "code": "24627-2", "display": "Chest CT"}]
        },
        "subject": {"reference": f"Patient/{patient_id}"},
    }


def _request(hook: str, patient_id: str, context: JSON, prefetch: JSON | None) -> JSON:
    body: JSON = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": patient_id, **context},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def order_select(
    patient_id: str, prefetch: JSON | None, orders: list[JSON], selections: list[str]
) -> JSON:
    draft = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": o} for o in orders],
    }
    return _request(
        "order-select", patient_id, {"selections": selections, "draftOrders": draft}, prefetch
    )


def order_sign(patient_id: str, prefetch: JSON | None, orders: list[JSON]) -> JSON:
    draft = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": o} for o in orders],
    }
    return _request("order-sign", patient_id, {"draftOrders": draft}, prefetch)


def appointment_book(patient_id: str, prefetch: JSON | None, service_code: str = "20561") -> JSON:
    appointment = {
        "resourceType": "Appointment",
        "id": "apt-1",
        "status": "proposed",
        "serviceType": [{"coding": [{"system": CPT, "code": service_code}]}],
        "participant": [
            {"actor": {"reference": f"Patient/{patient_id}"}, "status": "needs-action"}
        ],
    }
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": appointment}]}
    return _request("appointment-book", patient_id, {"appointments": bundle}, prefetch)


def patient_view(patient_id: str, prefetch: JSON | None) -> JSON:
    return _request("patient-view", patient_id, {}, prefetch)


def caller(
    clinic_id: int, client: str = "https://ehr.example.org", jti: str | None = None
) -> CdsCaller:
    return CdsCaller(
        client=client,
        clinic_id=clinic_id,
        jti=jti or str(uuid.uuid4()),
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
    )


class NoFetch:
    """A fetcher for a request without ``fhirServer``: every query is refused (412), and
    the queries asked are kept so a test can check none was needed."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, query: str) -> Any:
        self.asked.append(query)
        raise PreconditionFailed("no fhirServer in the request")


class DictFetch:
    """A fetcher answering from a dict of query prefix -> JSON (a FHIR server stand-in
    for what the door's fetcher returns); other queries are refused (412)."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, query: str) -> Any:
        self.asked.append(query)
        for prefix, value in self.answers.items():
            if query.startswith(prefix):
                return value
        raise PreconditionFailed("not on this server")


ISSUER = "https://ehr.example.org"
BASE = "https://test"
SERVICE_PATH = "/cds-services/needlewise-order-select"


class Key:
    """A private key and its public JWK (``kid``)."""

    alg: str
    private: Any

    def __init__(self, kid: str) -> None:
        self.kid = kid

    def public_jwk(self) -> dict[str, Any]:
        raise NotImplementedError

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}

    def sign(
        self,
        claims: dict[str, Any],
        *,
        alg: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        header = {"kid": self.kid, "typ": "JWT", **(headers or {})}
        return jwt.encode(claims, self.private, algorithm=alg or self.alg, headers=header)


class EcKey(Key):
    alg = "ES384"

    def __init__(self, kid: str = "ec-key-1", private: Any = None) -> None:
        super().__init__(kid)
        self.private = private or ec.generate_private_key(ec.SECP384R1())

    def public_jwk(self) -> dict[str, Any]:
        jwk = json.loads(ECAlgorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg}


class RsaKey(Key):
    alg = "RS384"

    def __init__(self, kid: str = "rsa-key-1") -> None:
        super().__init__(kid)
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def public_jwk(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg}


def claims_for(audience: str, issuer: str = ISSUER, **overrides: Any) -> dict[str, Any]:
    """The claims of a good token for a call to ``audience`` (a full URL); an override
    of ``None`` drops the claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def clients_file(folder: Path, clients: list[dict[str, Any]]) -> Path:
    path = folder / "cds-clients.json"
    path.write_text(json.dumps({"clients": clients}))
    return path


def cds_service(
    database_url: str, folder: Path, clients: list[dict[str, Any]] | None = None, **settings: Any
) -> Service:
    """A service with a seeded clinic and the given CDS clients and settings."""
    values: dict[str, Any] = dict(settings)
    if clients is not None:
        values["cds_clients_file"] = clients_file(folder, clients)
    return make_service(settings_for(database_url, **values))


def settings_with(database_url: str, **values: Any) -> Settings:
    return settings_for(database_url, **values)


# ------------------------------------------------------------------ loopback server


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


Responder = Callable[[], tuple[int, dict[str, str], bytes]]


@dataclass
class Loopback:
    """A loopback HTTP server answering ``routes[path]`` (status, headers, body, or a
    callable giving them), 404 otherwise; ``seen`` lists the requests, ``connections``
    counts the TCP connections accepted. Use as a context manager."""

    routes: dict[str, tuple[int, dict[str, str], bytes] | Responder] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.seen.append(Seen("GET", self.path, dict(self.headers.items())))
                found = owner.routes.get(self.path.split("?")[0]) or owner.routes.get(self.path)
                if found is None:
                    status, headers, body = 404, {}, b"{}"
                else:
                    status, headers, body = found() if callable(found) else found
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    if "Content-Length" not in headers:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *_: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[socket.socket, Any]:
                accepted = super().get_request()
                owner.connections += 1
                return accepted

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Loopback:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def json_answer(document: Any, status: int = 200) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/fhir+json"}, json.dumps(document).encode()
