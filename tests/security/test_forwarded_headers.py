"""``needlewise serve`` believes ``X-Forwarded-For`` only from the proxies named in
``NEEDLEWISE_TRUSTED_PROXIES`` (none by default), and names no server software.

The attack (issue 9, finding 6): any client on the host sent a new forged
``X-Forwarded-For`` with each failed login. Each attempt then seemed to come from
another address, so the per-address login limit never engaged, and the forged addresses
went into ``login_attempts`` and the audit log. Run against a real server started the way
operators start it, on both databases.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from needlewise.persistence.db import make_engine
from needlewise.persistence.models import AuditEntry, LoginAttempt
from support.serve import Served

MAX_TRIES = 100  # far above any per-address limit


def recorded_remotes(database_url: str) -> tuple[set[str], set[str | None]]:
    """(addresses in login_attempts, addresses of the login entries in the audit log)."""
    engine = make_engine(database_url, pool=False)
    try:
        with engine.connect() as connection:
            attempts = set(connection.scalars(select(LoginAttempt.remote)))
            audited = set(
                connection.scalars(select(AuditEntry.remote).where(AuditEntry.action == "login"))
            )
    finally:
        engine.dispose()
    return attempts, audited


def failed_login(client: httpx.Client, number: int, forged: str) -> int:
    return client.post(
        "/api/auth/login",
        json={"email": f"nobody{number}@clinic.example", "password": "not the password"},
        headers={"x-forwarded-for": forged},
    ).status_code


def test_a_forged_forwarded_for_is_not_believed(database_url: str, valuesets_dir: Path) -> None:
    served = Served(database_url, valuesets_dir)
    try:
        with httpx.Client(base_url=served.base, timeout=30) as client:
            statuses = []
            for number in range(MAX_TRIES):
                statuses.append(failed_login(client, number, f"198.51.100.{number + 1}"))
                if statuses[-1] == 429:
                    break
    finally:
        served.stop()
    # every attempt used a new email and claimed a new address, yet the limit per
    # address engaged: the address is the one that connected
    assert statuses[-1] == 429, f"no 429 in {len(statuses)} failed logins"
    assert set(statuses[:-1]) == {401}
    attempts, audited = recorded_remotes(database_url)
    assert attempts == {"127.0.0.1"}
    assert audited == {"127.0.0.1"}


def test_forwarded_for_is_believed_from_a_named_proxy(
    database_url: str, valuesets_dir: Path
) -> None:
    """Behind a proxy on this host (NEEDLEWISE_TRUSTED_PROXIES=127.0.0.1) the address the
    proxy names is the client's."""
    served = Served(database_url, valuesets_dir, NEEDLEWISE_TRUSTED_PROXIES="127.0.0.1")
    try:
        with httpx.Client(base_url=served.base, timeout=30) as client:
            assert failed_login(client, 1, "198.51.100.7") == 401
    finally:
        served.stop()
    assert recorded_remotes(database_url) == ({"198.51.100.7"}, {"198.51.100.7"})


def test_the_server_names_no_software(tmp_path: Path, valuesets_dir: Path) -> None:
    served = Served(f"sqlite:///{tmp_path / 'needlewise.sqlite'}", valuesets_dir)
    try:
        responses = [
            httpx.get(f"{served.base}{path}", timeout=30)
            for path in ("/healthz", "/nope", "/docs", "/api/patients")
        ]
    finally:
        served.stop()
    for response in responses:
        assert "server" not in response.headers, (response.url, response.headers["server"])
        assert "uvicorn" not in str(response.headers).lower()
