"""The registry of CDS clients (EHRs) allowed to call our CDS Hooks services.

Read once, at start-up, from the JSON file ``NEEDLEWISE_CDS_CLIENTS_FILE``
(:attr:`needlewise.config.Settings.cds_clients_file`)::

    {
      "clients": [
        {
          "issuer": "https://ehr.example.org",
          "name": "Example EHR",
          "clinic": 1,
          "jwks_url": "https://ehr.example.org/.well-known/jwks.json",
          "jku": ["https://ehr.example.org/keys/rotating.json"],
          "fhir_servers": ["https://ehr.example.org/fhir/r4"]
        }
      ]
    }

Per client:

* ``issuer`` (required): the JWT ``iss`` it signs with; unique in the file.
* ``name`` (required): a short name for people (at most 100 printable characters,
  unique), used in the server's log. The audit log names the client by its issuer
  (``cds:<issuer>``).
* ``clinic`` (optional): the id of the clinic its cards and feedback are stored under.
  **Default: the only clinic of the database**, looked up at the client's first call; a
  call is then refused (503) while the database holds no clinic or several — name the
  clinic when it holds several.
* its keys, exactly one of ``jwks_url`` (an ``https`` URL of its JSON Web Key Set,
  fetched when first needed and again when a token names a key it does not hold) or
  ``jwks`` (the key set itself: ``{"keys": [...]}``, public EC or RSA keys, each with a
  ``kid``).
* ``jku`` (optional): the key-set URLs a token's ``jku`` header may name. A ``jku`` that
  is not in this list is refused and never fetched.
* ``fhir_servers`` (optional): the FHIR base URLs we may fetch missing prefetch data
  from (:mod:`needlewise.services.fhir_fetch`). Empty: we never fetch.

URLs must be ``https``; ``http`` is accepted only for a loopback host (``localhost``,
``127.0.0.1``, ``::1``: tests and a proxy on the same host). They carry no user name or
password, query or fragment.

A file that cannot be used stops start-up with one line naming the file and the JSON
path of the problem (:class:`~needlewise.errors.InputError`), never a traceback.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from jwt import PyJWK
from sqlalchemy import select

from needlewise.errors import InputError, ServiceError
from needlewise.persistence.models import Clinic
from needlewise.security.cds_jwt import TrustedIssuer
from needlewise.security.jwks import parse_jwks
from needlewise.services.runtime import Runtime

_CLIENT_FIELDS = frozenset({"issuer", "name", "clinic", "jwks_url", "jwks", "jku", "fhir_servers"})
_LOOPBACK_NAMES = frozenset({"localhost"})
MAX_NAME = 100


@dataclass(frozen=True, slots=True)
class CdsClient:
    """One registered CDS client (an EHR)."""

    issuer: str
    name: str
    clinic_id: int | None
    """``None``: the only clinic of the database."""
    jwks_url: str | None
    keys: dict[str, PyJWK] | None = field(default=None, compare=False, repr=False)
    """The inline key set, parsed (``None`` when the keys come from ``jwks_url``)."""
    jku: frozenset[str] = frozenset()
    fhir_servers: tuple[str, ...] = ()
    """Normalised base URLs (:func:`normalise_base_url`)."""

    def trusted(self) -> TrustedIssuer:
        """What the JWT verifier needs to know of this client."""
        return TrustedIssuer(self.issuer, self.keys, self.jwks_url, self.jku)


@dataclass(frozen=True, slots=True)
class CdsClients:
    """The registered clients, by issuer."""

    by_issuer: dict[str, CdsClient]
    source: Path | None = None

    def get(self, issuer: str) -> CdsClient | None:
        return self.by_issuer.get(issuer)

    def __len__(self) -> int:
        return len(self.by_issuer)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def normalise_base_url(url: str) -> str:
    """``url`` as the allow-lists compare it: lower-case scheme and host, the port only
    when not the scheme's default, the path without a trailing ``/``. Raises
    ``ValueError`` (with the reason) for anything but a plain http(s) URL without user
    name, password, query or fragment."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError("is not a URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError("must be an https URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError("must not carry a user name or password")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ValueError("must not carry a query or fragment")
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError("has no host")
    if "\\" in url or any(ord(c) <= 32 for c in url):
        raise ValueError("holds a backslash, a space or a control character")
    default = 443 if scheme == "https" else 80
    shown_host = f"[{host}]" if ":" in host else host
    netloc = shown_host if port in (None, default) else f"{shown_host}:{port}"
    path = parts.path.rstrip("/")
    if any(segment in (".", "..") for segment in path.split("/")):
        raise ValueError("must not contain . or .. path segments")
    return f"{scheme}://{netloc}{path}"


def checked_url(value: object, where: str) -> str:
    """A URL of the clients file, normalised; https unless its host is loopback."""
    if not isinstance(value, str) or not value:
        raise InputError("must be a URL (a non-empty string)", where)
    try:
        url = normalise_base_url(value)
    except ValueError as exc:
        raise InputError(str(exc), where) from None
    if url.startswith("http://") and not is_loopback(urlsplit(url).hostname or ""):
        raise InputError("must be an https URL (http only for a loopback host)", where)
    return url


def _url_list(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError("must be a list of URLs", where)
    return [checked_url(item, f"{where}[{index}]") for index, item in enumerate(value)]


def _client(raw: object, where: str) -> CdsClient:
    if not isinstance(raw, dict):
        raise InputError("must be an object", where)
    unknown = sorted(set(raw) - _CLIENT_FIELDS)
    if unknown:
        raise InputError(
            f"unknown field {unknown[0]!r} (known: {', '.join(sorted(_CLIENT_FIELDS))})",
            f"{where}.{unknown[0]}",
        )
    issuer = raw.get("issuer")
    if not isinstance(issuer, str) or not issuer.strip() or len(issuer) > 255:
        raise InputError("must be the client's JWT iss (1 to 255 characters)", f"{where}.issuer")
    name = raw.get("name")
    if (
        not isinstance(name, str)
        or not name.strip()
        or len(name) > MAX_NAME
        or not name.isprintable()
    ):
        raise InputError(
            f"must be a short name (1 to {MAX_NAME} printable characters)", f"{where}.name"
        )
    clinic = raw.get("clinic")
    if clinic is not None and (isinstance(clinic, bool) or not isinstance(clinic, int)):
        raise InputError("must be a clinic id (a whole number)", f"{where}.clinic")
    if isinstance(clinic, int) and clinic < 1:
        raise InputError("must be a clinic id (1 or more)", f"{where}.clinic")
    has_url, has_set = raw.get("jwks_url") is not None, raw.get("jwks") is not None
    if has_url == has_set:
        raise InputError("give the client's keys as exactly one of jwks_url or jwks", where)
    jwks_url = checked_url(raw["jwks_url"], f"{where}.jwks_url") if has_url else None
    keys = parse_jwks(raw["jwks"], f"{where}.jwks") if has_set else None
    return CdsClient(
        issuer=issuer,
        name=name,
        clinic_id=clinic,
        jwks_url=jwks_url,
        keys=keys,
        jku=frozenset(_url_list(raw.get("jku"), f"{where}.jku")),
        fhir_servers=tuple(_url_list(raw.get("fhir_servers"), f"{where}.fhir_servers")),
    )


def parse_clients(document: object) -> CdsClients:
    """The registry in ``document`` (the parsed file). Raises :class:`InputError` naming
    the JSON path of the first problem."""
    if not isinstance(document, dict) or not isinstance(document.get("clients"), list):
        raise InputError('must be an object {"clients": [...]}', "$")
    extra = sorted(set(document) - {"clients"})
    if extra:
        raise InputError(f"unknown field {extra[0]!r}", f"$.{extra[0]}")
    by_issuer: dict[str, CdsClient] = {}
    names: set[str] = set()
    for index, raw in enumerate(document["clients"]):
        client = _client(raw, f"$.clients[{index}]")
        if client.issuer in by_issuer:
            raise InputError("this issuer is registered twice", f"$.clients[{index}].issuer")
        if client.name in names:
            raise InputError("this name is used twice", f"$.clients[{index}].name")
        by_issuer[client.issuer] = client
        names.add(client.name)
    return CdsClients(by_issuer)


def load_clients(path: Path | None) -> CdsClients:
    """The registry in the file at ``path`` (none: no client, every signed call is
    refused). Raises :class:`InputError` whose ``where`` names the file and JSON path."""
    if path is None:
        return CdsClients({})
    from needlewise.services.documents import parse_json

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read the CDS clients file ({exc.strerror})",
            f"{path} (NEEDLEWISE_CDS_CLIENTS_FILE)",
        ) from None
    try:
        found = parse_clients(parse_json(data))
    except InputError as exc:
        raise InputError(f"CDS clients file: {exc.problem}", f"{path}: {exc.where}") from None
    return CdsClients(found.by_issuer, source=path)


class NotConfigured(ServiceError):
    """The CDS service cannot tell which clinic a call belongs to (503)."""

    status, code = 503, "not-configured"


class ClinicResolver:
    """The clinic of each client: its ``clinic`` if named (checked once to exist), else
    the only clinic of the database. Found once, then remembered (no database read per
    call). Thread-safe enough: a race resolves the same answer twice."""

    def __init__(self) -> None:
        self._found: dict[int | None, int] = {}

    def known(self, wanted: int | None) -> int | None:
        """The clinic id already resolved for ``wanted`` (no I/O), or ``None``."""
        return self._found.get(wanted)

    def resolve(self, runtime: Runtime, wanted: int | None) -> int:
        """The clinic id for ``wanted`` (blocking: one read the first time). Raises
        :class:`NotConfigured` when the database holds no such clinic, or (``wanted``
        is ``None``) no clinic or several."""
        found = self._found.get(wanted)
        if found is not None:
            return found
        with runtime.db.read() as tx:
            if wanted is not None:
                ids = list(tx.scalars(select(Clinic.id).where(Clinic.id == wanted)))
                if not ids:
                    raise NotConfigured(
                        f"the CDS client's clinic {wanted} does not exist in this database"
                    )
            else:
                ids = list(tx.scalars(select(Clinic.id).order_by(Clinic.id).limit(2)))
                if len(ids) != 1:
                    raise NotConfigured(
                        "the CDS client names no clinic and the database holds "
                        + ("none" if not ids else "several")
                        + ": name it in the CDS clients file"
                    )
        self._found[wanted] = ids[0]
        return ids[0]
