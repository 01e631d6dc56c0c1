"""JSON Web Key Sets of CDS clients: checked, parsed once, fetched with care.

* :func:`check_jwks` — the shape a key set must have (public EC or RSA keys with a
  unique ``kid``; no secret ``oct`` keys, no private parts).
* :func:`parse_jwks` — a checked set as ``{kid: PyJWK}``: each key is parsed once, not
  per request.
* :class:`JwksCache` — key sets fetched from URLs (a client's ``jwks_url``, an allowed
  ``jku``): fetched when first needed, and again when a token names a ``kid`` the set
  does not hold — at most once per :attr:`JwksCache.min_refresh_seconds` per URL, so a
  stream of tokens with made-up ``kid`` s cannot make us hammer the EHR. Fetches follow
  no redirect, ignore proxy environment variables, time out and stop reading past a
  size cap. The caller only ever passes URLs from the clients file.

Fetching is synchronous (``httpx.Client``) behind a per-URL thread lock, so concurrent
first calls wait for one fetch instead of each starting their own; the door runs it in
a worker thread.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import httpx
import orjson
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from needlewise.errors import InputError

log = logging.getLogger("needlewise.cds")

#: key types a CDS client may sign with (asymmetric only: no ``oct`` secret keys)
KEY_TYPES = frozenset({"EC", "RSA"})
#: a key set larger than this is not a key set
MAX_JWKS_BYTES = 256_000


def check_jwks(value: object, where: str) -> dict[str, Any]:
    """``value`` if it is a JSON Web Key Set of public EC or RSA keys, each with a unique
    ``kid``; else :class:`InputError` naming ``where`` (a JSON path)."""
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
        raise InputError('must be a JSON Web Key Set: {"keys": [...]}', where)
    kids: set[str] = set()
    for index, key in enumerate(value["keys"]):
        at = f"{where}.keys[{index}]"
        if not isinstance(key, dict):
            raise InputError("must be a JSON Web Key (an object)", at)
        if key.get("kty") not in KEY_TYPES:
            raise InputError("kty must be EC or RSA (no symmetric keys)", f"{at}.kty")
        kid = key.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InputError("every key needs a kid", f"{at}.kid")
        if kid in kids:
            raise InputError(f"kid {kid!r} appears twice", f"{at}.kid")
        if "d" in key or "p" in key:
            raise InputError("holds a private key: give the public key only", at)
        kids.add(kid)
        try:
            PyJWK(key)
        except (PyJWTError, ValueError, TypeError) as exc:
            raise InputError(f"is not a usable public key ({type(exc).__name__})", at) from None
    return value


def parse_jwks(value: object, where: str) -> dict[str, PyJWK]:
    """A checked key set (:func:`check_jwks`) as ``{kid: PyJWK}``."""
    checked = check_jwks(value, where)
    return {key["kid"]: PyJWK(key) for key in checked["keys"]}


class JwksUnavailable(Exception):
    """A key set could not be fetched or is not a key set (the reason, without data)."""


class JwksCache:
    """Key sets fetched from URLs, by URL (see the module docstring)."""

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        min_refresh_seconds: float = 60.0,
        max_bytes: int = MAX_JWKS_BYTES,
    ) -> None:
        self.timeout = timeout
        self.min_refresh_seconds = min_refresh_seconds
        self.max_bytes = max_bytes
        self._sets: dict[str, dict[str, PyJWK]] = {}
        self._fetched_at: dict[str, float] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def cached(self, url: str, kid: str) -> PyJWK | None:
        """The key ``kid`` of the set at ``url`` if already held (no I/O: the hot path)."""
        keys = self._sets.get(url)
        return keys.get(kid) if keys is not None else None

    def needs_fetch(self, url: str, kid: str) -> bool:
        """True when ``kid`` is not held and the set at ``url`` may be fetched now."""
        if self.cached(url, kid) is not None:
            return False
        last = self._fetched_at.get(url)
        return last is None or time.monotonic() - last >= self.min_refresh_seconds

    def fetch_key(self, url: str, kid: str) -> PyJWK | None:
        """The key ``kid`` of the set at ``url``, fetching the set (once, rate-limited)
        when it is not held. ``None`` when the set, even fresh, has no such key or cannot
        be had. Blocking: call it from a worker thread."""
        with self._guard:
            lock = self._locks.setdefault(url, threading.Lock())
        with lock:
            if not self.needs_fetch(url, kid):
                return self.cached(url, kid)
            self._fetched_at[url] = time.monotonic()
            try:
                self._sets[url] = self._fetch(url)
            except JwksUnavailable as exc:
                log.warning("CDS Hooks: the key set at %s could not be fetched: %s", url, exc)
                return self.cached(url, kid)
            return self.cached(url, kid)

    def _fetch(self, url: str) -> dict[str, PyJWK]:
        body = bytearray()
        try:
            with (
                httpx.Client(
                    timeout=self.timeout, follow_redirects=False, trust_env=False
                ) as client,
                client.stream("GET", url, headers={"accept": "application/json"}) as answer,
            ):
                if answer.status_code != 200:
                    raise JwksUnavailable(f"HTTP {answer.status_code}")
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise JwksUnavailable(f"larger than {self.max_bytes} bytes")
        except httpx.HTTPError as exc:
            raise JwksUnavailable(type(exc).__name__) from None
        try:
            return parse_jwks(orjson.loads(bytes(body)), "$")
        except orjson.JSONDecodeError:
            raise JwksUnavailable("not JSON") from None
        except InputError as exc:
            raise JwksUnavailable(str(exc)) from None
