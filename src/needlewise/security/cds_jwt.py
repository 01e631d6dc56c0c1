"""Verify the bearer JWT of a CDS Hooks call (CDS Hooks 2.0, "Trusting CDS Clients").

:meth:`CdsJwtVerifier.verify` accepts a token only when all of these hold, checked in
this order (each failure is a :class:`JwtRefused` with one :data:`REASONS` code):

1. it is three base64url parts with a JSON header and payload (``malformed``);
2. the header's ``alg`` is asymmetric — ES256/384/512, RS256/384/512, PS256/384/512 —
   looked at before any key is touched: never ``none``, never HS* (a public key used as
   an HMAC secret) (``algorithm-not-allowed``); the header names a ``kid`` (``malformed``);
3. ``iss`` is a registered client (``unknown-issuer``);
4. a ``jku`` header, if any, is on that client's allow-list, exactly: one that is not is
   refused and never fetched (``jku-not-allowed``);
5. the key ``kid`` is in the client's inline key set, or in the set fetched from its
   ``jwks_url`` (or the allowed ``jku``); a ``kid`` not held makes one fetch of a fresh
   set, at most once a minute per URL (``unknown-key``); the key's type and curve fit
   ``alg`` (``algorithm-not-allowed``);
6. the signature verifies (``bad-signature``);
7. ``exp``, ``iat``, ``jti`` (a string of 1 to 255 characters), ``iss`` and ``aud`` are
   present (``missing-claim``); ``exp`` is not past and ``iat`` not in the future, with
   :attr:`CdsJwtVerifier.leeway` seconds of clock skew (``expired``, ``not-yet-valid``);
8. ``aud`` is one string equal to the exact URL being called (``wrong-audience``).

The replay of a ``jti`` (``replayed``) is refused later, by the use case that records
it in the same transaction as what the call writes.

Messages name the check that failed, never a claim's value (a token can carry a
patient's or user's identifiers).

**How, and why by hand.** The token is split and its header and payload decoded here
(strict base64url, strict JSON), the signature is checked by PyJWT's own algorithm
objects (``jwt.algorithms``: the DER conversion of ECDSA signatures, RSA-PSS padding)
with the key parsed once at start-up, and the claims are checked here. PyJWT's
``jwt.decode`` does the same work with ~150 µs more per call (option merging, a
second parse), which the hot order-select path cannot spare; the signature itself
costs ~0.8 ms for ES384 (P-384) and ~0.05 ms for RS384 on the project's machines.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from jwt import PyJWK
from jwt.algorithms import Algorithm, get_default_algorithms

from needlewise.security.jwks import JwksCache

#: JWT algorithms a CDS client may sign with (the spec forbids ``none`` and HMAC)
ALGORITHMS = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
#: the refusal codes (also the audit log's ``reason``), and what each means
REASONS: dict[str, str] = {
    "malformed": "the Authorization header is not 'Bearer <JWT>', or the JWT cannot be read",
    "algorithm-not-allowed": "alg is none, HMAC (HS*), unknown, or does not fit the key",
    "unknown-issuer": "iss is not a registered CDS client",
    "jku-not-allowed": "the jku header names a URL not on the client's jku allow-list",
    "unknown-key": "no key with this kid in the client's key set, even freshly fetched",
    "bad-signature": "the signature does not verify with the client's key",
    "missing-claim": "one of exp, iat, jti, iss, aud is missing or of the wrong type",
    "expired": "exp is past",
    "not-yet-valid": "iat is in the future",
    "wrong-audience": "aud is not exactly the URL of the service being called",
    "replayed": "this jti was already used by this client",
}
MAX_TOKEN_CHARS = 16_000
MAX_JTI = 255


class JwtRefused(Exception):
    """A refused token: ``reason`` (a :data:`REASONS` code) and a message without data."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    """What the verifier knows of one registered client."""

    issuer: str
    keys: dict[str, PyJWK] | None = field(default=None, repr=False)
    """The inline key set by ``kid`` (``None``: fetch from :attr:`jwks_url`)."""
    jwks_url: str | None = None
    jku: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token that passed every check."""

    issuer: str
    jti: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class KeyNeeded:
    """The key a token names, not held yet: fetch ``url`` (blocking) and verify again."""

    url: str
    kid: str


#: the ES algorithm of each EC curve (an EC key signs with its curve's algorithm only)
_CURVES = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


def _fits(alg: str, key: PyJWK) -> bool:
    """True when ``alg`` may be used with ``key``: an EC key with its curve's ES
    algorithm, an RSA key with RS* or PS*."""
    if key.key_type == "EC":
        curve = getattr(getattr(key.key, "curve", None), "name", None)
        return _CURVES.get(str(curve)) == alg
    if key.key_type == "RSA":
        return alg[:2] in ("RS", "PS")
    return False


class CdsJwtVerifier:
    """Verifies CDS Hooks bearer JWTs against the registered issuers."""

    def __init__(
        self,
        issuers: Mapping[str, TrustedIssuer],
        *,
        cache: JwksCache | None = None,
        leeway: float = 30.0,
    ) -> None:
        self.issuers = dict(issuers)
        self.cache = cache or JwksCache()
        self.leeway = leeway

    def check(self, token: str, audience: str) -> VerifiedToken | KeyNeeded:
        """Verify ``token`` for a call to ``audience`` using the keys held now: a
        :class:`VerifiedToken`, or :class:`KeyNeeded` when the key must be fetched first
        (then call :meth:`fetch` in a worker thread and :meth:`check` again). Raises
        :class:`JwtRefused`. No I/O: the hot path."""
        parts = _parts(token)
        alg, kid, jku = _header(parts.header)
        trusted = self._issuer(parts.claims)
        key = self._key(trusted, kid, jku)
        if isinstance(key, KeyNeeded):
            return key
        if not _fits(alg, key):
            raise JwtRefused("algorithm-not-allowed", "the JWT's alg does not fit the key")
        if not _ALGORITHMS[alg].verify(parts.signing_input, key.key, parts.signature):
            raise JwtRefused("bad-signature", "the JWT's signature does not verify")
        return self._claims(parts.claims, audience, trusted)

    def fetch(self, needed: KeyNeeded) -> None:
        """Fetch the key set ``needed`` names (blocking; rate-limited per URL)."""
        self.cache.fetch_key(needed.url, needed.kid)

    def verify_blocking(self, token: str, audience: str) -> VerifiedToken:
        """:meth:`check`, fetching a key set when needed (blocking)."""
        found = self.check(token, audience)
        if isinstance(found, KeyNeeded):
            self.fetch(found)
            found = self.check(token, audience)
            if isinstance(found, KeyNeeded):
                raise JwtRefused("unknown-key", "no key with this kid in the client's key set")
        return found

    # -- the steps

    def _issuer(self, claims: dict[str, Any]) -> TrustedIssuer:
        iss = claims.get("iss")
        if not isinstance(iss, str):
            raise JwtRefused("missing-claim", "the JWT has no iss")
        trusted = self.issuers.get(iss)
        if trusted is None:
            raise JwtRefused("unknown-issuer", "the JWT's iss is not a registered CDS client")
        return trusted

    def _key(self, trusted: TrustedIssuer, kid: str, jku: str | None) -> PyJWK | KeyNeeded:
        if jku is not None:
            if jku not in trusted.jku:
                raise JwtRefused(
                    "jku-not-allowed", "the JWT's jku is not on this client's jku allow-list"
                )
            url: str | None = jku
        elif trusted.keys is not None:
            key = trusted.keys.get(kid)
            if key is None:
                raise JwtRefused("unknown-key", "no key with this kid in the client's key set")
            return key
        else:
            url = trusted.jwks_url
        assert url is not None
        key = self.cache.cached(url, kid)
        if key is not None:
            return key
        if self.cache.needs_fetch(url, kid):
            return KeyNeeded(url, kid)
        raise JwtRefused("unknown-key", "no key with this kid in the client's key set")

    def _claims(
        self, claims: dict[str, Any], audience: str, trusted: TrustedIssuer
    ) -> VerifiedToken:
        for name in ("exp", "iat", "jti", "aud"):
            if name not in claims:
                raise JwtRefused("missing-claim", f"the JWT has no {name}")
        exp, iat, nbf = claims["exp"], claims["iat"], claims.get("nbf")
        for name, value in (("exp", exp), ("iat", iat), ("nbf", nbf)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise JwtRefused("missing-claim", f"the JWT's {name} is not a number")
        now = time.time()
        if exp <= now - self.leeway:
            raise JwtRefused("expired", "the JWT has expired (exp is past)")
        if iat > now + self.leeway or (nbf is not None and nbf > now + self.leeway):
            raise JwtRefused("not-yet-valid", "the JWT is not valid yet (iat)")
        if claims["aud"] != audience:  # one string, exactly: a list is refused too
            raise JwtRefused("wrong-audience", "the JWT's aud is not the URL of the service called")
        jti = claims["jti"]
        if not isinstance(jti, str) or not 1 <= len(jti) <= MAX_JTI:
            raise JwtRefused(
                "missing-claim", "the JWT's jti must be a string of 1 to 255 characters"
            )
        return VerifiedToken(trusted.issuer, jti, datetime.fromtimestamp(int(exp), UTC))


#: PyJWT's algorithm objects for :data:`ALGORITHMS` (they do the cryptography)
_ALGORITHMS: dict[str, Algorithm] = {
    name: algorithm for name, algorithm in get_default_algorithms().items() if name in ALGORITHMS
}
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class _Parts:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def _b64(segment: str) -> bytes:
    if _BASE64URL.fullmatch(segment) is None or len(segment) % 4 == 1:
        raise JwtRefused("malformed", "the bearer token is not a readable JWT")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise JwtRefused("malformed", "the bearer token is not a readable JWT") from None


def _json_object(segment: str) -> dict[str, Any]:
    try:
        value = orjson.loads(_b64(segment))
    except orjson.JSONDecodeError:
        raise JwtRefused("malformed", "the bearer token is not a readable JWT") from None
    if not isinstance(value, dict):
        raise JwtRefused("malformed", "the bearer token is not a readable JWT")
    return value


def _parts(token: str) -> _Parts:
    """The decoded parts of a compact JWS (``malformed`` unless three base64url parts
    with a JSON object header and payload)."""
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise JwtRefused("malformed", "the bearer token is not a JWT")
    header, payload, signature = token.split(".")
    return _Parts(
        _json_object(header),
        _json_object(payload),
        f"{header}.{payload}".encode("ascii"),
        _b64(signature),
    )


def _header(header: dict[str, Any]) -> tuple[str, str, str | None]:
    """(alg, kid, jku) of a header whose ``alg`` is allowed (checked before anything
    else is looked at: never ``none``, never HS*)."""
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise JwtRefused(
            "algorithm-not-allowed",
            f"the JWT's alg must be one of {', '.join(sorted(ALGORITHMS))}",
        )
    if header.get("crit") is not None:  # no extension we understand: refuse (RFC 7515 4.1.11)
        raise JwtRefused("malformed", "the JWT header has crit extensions")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise JwtRefused("malformed", "the JWT header names no kid")
    jku = header.get("jku")
    if jku is not None and not isinstance(jku, str):
        raise JwtRefused("malformed", "the JWT header's jku is not a URL")
    return alg, kid, jku
