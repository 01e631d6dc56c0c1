"""Helpers for the audit-log tests: entries written since a mark, and
``needlewise audit verify`` run as an operator would."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from needlewise.cli import main
from needlewise.config import Settings
from needlewise.persistence.models import AuditEntry
from needlewise.security.roles import Role
from support.service import Service
from support.treatment import make_patient

EVERY_FIELD = (
    "actor",
    "action",
    "resource_type",
    "resource_id",
    "patient_id",
    "remote",
    "outcome",
    "reason",
    "clinic_id",
)


def ref(service: Service, role: Role) -> str:
    return f"user:{service.users[role].id}"


def last_id(service: Service) -> int:
    with service.runtime.db.read() as session:
        return session.scalar(select(func.max(AuditEntry.id))) or 0


def entries_after(service: Service, after: int) -> list[dict[str, Any]]:
    """Every audit entry written after id ``after``, as plain dicts, oldest first."""
    table = AuditEntry.__table__
    with service.runtime.db.read() as session:
        rows = session.execute(select(table).where(table.c.id > after).order_by(table.c.id))
        return [dict(row._mapping) for row in rows]


def the_one_entry(service: Service, after: int) -> dict[str, Any]:
    rows = entries_after(service, after)
    assert len(rows) == 1, rows
    return rows[0]


def holds_nothing_of(entry: dict[str, Any], *secrets: str) -> None:
    """No field of ``entry`` holds any of ``secrets`` (names, tokens, emails)."""
    for name in EVERY_FIELD:
        value = "" if entry.get(name) is None else str(entry[name])
        for secret in secrets:
            assert secret not in value, (name, value)
    assert "@" not in str(entry["actor"]) + str(entry["resource_id"])


def cli(url: str, *args: str) -> Result:
    """``needlewise audit ARGS`` on ``url``, in-process (settings given as click's ``obj``)."""
    settings = Settings(database_url=url)
    return CliRunner().invoke(main, ["audit", *args], obj=settings, catch_exceptions=False)


def verify(url: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli(url, "verify", "--json", *args)
    assert "Traceback" not in result.output
    try:
        report = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"`audit verify --json` printed no JSON (exit {result.exit_code}): {result}")
    return result.exit_code, report


def url_of(service: Service) -> str:
    return service.runtime.settings.database_url


def busy_log(service: Service) -> int:
    """A patient with a few audited reads and writes; returns the patient id."""
    patient = make_patient(service, "Tamsin")
    for _ in range(3):
        got = service.client.get(f"/api/patients/{patient}", headers=service.headers(Role.admin))
        assert got.status_code == 200
    return patient
