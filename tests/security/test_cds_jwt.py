"""The CDS Hooks bearer JWT, over real HTTP through the app, with real keys.

Good ES384 (inline key set) and RS384 (key set served by a loopback JWKS server) tokens
are let in; every kind of bad token is refused with a 401 naming its reason code, and
each refusal is exactly one audit entry holding nothing of the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt import PyJWK
from sqlalchemy import func, select

from needlewise.config import Settings
from needlewise.persistence.models import AuditEntry, CdsCard, UsedJwtId
from support.audit import entries_after, holds_nothing_of, last_id
from support.cds import KEYS, dry_needling_order, order_select, other_order
from support.cds_http import (
    BASE,
    ISSUER,
    SERVICE_PATH,
    EcKey,
    Loopback,
    RsaKey,
    bearer,
    cds_service,
    claims_for,
    json_answer,
)
from support.service import CONFORMANCE_DIR, Service

RSA_ISSUER = "https://rsa-ehr.example.org"
SPEC_ISSUER = "https://spec-example.example.org"
URL = BASE + SERVICE_PATH
#: an order-select call whose selected order is not dry needling: no cards, no fetch
ORDER = order_select("p1", None, [other_order("o1", "p1")], ["ServiceRequest/o1"])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """A JWT made by hand (PyJWT refuses to make these): HMAC-signed with ``secret``,
    or unsigned (``alg: none``) when it is ``None``."""
    signing = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    if secret is None:
        return signing + "."
    mac = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
    return signing + "." + _b64(mac)


class World:
    def __init__(self, service: Service, ec: EcKey, rsa: RsaKey, jwks: Loopback, jku: Loopback):
        self.service, self.ec, self.rsa, self.jwks, self.jku = service, ec, rsa, jwks, jku

    def post(self, token: str | None, path: str = SERVICE_PATH, body: Any = ORDER) -> Any:
        headers = bearer(token) if token is not None else {}
        return self.service.client.post(path, json=body, headers=headers)


def _spec_client() -> list[dict[str, Any]]:
    folder = Settings(conformance_dir=CONFORMANCE_DIR).conformance_dir / "cds-hooks"
    public = folder / "security-jwks-public.json"
    if not public.is_file():
        return []
    return [{"issuer": SPEC_ISSUER, "name": "spec", "jwks": json.loads(public.read_text())}]


@pytest.fixture(scope="module")
def world(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    ec_key, rsa_key = EcKey(), RsaKey()
    with Loopback() as jwks, Loopback() as jku:
        jwks.routes["/jwks.json"] = json_answer(rsa_key.jwks())
        jku.routes["/rotating.json"] = json_answer(EcKey(kid="jku-key").jwks())
        clients: list[dict[str, Any]] = [
            {
                "issuer": ISSUER,
                "name": "inline-ehr",
                "jwks": ec_key.jwks(),
                "jku": [f"{jku.base}/rotating.json"],
            },
            {"issuer": RSA_ISSUER, "name": "rsa-ehr", "jwks_url": f"{jwks.base}/jwks.json"},
            *_spec_client(),
        ]
        folder = tmp_path_factory.mktemp("cds-jwt")
        with cds_service(module_database_url, folder, clients) as service:
            yield World(service, ec_key, rsa_key, jwks, jku)


def refused(world: World, response: Any, reason: str, mark: int, *secrets: str) -> None:
    """``response`` is a 401 naming ``reason``, audited once (anonymous, no secrets)."""
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == "unauthorized"
    assert error["reason"] == reason, error
    entries = entries_after(world.service, mark)
    assert len(entries) == 1, entries
    entry = entries[0]
    assert (entry["outcome"], entry["reason"], entry["actor"]) == ("denied", reason, "anonymous")
    assert entry["resource_type"] == "cds-service"
    holds_nothing_of(entry, *secrets)


# ------------------------------------------------------------------ accepted


def test_a_good_es384_token_from_an_inline_key_set_is_let_in(world: World) -> None:
    response = world.post(world.ec.sign(claims_for(URL)))
    assert response.status_code == 200, response.text
    assert "cards" in response.json()


def test_a_good_rs384_token_is_checked_against_the_fetched_key_set(world: World) -> None:
    before = len(world.jwks.seen)
    first = world.post(world.rsa.sign(claims_for(URL, issuer=RSA_ISSUER)))
    second = world.post(world.rsa.sign(claims_for(URL, issuer=RSA_ISSUER)))
    assert (first.status_code, second.status_code) == (200, 200), first.text
    fetched = world.jwks.seen[before:]
    assert len(fetched) <= 1  # fetched once (or earlier in the module), then held
    assert all(seen.path == "/jwks.json" for seen in world.jwks.seen)


def test_the_specs_example_key_pair_signs_a_token_we_accept(
    world: World, conformance_dir: Path
) -> None:
    private = json.loads((conformance_dir / "cds-hooks" / "security-jwk-private.json").read_text())
    key = PyJWK(private).key
    token = jwt.encode(
        claims_for(URL, issuer=SPEC_ISSUER),
        key,
        algorithm="ES384",
        headers={"kid": private["kid"], "typ": "JWT"},
    )
    assert world.post(token).status_code == 200


def test_discovery_needs_a_token_for_the_discovery_url(world: World) -> None:
    client = world.service.client
    mark = last_id(world.service)
    assert client.get("/cds-services").status_code == 401
    token = world.ec.sign(claims_for(BASE + "/cds-services"))
    answer = client.get("/cds-services", headers=bearer(token))
    assert answer.status_code == 200
    assert isinstance(answer.json()["services"], list)
    service_token = world.ec.sign(claims_for(URL))  # a service's token is not discovery's
    assert client.get("/cds-services", headers=bearer(service_token)).status_code == 401
    reasons = [entry["reason"] for entry in entries_after(world.service, mark)]
    assert reasons == ["unauthenticated", "wrong-audience"]


# ------------------------------------------------------------------ refused


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"aud": BASE + "/cds-services/another-service"}, "wrong-audience"),
        ({"aud": BASE + "/cds-services"}, "wrong-audience"),
        ({"aud": URL + "/"}, "wrong-audience"),
        ({"aud": [URL, BASE + "/cds-services"]}, "wrong-audience"),
        ({"aud": "http://test" + SERVICE_PATH}, "wrong-audience"),
        ({"exp": 1_000_000_000, "iat": 999_999_000}, "expired"),
        ({"exp": None}, "missing-claim"),
        ({"iat": None}, "missing-claim"),
        ({"jti": None}, "missing-claim"),
        ({"jti": ""}, "missing-claim"),
        ({"iat": 9_999_999_999, "exp": 9_999_999_999}, "not-yet-valid"),
        ({"iss": "https://stranger.example.org"}, "unknown-issuer"),
        ({"iss": None}, "missing-claim"),
    ],
    ids=lambda value: value if isinstance(value, str) else "-".join(sorted(value)),
)
def test_a_bad_claim_is_refused_and_audited_once(
    world: World, overrides: dict[str, Any], reason: str
) -> None:
    mark = last_id(world.service)
    token = world.ec.sign(claims_for(URL, **overrides))
    refused(world, world.post(token), reason, mark, token)


def test_an_unknown_kid_is_refused(world: World) -> None:
    mark = last_id(world.service)
    stranger = EcKey(kid="not-registered")
    refused(world, world.post(stranger.sign(claims_for(URL))), "unknown-key", mark)


def test_a_key_of_another_issuer_does_not_sign_for_this_one(world: World) -> None:
    """The RSA client's key, named by its kid, is not in the inline client's set."""
    mark = last_id(world.service)
    token = world.rsa.sign(claims_for(URL))  # iss: the inline client
    refused(world, world.post(token), "unknown-key", mark)


def test_an_unknown_kid_fetches_the_key_set_once_then_refuses(world: World) -> None:
    stranger = RsaKey(kid="rotated-away")
    before = len(world.jwks.seen)
    mark = last_id(world.service)
    token = stranger.sign(claims_for(URL, issuer=RSA_ISSUER))
    refused(world, world.post(token), "unknown-key", mark)
    fetches = len(world.jwks.seen) - before
    assert fetches <= 1
    again = last_id(world.service)
    refused(
        world, world.post(stranger.sign(claims_for(URL, issuer=RSA_ISSUER))), "unknown-key", again
    )
    assert len(world.jwks.seen) - before == fetches  # rate-limited: no second fetch


def test_hs256_signed_with_the_public_key_is_refused(world: World) -> None:
    """The classic key-confusion attack: the public key used as an HMAC secret."""
    public = json.dumps(world.ec.public_jwk()).encode()
    header = {"alg": "HS256", "typ": "JWT", "kid": world.ec.kid}
    for secret in (public, world.ec.public_jwk()["x"].encode()):
        mark = last_id(world.service)
        token = handmade(header, claims_for(URL), secret)
        refused(world, world.post(token), "algorithm-not-allowed", mark, token)


def test_alg_none_is_refused(world: World) -> None:
    mark = last_id(world.service)
    token = handmade({"alg": "none", "typ": "JWT", "kid": world.ec.kid}, claims_for(URL), None)
    refused(world, world.post(token), "algorithm-not-allowed", mark)


def test_an_algorithm_that_does_not_fit_the_key_is_refused(world: World) -> None:
    mark = last_id(world.service)
    # same kid, but the registered key is P-384: a P-256 signature must not be tried
    p256 = EcKey(kid=world.ec.kid, private=ec.generate_private_key(ec.SECP256R1()))
    token = p256.sign(claims_for(URL), alg="ES256")
    refused(world, world.post(token), "algorithm-not-allowed", mark)


def test_a_tampered_token_is_refused(world: World) -> None:
    token = world.ec.sign(claims_for(URL))
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["jti"] = "forged"
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    mark = last_id(world.service)
    refused(world, world.post(forged), "bad-signature", mark)
    flipped = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    mark = last_id(world.service)
    refused(world, world.post(f"{header}.{payload}.{flipped}"), "bad-signature", mark)


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer not-a-jwt", "Bearer a.b.c", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 20_000],
)
def test_a_malformed_authorization_header_is_refused(world: World, header: str) -> None:
    mark = last_id(world.service)
    response = world.service.client.post(
        SERVICE_PATH, json=ORDER, headers={"authorization": header}
    )
    refused(world, response, "malformed", mark)


def test_a_jku_off_the_allow_list_is_refused_and_never_fetched(world: World) -> None:
    with Loopback() as elsewhere:
        elsewhere.routes["/keys.json"] = json_answer(world.ec.jwks())
        mark = last_id(world.service)
        token = world.ec.sign(claims_for(URL), headers={"jku": f"{elsewhere.base}/keys.json"})
        refused(world, world.post(token), "jku-not-allowed", mark)
        assert elsewhere.seen == []
        assert elsewhere.connections == 0


def test_a_jku_on_the_allow_list_is_used(world: World) -> None:
    key = EcKey(kid="jku-key")
    world.jku.routes["/rotating.json"] = json_answer(key.jwks())
    token = key.sign(claims_for(URL), headers={"jku": f"{world.jku.base}/rotating.json"})
    assert world.post(token).status_code == 200
    assert [seen.path for seen in world.jku.seen] == ["/rotating.json"]


def _stored(service: Service) -> tuple[int, int, int]:
    """(cards, used JWT ids, audit entries) stored."""
    with service.runtime.db.read() as tx:
        return (
            tx.scalar(select(func.count()).select_from(CdsCard)) or 0,
            tx.scalar(select(func.count()).select_from(UsedJwtId)) or 0,
            tx.scalar(select(func.count()).select_from(AuditEntry)) or 0,
        )


def test_a_replayed_jti_is_refused_and_stores_nothing(world: World) -> None:
    patient = {"resourceType": "Patient", "id": "p1", "birthDate": "1980-01-01"}
    prefetch = {"patient": patient, **dict.fromkeys(KEYS.values())}
    body = order_select("p1", prefetch, [dry_needling_order("o1", "p1")], ["ServiceRequest/o1"])
    token = world.ec.sign(claims_for(URL))
    before = _stored(world.service)
    first = world.post(token, body=body)
    assert first.status_code == 200, first.text
    assert first.json()["cards"], "a dry-needling order with no history gets a card"
    after_first = _stored(world.service)
    assert after_first[0] > before[0]
    assert after_first[1] == before[1] + 1
    mark = last_id(world.service)
    body["hookInstance"] = "a9a3f0a7-2e0e-4f5b-9a43-1b2c3d4e5f60"
    again = world.post(token, body=body)
    assert again.status_code == 401, again.text
    assert again.json()["error"]["reason"] == "replayed"
    entries = entries_after(world.service, mark)
    assert [(e["outcome"], e["reason"], e["actor"]) for e in entries] == [
        ("denied", "replayed", f"cds:{ISSUER}")
    ]
    cards, jtis, audit = _stored(world.service)
    assert (cards, jtis, audit) == (after_first[0], after_first[1], after_first[2] + 1)


def test_a_critical_header_extension_is_refused(world: World) -> None:
    """RFC 7515: a ``crit`` extension the verifier does not understand must be refused."""
    mark = last_id(world.service)
    token = world.ec.sign(claims_for(URL), headers={"crit": ["exp"], "exp": 1})
    refused(world, world.post(token), "malformed", mark)
