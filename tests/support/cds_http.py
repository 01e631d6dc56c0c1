"""CDS Hooks test helpers: real keys, real JWTs, a clients file, a loopback HTTP server.

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
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from needlewise.config import Settings
from support.service import Service, make_service, settings_for

ISSUER = "https://ehr.example.org"
BASE = "https://test"
SERVICE_PATH = "/cds-services/needlewise-order-select"


class Key(ABC):
    """A private key and its public JWK (``kid``)."""

    alg: str
    private: Any

    def __init__(self, kid: str) -> None:
        self.kid = kid

    @abstractmethod
    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK, with this key's ``kid`` and ``alg``."""

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


@dataclass(frozen=True)
class Drip:
    """An answer sent ``chunk`` by ``chunk``, ``delay`` seconds apart, with no
    ``Content-Length`` (the body ends when the connection closes)."""

    chunks: list[bytes]
    delay: float


@dataclass
class Loopback:
    """A loopback HTTP server answering ``routes[path]`` (status, headers, body, or a
    callable giving them), 404 otherwise; ``seen`` lists the requests, ``connections``
    counts the TCP connections accepted. Use as a context manager."""

    routes: dict[str, tuple[int, dict[str, str], bytes] | Responder | Drip] = field(
        default_factory=dict
    )
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.seen.append(Seen("GET", self.path, dict(self.headers.items())))
                found = owner.routes.get(self.path.split("?")[0]) or owner.routes.get(self.path)
                if isinstance(found, Drip):
                    self._drip(found)
                    return
                headers: dict[str, str]
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

            def _drip(self, drip: Drip) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/fhir+json")
                self.end_headers()
                try:
                    for chunk in drip.chunks:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        time.sleep(drip.delay)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

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
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> Loopback:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def json_answer(document: Any, status: int = 200) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/fhir+json"}, json.dumps(document).encode()
