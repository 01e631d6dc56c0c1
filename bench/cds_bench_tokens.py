"""Signed CDS Hooks JWTs for the benchmark: one key, one registered client, many tokens.

:class:`BenchSigner` holds a fresh key pair (made for one run, never stored): ES384 by
default, or RS384 (RSA 2048), the two algorithms the CDS Hooks spec recommends. It
writes the CDS clients file that registers the key (``NEEDLEWISE_CDS_CLIENTS_FILE``: one
client with the public key inline as a JWKS), and :meth:`BenchSigner.write_tokens`
pre-signs tokens for one service URL before a timed run — each with its own ``jti``,
``iat`` now and ``exp`` five minutes on — one per line of the file the wrk script reads,
signed on every core (ES384 about 3,000 a second per core, RS384 about 1,200).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://ehr.bench.example"
CLIENT_NAME = "bench-ehr"
LIFETIME_SECONDS = 300
ALGORITHMS = ("ES384", "RS384")


def _claims(audience: str) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "sub": CLIENT_NAME,
        "aud": audience,
        "iat": now,
        "exp": now + LIFETIME_SECONDS,
        "jti": uuid.uuid4().hex,
    }


def _sign_many(pem: bytes, algorithm: str, audience: str, count: int) -> list[str]:
    """``count`` tokens (runs in a worker process: the key travels as PEM)."""
    key = serialization.load_pem_private_key(pem, password=None)
    headers = {"kid": f"bench-{algorithm.lower()}", "typ": "JWT"}
    return [
        jwt.encode(_claims(audience), key, algorithm=algorithm, headers=headers)  # type: ignore[arg-type]
        for _ in range(count)
    ]


class BenchSigner:
    """An EHR's signing key for one benchmark run."""

    def __init__(self, algorithm: str = "ES384") -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}")
        self.algorithm = algorithm
        self.key_id = f"bench-{algorithm.lower()}"
        self.key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
            ec.generate_private_key(ec.SECP384R1())
            if algorithm == "ES384"
            else rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )

    def jwks(self) -> dict[str, Any]:
        """The public key as a JSON Web Key Set."""
        public = self.key.public_key()
        jwk = (
            ECAlgorithm.to_jwk(public, as_dict=True)
            if isinstance(public, ec.EllipticCurvePublicKey)
            else RSAAlgorithm.to_jwk(public, as_dict=True)
        )
        return {"keys": [jwk | {"kid": self.key_id, "alg": self.algorithm, "use": "sig"}]}

    def write_clients_file(self, path: Path) -> Path:
        """The CDS clients file registering this key's issuer (the database's one clinic)."""
        client = {"issuer": ISSUER, "name": CLIENT_NAME, "jwks": self.jwks()}
        path.write_text(json.dumps({"clients": [client]}, indent=2))
        return path

    def token(self, audience: str) -> str:
        """One signed token for ``audience`` (the exact service URL) with a new ``jti``."""
        headers = {"kid": self.key_id, "typ": "JWT"}
        return jwt.encode(_claims(audience), self.key, algorithm=self.algorithm, headers=headers)

    def write_tokens(self, path: Path, audience: str, count: int) -> Path:
        """``count`` tokens for ``audience``, one per line, signed on every core."""
        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        workers = os.cpu_count() or 1
        sizes = [count // workers + (1 if n < count % workers else 0) for n in range(workers)]
        with ProcessPoolExecutor(workers) as pool:
            chunks = pool.map(
                _sign_many, *zip(*((pem, self.algorithm, audience, n) for n in sizes), strict=True)
            )
            with path.open("w") as out:
                for chunk in chunks:
                    out.writelines(token + "\n" for token in chunk)
        return path
