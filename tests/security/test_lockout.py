"""Attack: locking staff out with wrong passwords (issue 9, finding 8), on SQLite and on
PostgreSQL.

The attack as found: five wrong passwords lock any known account for the login window,
and twenty from one address lock every account behind that address, so anyone who knows
(or guesses) a staff email can keep that person out, and anyone behind the clinic's
address can keep everyone out. The limit stays; a browser that logged in as that user
before carries a signed device cookie, and the right password from it gets through. A
wrong password from it still counts, the cookie is bound to its users, and a forged or
foreign cookie is worth nothing. Lockouts are audited.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from needlewise.persistence.models import AuditEntry
from needlewise.security.roles import Role
from support.http import ApiClient
from support.service import PASSWORD, Service

FRONT = "front-desk@clinic.example"
CLINICIAN = "clinician@clinic.example"
DEVICE = "nw_device"


@pytest.fixture
def attacker(service: Service) -> Iterator[ApiClient]:
    """A client with no cookies, from the same address as the staff (the clinic's NAT)."""
    client = ApiClient(service.app)
    yield client
    client.close()


@pytest.fixture
def known(service: Service) -> Iterator[ApiClient]:
    """The front desk's own browser: it logged in once (and out again)."""
    client = ApiClient(service.app)
    try:
        first = client.post("/api/auth/login", json={"email": FRONT, "password": PASSWORD})
        assert first.status_code == 200, first.text
        assert client.cookies.get(DEVICE), "a successful login sets the device cookie"
        csrf = first.json()["csrf_token"]
        assert client.post("/api/auth/logout", headers={"x-csrf-token": csrf}).status_code == 200
        yield client
    finally:
        client.close()


def attempt(client: ApiClient, email: str, password: str) -> int:
    return client.post("/api/auth/login", json={"email": email, "password": password}).status_code


def lock(service: Service, attacker: ApiClient, email: str = FRONT) -> None:
    limit = service.runtime.settings.login_attempts
    statuses = [attempt(attacker, email, "not the password at all") for _ in range(limit)]
    assert statuses == [401] * limit
    assert attempt(attacker, email, PASSWORD) == 429  # the limit itself is kept


def test_the_right_password_from_a_known_device_gets_through_a_lockout(
    service: Service, attacker: ApiClient, known: ApiClient
) -> None:
    lock(service, attacker)
    assert attempt(known, FRONT, PASSWORD) == 200
    assert known.get("/api/auth/me").status_code == 200


def test_a_known_device_gets_through_when_its_address_is_locked(
    service: Service, attacker: ApiClient, known: ApiClient
) -> None:
    per_address = 4 * service.runtime.settings.login_attempts
    for i in range(per_address):
        assert attempt(attacker, f"guess{i}@clinic.example", "not the password at all") == 401
    assert attempt(attacker, CLINICIAN, PASSWORD) == 429  # everyone else behind it is out
    assert attempt(known, FRONT, PASSWORD) == 200


def test_a_wrong_password_from_a_known_device_still_counts(
    service: Service, attacker: ApiClient, known: ApiClient
) -> None:
    limit = service.runtime.settings.login_attempts
    assert [attempt(known, FRONT, "not the password at all") for _ in range(limit)] == [401] * limit
    assert attempt(known, FRONT, PASSWORD) == 429  # the device is out of tries
    assert attempt(attacker, FRONT, PASSWORD) == 429  # and they counted for the account


def test_a_device_cookie_is_bound_to_its_user(
    service: Service, attacker: ApiClient, known: ApiClient
) -> None:
    lock(service, attacker, CLINICIAN)
    assert attempt(known, CLINICIAN, PASSWORD) == 429  # the front desk's browser


def test_a_stolen_cookie_copied_elsewhere_gives_only_the_limits_own_tries(
    service: Service, attacker: ApiClient, known: ApiClient
) -> None:
    """A copied device cookie lets the attacker guess, but only the limit's number of
    times for the device: then it is out like everyone else."""
    lock(service, attacker)
    stolen = known.cookies.get(DEVICE)
    assert stolen
    attacker.cookies.set(DEVICE, stolen, domain="test.local", path="/api/auth")
    limit = service.runtime.settings.login_attempts
    assert [attempt(attacker, FRONT, "guess number one!") for _ in range(limit)] == [401] * limit
    assert attempt(attacker, FRONT, PASSWORD) == 429


@pytest.mark.parametrize(
    "cookie",
    ["", "garbage", "eyJkIjoiYSIsInUiOlsxLDIsM119.aaaa.bbbb", "W10.Zz9kHw.forged-signature"],
)
def test_a_forged_device_cookie_is_worth_nothing(
    service: Service, attacker: ApiClient, cookie: str
) -> None:
    lock(service, attacker)
    forged = ApiClient(service.app)
    try:
        forged.cookies.set(DEVICE, cookie, domain="test.local", path="/api/auth")
        assert attempt(forged, FRONT, PASSWORD) == 429
    finally:
        forged.close()


def test_a_tampered_device_cookie_is_worth_nothing(
    service: Service, attacker: ApiClient, known: ApiClient
) -> None:
    lock(service, attacker)
    real = known.cookies.get(DEVICE)
    assert real
    payload, _, rest = real.partition(".")
    tampered = ApiClient(service.app)
    try:
        changed = ("A" if payload[0] != "A" else "B") + payload[1:]
        tampered.cookies.set(DEVICE, f"{changed}.{rest}", domain="test.local", path="/api/auth")
        assert attempt(tampered, FRONT, PASSWORD) == 429
    finally:
        tampered.close()


def test_the_device_cookie_is_signed_http_only_and_secure(service: Service) -> None:
    client = ApiClient(service.app)
    try:
        response = client.post("/api/auth/login", json={"email": FRONT, "password": PASSWORD})
        assert response.status_code == 200
        (header,) = [
            h for h in response.headers.get_list("set-cookie") if h.startswith(f"{DEVICE}=")
        ]
        flags = {part.strip().split("=")[0].lower() for part in header.split(";")}
        assert {"httponly", "secure", "max-age"} <= flags, header
        value = header.split(";")[0].split("=", 1)[1]
        assert value.count(".") == 2  # payload, timestamp, signature
    finally:
        client.close()


def test_a_failed_login_sets_no_device_cookie(service: Service, attacker: ApiClient) -> None:
    assert attempt(attacker, FRONT, "not the password at all") == 401
    assert attacker.cookies.get(DEVICE) is None


def test_lockouts_and_refused_logins_are_audited(service: Service, attacker: ApiClient) -> None:
    lock(service, attacker)
    with service.runtime.db.read() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    logins = [(r.action, r.outcome) for r in rows if r.action in ("login", "lockout")]
    limit = service.runtime.settings.login_attempts
    # each wrong password (denied), the lockout it caused, and the attempt while locked
    # (refused: a rate limit, like every 429)
    assert logins.count(("login", "denied")) == limit
    assert logins.count(("login", "refused")) == 1
    assert logins.count(("lockout", "denied")) == 1
    lockout = next(r for r in rows if r.action == "lockout")
    assert lockout.actor == f"user:{service.users[Role.front_desk].id}"
    assert lockout.remote == "203.0.113.7"
    assert all("@" not in f"{r.actor}{r.resource_id}" for r in rows)


def test_an_address_lockout_is_audited(service: Service, attacker: ApiClient) -> None:
    per_address = 4 * service.runtime.settings.login_attempts
    for i in range(per_address):
        assert attempt(attacker, f"guess{i}@clinic.example", "not the password at all") == 401
    with service.runtime.db.read() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "lockout")).all()
    assert [(r.resource_type, r.resource_id, r.outcome) for r in rows] == [
        ("address", "203.0.113.7", "denied")
    ]
