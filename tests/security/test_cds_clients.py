"""The CDS clients file: strict, and a bad one stops start-up with one clear line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from needlewise.cli import main
from needlewise.errors import InputError
from needlewise.security.cds_jwt import REASONS as JWT_REASONS
from needlewise.services.audit import REASONS
from needlewise.services.cds_clients import load_clients, normalise_base_url
from support.cds_http import EcKey, RsaKey
from support.service import settings_for

KEY = EcKey()
GOOD: dict[str, Any] = {
    "issuer": "https://ehr.example.org",
    "name": "Example EHR",
    "jwks_url": "https://ehr.example.org/jwks.json",
    "jku": ["https://ehr.example.org/rotating.json"],
    "fhir_servers": ["https://EHR.example.org:443/fhir/r4/"],
}


def write(folder: Path, document: Any) -> Path:
    path = folder / "clients.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def test_a_good_file_is_read(tmp_path: Path) -> None:
    inline = {"issuer": "https://b.example.org", "name": "B", "jwks": RsaKey().jwks(), "clinic": 2}
    clients = load_clients(write(tmp_path, {"clients": [GOOD, inline]}))
    first = clients.get("https://ehr.example.org")
    assert first is not None
    assert first.fhir_servers == ("https://ehr.example.org/fhir/r4",)
    assert first.jku == frozenset({"https://ehr.example.org/rotating.json"})
    assert (first.clinic_id, first.keys) == (None, None)
    second = clients.get("https://b.example.org")
    assert second is not None
    assert second.clinic_id == 2
    assert second.keys is not None
    assert set(second.keys) == {"rsa-key-1"}


def test_no_file_means_no_client() -> None:
    assert len(load_clients(None)) == 0


@pytest.mark.parametrize(
    ("document", "where", "words"),
    [
        ("{", "$", "not valid JSON"),
        ([], "$", '{"clients": [...]}'),
        ({"clients": [], "extra": 1}, "$.extra", "unknown field"),
        ({"clients": [{**GOOD, "issuer": ""}]}, "$.clients[0].issuer", "iss"),
        ({"clients": [{**GOOD, "name": None}]}, "$.clients[0].name", "short name"),
        ({"clients": [{**GOOD, "clinic": "one"}]}, "$.clients[0].clinic", "clinic id"),
        ({"clients": [{**GOOD, "clinic": True}]}, "$.clients[0].clinic", "clinic id"),
        ({"clients": [{**GOOD, "jwks": KEY.jwks()}]}, "$.clients[0]", "exactly one"),
        ({"clients": [{**GOOD, "jwks_url": None}]}, "$.clients[0]", "exactly one"),
        (
            {"clients": [{**GOOD, "jwks_url": "http://ehr.example.org/k"}]},
            "$.clients[0].jwks_url",
            "https",
        ),
        ({"clients": [{**GOOD, "jku": "https://a.example.org"}]}, "$.clients[0].jku", "list"),
        (
            {"clients": [{**GOOD, "jku": ["https://a.example.org/?x=1"]}]},
            "$.clients[0].jku[0]",
            "query",
        ),
        (
            {"clients": [{**GOOD, "fhir_servers": ["https://u:p@ehr.example.org/fhir"]}]},
            "$.clients[0].fhir_servers[0]",
            "user name",
        ),
        ({"clients": [{**GOOD, "fhir_server": []}]}, "$.clients[0].fhir_server", "unknown field"),
        ({"clients": [GOOD, GOOD]}, "$.clients[1].issuer", "twice"),
        (
            {
                "clients": [
                    {
                        **GOOD,
                        "jwks_url": None,
                        "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]},
                    }
                ]
            },
            "$.clients[0].jwks.keys[0].kty",
            "no symmetric",
        ),
        (
            {
                "clients": [
                    {
                        **GOOD,
                        "jwks_url": None,
                        "jwks": {"keys": [{**KEY.public_jwk(), "kid": None}]},
                    }
                ]
            },
            "$.clients[0].jwks.keys[0].kid",
            "kid",
        ),
        (
            {
                "clients": [
                    {**GOOD, "jwks_url": None, "jwks": {"keys": [{**KEY.public_jwk(), "d": "x"}]}}
                ]
            },
            "$.clients[0].jwks.keys[0]",
            "private key",
        ),
        (
            {
                "clients": [
                    {**GOOD, "jwks_url": None, "jwks": {"keys": [{**KEY.public_jwk(), "x": "AA"}]}}
                ]
            },
            "$.clients[0].jwks.keys[0]",
            "not a usable public key",
        ),
    ],
)
def test_a_bad_file_names_the_file_and_the_json_path(
    tmp_path: Path, document: Any, where: str, words: str
) -> None:
    path = write(tmp_path, document)
    with pytest.raises(InputError) as refused:
        load_clients(path)
    assert refused.value.where.startswith(f"{path}: ")
    assert refused.value.where.endswith(where) or f"{path}: {where}" in refused.value.where
    assert words in refused.value.problem


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError) as refused:
        load_clients(tmp_path / "absent.json")
    assert "absent.json" in str(refused.value)
    assert "cannot read" in refused.value.problem


def test_serve_with_a_bad_file_stops_with_one_line(tmp_path: Path) -> None:
    """``needlewise serve`` exits 2 before listening, naming the file and JSON path."""
    path = write(tmp_path, {"clients": [{**GOOD, "jwks_url": "ftp://ehr.example.org/k"}]})
    settings = settings_for(f"sqlite:///{tmp_path / 'db.sqlite'}", cds_clients_file=path, port=1)
    result = CliRunner().invoke(main, ["serve"], obj=settings)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("needlewise:")]
    assert len(lines) == 1, result.output
    assert str(path) in lines[0]
    assert "$.clients[0].jwks_url" in lines[0]


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("HTTPS://Ehr.Example.org:443/fhir/", "https://ehr.example.org/fhir"),
        ("https://ehr.example.org:8443/fhir", "https://ehr.example.org:8443/fhir"),
        ("http://127.0.0.1:80/", "http://127.0.0.1"),
        ("http://[::1]:9000/r4", "http://[::1]:9000/r4"),
    ],
)
def test_base_urls_are_normalised(url: str, normal: str) -> None:
    assert normalise_base_url(url) == normal


def test_every_jwt_refusal_code_is_an_audit_reason() -> None:
    assert set(JWT_REASONS) <= set(REASONS)


def test_a_bad_base_url_stops_start_up(tmp_path: Path) -> None:
    settings = settings_for(
        f"sqlite:///{tmp_path / 'db.sqlite'}", cds_base_url="https://u:p@cds.example.org", port=1
    )
    result = CliRunner().invoke(main, ["serve"], obj=settings)
    assert result.exit_code == 2, result.output
    assert "NEEDLEWISE_CDS_BASE_URL" in result.output
    assert "Traceback" not in result.output
