"""Attacks on the audit log (issue 9, finding 3), on SQLite and on PostgreSQL.

* an admin of one clinic reads only their own clinic's audit entries;
* every kind of refusal — a forbidden route, another clinic's record (answered exactly
  like a record that does not exist), a tampered, wrong-purpose, expired, cancelled or
  used-up patient link, a rate-limited login, a missing, unknown or ended credential —
  leaves exactly one entry with outcome ``denied`` or ``refused`` and a short reason,
  holding no patient data the caller did not already have (an id it named itself at
  most; nothing read from an unverified link token);
* reading the audit log is itself audited;
* each entry carries a hash chained to the previous one: ``needlewise audit verify``
  accepts an intact log and names the first broken entry of one changed behind the
  database's back (the append-only trigger disabled on PostgreSQL, dropped from the file
  on SQLite), or with an entry removed; an anchor taken earlier catches a rewritten tail;
* the chain stays whole under concurrent writers (two "processes" each with their own
  connection pool and group commit, check-ins in batches and single audited writes);
* ``TRUNCATE`` of the audit table is refused on PostgreSQL (on SQLite, which has no
  TRUNCATE, a DELETE of every row is refused);
* the migration chains and scopes the entries an existing database already holds.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from conftest import PASSWORD, Service
from needlewise.cli import main
from needlewise.persistence.db import Database, is_sqlite, make_engine, sqlite_path
from needlewise.persistence.migrate import config, upgrade
from needlewise.persistence.models import AuditEntry, PatientLink
from needlewise.persistence.models.base import UtcDateTime
from needlewise.security.roles import Role
from needlewise.services import accounts, audit, check_ins
from needlewise.services.actor import Actor
from needlewise.services.clinic import ClinicIn, create_clinic
from support import postgres
from support.treatment import make_patient, ready_patient, session_body

MIGRATION = "0005"  # the migration that chains and scopes the audit log
CHECK_IN = {"symptoms": [], "hours_since_treatment": 20.0}
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


# ------------------------------------------------------------------ helpers


@dataclass
class Other:
    """A second clinic sharing the database, with one user per role."""

    clinic_id: int
    users: dict[Role, accounts.UserOut]
    tokens: dict[Role, str]

    def headers(self, role: Role) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[role]}"}

    def ref(self, role: Role) -> str:
        return f"user:{self.users[role].id}"


@pytest.fixture
def other(service: Service) -> Other:
    runtime = service.runtime
    clinic_id = create_clinic(runtime, ClinicIn(name="Other Synthetic Clinic", phones=["555-0111"]))
    system = Actor(ref="system", role=Role.admin, clinic_id=clinic_id)
    users: dict[Role, accounts.UserOut] = {}
    tokens: dict[Role, str] = {}
    for role in Role:
        user = accounts.create_user(
            runtime,
            system,
            accounts.UserIn(
                email=f"{role.value}@other.example",
                name=f"Other {role.value}",
                role=role,
                password=PASSWORD,
            ),
        )
        users[role] = user
        actor = Actor(ref=f"user:{user.id}", user_id=user.id, role=role, clinic_id=clinic_id)
        tokens[role], _ = accounts.mint_api_token(runtime, actor, days=1)
    return Other(clinic_id, users, tokens)


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
    return CliRunner().invoke(
        main, ["audit", *args], env={"NEEDLEWISE_DATABASE_URL": url}, catch_exceptions=False
    )


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


def change_behind_the_databases_back(url: str, sql: str, **params: Any) -> None:
    """Run ``sql`` with the append-only trigger out of the way, as an attacker with the
    database owner's rights (PostgreSQL) or write access to the file (SQLite) could."""
    path = sqlite_path(url)
    if path is not None:
        connection = sqlite3.connect(path)
        try:
            connection.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
            connection.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
            connection.execute(sql, params)
            connection.commit()
        finally:
            connection.close()
        return
    engine = make_engine(url, pool=False)
    try:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change"))
            connection.execute(text(sql), params)
            connection.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change"))
    finally:
        engine.dispose()


# ------------------------------------------------------------------ scope


def test_an_admin_reads_only_their_own_clinics_entries(service: Service, other: Other) -> None:
    patient = busy_log(service)
    mine = service.client.get("/api/audit", headers=service.headers(Role.admin))
    assert mine.status_code == 200
    assert any(item["patient_id"] == patient for item in mine.json()["items"])

    theirs = other.headers(Role.admin)
    everything = service.client.get("/api/audit", params={"limit": 100}, headers=theirs)
    assert everything.status_code == 200, everything.text
    actors = {item["actor"] for item in everything.json()["items"]}
    assert not actors & {ref(service, role) for role in Role}, actors
    assert all(item["patient_id"] != patient for item in everything.json()["items"])
    assert everything.json()["total"] == len(everything.json()["items"])

    for params in (
        {"patient_id": patient},
        {"actor": ref(service, Role.front_desk)},
        {"action": "create"},
    ):
        answer = service.client.get("/api/audit", params=params, headers=theirs).json()
        ours = {other.ref(role) for role in Role} | {"system"}
        leaked = [i for i in answer["items"] if i["actor"] not in ours or i["patient_id"]]
        assert leaked == [], (params, leaked)


def test_reading_the_audit_log_is_audited(service: Service) -> None:
    patient = busy_log(service)
    before = last_id(service)
    response = service.client.get(
        "/api/audit", params={"patient_id": patient}, headers=service.headers(Role.admin)
    )
    assert response.status_code == 200
    entry = the_one_entry(service, before)
    assert (entry["actor"], entry["action"], entry["resource_type"]) == (
        ref(service, Role.admin),
        "read",
        "audit-log",
    )
    assert entry["patient_id"] == patient  # the admin named the patient whose trail they read
    assert (entry["outcome"], entry["clinic_id"]) == ("ok", service.clinic_id)


# ------------------------------------------------------------------ refusals


def test_a_forbidden_route_leaves_one_denied_entry(service: Service) -> None:
    patient, provider = ready_patient(service)
    made = service.client.post(
        f"/api/patients/{patient}/sessions",
        json=session_body(provider),
        headers=service.headers(Role.clinician),
    )
    assert made.status_code == 201, made.text
    session_id = made.json()["id"]
    front = service.headers(Role.front_desk)

    before = last_id(service)
    refused = service.client.get(f"/api/sessions/{session_id}", headers=front)
    assert refused.status_code == 403
    entry = the_one_entry(service, before)
    assert entry["actor"] == ref(service, Role.front_desk)
    assert (entry["action"], entry["resource_type"], entry["resource_id"]) == (
        "read",
        "session",
        str(session_id),
    )
    assert (entry["outcome"], entry["reason"]) == ("denied", "forbidden")
    assert entry["patient_id"] is None  # the caller did not name the patient
    assert entry["clinic_id"] == service.clinic_id
    assert entry["remote"] == "203.0.113.7"

    before = last_id(service)
    named = service.client.get("/api/sessions", params={"patient_id": patient}, headers=front)
    assert named.status_code == 403
    entry = the_one_entry(service, before)
    assert (entry["patient_id"], entry["outcome"]) == (patient, "denied")  # named in the URL


def test_another_clinics_record_is_denied_like_a_missing_one(
    service: Service, other: Other
) -> None:
    patient = make_patient(service, "Quentin")
    intruder = other.headers(Role.clinician)

    before = last_id(service)
    response = service.client.get(f"/api/patients/{patient}", headers=intruder)
    assert response.status_code == 404
    assert "Quentin" not in response.text
    entry = the_one_entry(service, before)
    assert entry["actor"] == other.ref(Role.clinician)
    assert entry["clinic_id"] == other.clinic_id  # the intruder's clinic sees the attempt
    assert (entry["action"], entry["resource_type"], entry["resource_id"]) == (
        "read",
        "patient",
        str(patient),
    )
    assert (entry["outcome"], entry["reason"]) == ("denied", "not-found")
    assert entry["patient_id"] == patient  # the id the intruder typed, nothing more
    holds_nothing_of(entry, "Quentin", "Synthetic")

    # the entry for a record that does not exist at all looks the same: the audit log
    # tells the intruder's admin nothing about which ids exist elsewhere
    missing = patient + 1000
    before = last_id(service)
    assert service.client.get(f"/api/patients/{missing}", headers=intruder).status_code == 404
    nothing = the_one_entry(service, before)
    same = ("actor", "action", "resource_type", "outcome", "reason", "clinic_id")
    assert {k: nothing[k] for k in same} == {k: entry[k] for k in same}

    # a write to another clinic's record: refused, one entry, nothing changed
    before = last_id(service)
    written = service.client.post(
        f"/api/patients/{patient}/check-ins", json=CHECK_IN, headers=intruder
    )
    assert written.status_code == 404
    entry = the_one_entry(service, before)
    assert (entry["action"], entry["resource_type"], entry["patient_id"]) == (
        "create",
        "check-in",
        patient,
    )
    assert (entry["outcome"], entry["clinic_id"]) == ("denied", other.clinic_id)


def test_another_clinics_record_under_its_own_id_names_no_patient(
    service: Service, other: Other
) -> None:
    patient = make_patient(service, "Ulrike")
    check_in = service.client.post(
        f"/api/patients/{patient}/check-ins",
        json=CHECK_IN,
        headers=service.headers(Role.front_desk),
    ).json()["id"]
    before = last_id(service)
    response = service.client.get(
        f"/api/check-ins/{check_in}", headers=other.headers(Role.front_desk)
    )
    assert response.status_code == 404
    entry = the_one_entry(service, before)
    assert (entry["resource_type"], entry["resource_id"]) == ("check-in", str(check_in))
    assert entry["patient_id"] is None  # the caller never learnt whose check-in it is
    assert (entry["outcome"], entry["reason"]) == ("denied", "not-found")


def _tampered(token: str) -> str:
    payload, _, signature = token.rpartition(".")
    i = len(payload) + 1 + len(signature) // 2
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]


def _link(service: Service, patient: int, purpose: str) -> dict[str, Any]:
    response = service.client.post(
        f"/api/patients/{patient}/links",
        json={"purpose": purpose},
        headers=service.headers(Role.front_desk),
    )
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def _set_link(service: Service, link_id: int, **values: Any) -> None:
    with service.runtime.db.write() as session:
        link = session.get(PatientLink, link_id)
        assert link is not None
        for name, value in values.items():
            setattr(link, name, value)


def test_a_tampered_link_leaves_an_entry_with_nothing_from_the_token(service: Service) -> None:
    patient = make_patient(service, "Vesna")
    link = _link(service, patient, "check-in")
    bad = _tampered(link["token"])
    before = last_id(service)
    response = service.client.get(f"/api/p/{bad}")
    assert response.status_code == 404
    entry = the_one_entry(service, before)
    assert entry["actor"] == "anonymous"  # nothing in an unverified token is believed
    assert entry["clinic_id"] is None
    assert entry["patient_id"] is None
    assert entry["resource_id"] is None
    assert (entry["outcome"], entry["reason"]) == ("denied", "invalid-link")
    holds_nothing_of(entry, bad, link["token"], "Vesna", f"link:{link['id']}")


@pytest.mark.parametrize(
    ("case", "status", "outcome", "reason"),
    [
        ("wrong-purpose", 404, "denied", "wrong-purpose"),
        ("expired", 410, "refused", "expired-link"),
        ("revoked", 410, "refused", "revoked-link"),
        ("used", 410, "refused", "used-link"),
    ],
)
def test_a_genuine_link_refused_leaves_one_entry_of_its_clinic(
    service: Service, case: str, status: int, outcome: str, reason: str
) -> None:
    patient = make_patient(service, "Wanda")
    purpose = "intake" if case in ("wrong-purpose", "used") else "check-in"
    link = _link(service, patient, purpose)
    url = f"/api/p/{link['token']}"
    if case == "wrong-purpose":
        url += "/check-in-questionnaire"  # an intake link on a check-in route
    if case == "expired":
        _set_link(service, link["id"], expires_at=datetime.now(UTC) - timedelta(minutes=1))
    if case == "revoked":
        _set_link(service, link["id"], revoked_at=datetime.now(UTC))
    if case == "used":
        _set_link(service, link["id"], used_at=datetime.now(UTC))

    before = last_id(service)
    response = service.client.get(url)
    assert response.status_code == status, response.text
    entry = the_one_entry(service, before)
    assert entry["actor"] == f"link:{link['id']}"  # verified by its signature
    assert entry["clinic_id"] == service.clinic_id
    assert (entry["outcome"], entry["reason"]) == (outcome, reason)
    assert entry["patient_id"] is None  # the link holder never sees the patient id
    holds_nothing_of(entry, link["token"], "Wanda")


def test_a_rate_limited_login_leaves_one_refused_entry(service: Service) -> None:
    email = "front-desk@clinic.example"
    for _ in range(service.runtime.settings.login_attempts):
        wrong = service.client.post(
            "/api/auth/login", json={"email": email, "password": "not the password!"}
        )
        assert wrong.status_code == 401
    before = last_id(service)
    blocked = service.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert blocked.status_code == 429
    entry = the_one_entry(service, before)
    assert (entry["action"], entry["outcome"], entry["reason"]) == (
        "login",
        "refused",
        "rate-limited",
    )
    assert entry["actor"] == ref(service, Role.front_desk)  # whose account was targeted
    assert entry["clinic_id"] == service.clinic_id
    holds_nothing_of(entry, email, PASSWORD)

    # an unknown address belongs to no clinic: no clinic admin sees it
    for _ in range(service.runtime.settings.login_attempts):
        service.client.post("/api/auth/login", json={"email": "ghost@x.example", "password": "p"})
    before = last_id(service)
    ghost = service.client.post(
        "/api/auth/login", json={"email": "ghost@x.example", "password": "p"}
    )
    assert ghost.status_code == 429
    entry = the_one_entry(service, before)
    assert (entry["actor"], entry["clinic_id"], entry["outcome"]) == ("anonymous", None, "refused")
    holds_nothing_of(entry, "ghost")


def test_a_missing_unknown_or_ended_credential_leaves_one_denied_entry(service: Service) -> None:
    cases: list[tuple[dict[str, str], str, str, int | None]] = [
        ({}, "anonymous", "unauthenticated", None),
        ({"authorization": f"Bearer {uuid.uuid4().hex}"}, "anonymous", "unknown-credential", None),
    ]
    token, _ = accounts.mint_api_token(service.runtime, service.actor(Role.clinician), days=1)
    ended = {"authorization": f"Bearer {token}"}
    assert service.client.post("/api/auth/logout", headers=ended).status_code == 200
    cases.append((ended, ref(service, Role.clinician), "credential-ended", service.clinic_id))
    for headers, actor, reason, clinic in cases:
        before = last_id(service)
        response = service.client.get("/api/patients", headers=headers)
        assert response.status_code == 401
        entry = the_one_entry(service, before)
        assert (entry["actor"], entry["reason"], entry["clinic_id"]) == (actor, reason, clinic)
        assert (entry["action"], entry["resource_type"], entry["outcome"]) == (
            "read",
            "patient",
            "denied",
        )


# ------------------------------------------------------------------ tamper evidence


def test_an_intact_log_verifies(service: Service) -> None:
    busy_log(service)
    code, report = verify(url_of(service))
    assert code == 0, report
    assert report["ok"] is True
    assert report["entries"] == last_id(service)
    assert report["first_broken"] is None
    assert len(report["head"]["hash"]) == 64


def test_a_changed_entry_is_found_by_audit_verify(service: Service) -> None:
    busy_log(service)
    url = url_of(service)
    victim = last_id(service) - 2
    change_behind_the_databases_back(
        url, "UPDATE audit_log SET actor = 'user:999' WHERE id = :id", id=victim
    )
    code, report = verify(url)
    assert code == 3, report
    assert report["ok"] is False
    assert report["first_broken"]["id"] == victim
    assert report["broken"] == [victim]  # the entries after it still chain to its hash

    text_result = cli(url, "verify")
    assert text_result.exit_code == 3
    assert f"entry {victim}" in text_result.output


def test_a_removed_entry_is_found_by_audit_verify(service: Service) -> None:
    busy_log(service)
    url = url_of(service)
    gone = last_id(service) - 3
    change_behind_the_databases_back(url, "DELETE FROM audit_log WHERE id = :id", id=gone)
    code, report = verify(url)
    assert code == 3, report
    assert report["first_broken"]["id"] == gone + 1  # the entry that chained to it


def test_an_anchor_catches_a_rewritten_tail(service: Service) -> None:
    busy_log(service)
    url = url_of(service)
    code, report = verify(url)
    assert code == 0
    anchor = f"{report['head']['id']}:{report['head']['hash']}"
    victim = report["head"]["id"] - 1

    # an attacker who knows the format rewrites one entry and every hash after it
    engine = make_engine(url, pool=False)
    with engine.connect() as connection:
        rows = [
            dict(r._mapping)
            for r in connection.execute(
                select(AuditEntry.__table__).order_by(AuditEntry.__table__.c.id)
            )
        ]
    engine.dispose()
    from needlewise.persistence import audit_chain

    by_id = {row["id"]: row for row in rows}
    prev = by_id[victim - 1]["hash"]
    for row in (r for r in rows if r["id"] >= victim):
        if row["id"] == victim:
            row["actor"] = "user:999"
        row["hash"] = audit_chain.chain_hash(row, prev)
        prev = row["hash"]
        change_behind_the_databases_back(
            url,
            "UPDATE audit_log SET actor = :actor, hash = :hash WHERE id = :id",
            actor=row["actor"],
            hash=row["hash"],
            id=row["id"],
        )
    plain, _ = verify(url)
    assert plain == 0  # a chain without a secret can be rewritten whole ...
    anchored, report = verify(url, "--anchor", anchor)
    assert anchored == 3, report  # ... but not past an anchor kept elsewhere
    assert report["first_broken"]["id"] == report["head"]["id"]


def test_audit_verify_refuses_a_bad_anchor(service: Service) -> None:
    result = cli(url_of(service), "verify", "--anchor", "twelve")
    assert result.exit_code == 2
    assert "--anchor" in result.stderr
    assert "Traceback" not in result.output


def test_truncate_is_refused(service: Service) -> None:
    busy_log(service)
    url = url_of(service)
    statement = "DELETE FROM audit_log" if is_sqlite(url) else "TRUNCATE audit_log"
    engine = make_engine(url, pool=False)
    try:
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()
    assert last_id(service) > 0
    assert verify(url)[0] == 0


def test_the_chain_holds_under_concurrent_writers(service: Service) -> None:
    """Two app "processes" (each its own pool and group commit) write at once: check-ins
    in batches and single audited writes. Every entry lands, in one unbroken chain."""
    url = url_of(service)
    patients = [make_patient(service, f"Conc{i}") for i in range(2)]
    second = replace(service.runtime, db=Database(url))
    runtimes = [service.runtime, second]
    actor = service.actor(Role.front_desk)
    before = last_id(service)
    errors: list[BaseException] = []
    per_thread = 12

    def check_ins_of(runtime: Any, patient: int) -> None:
        try:
            for _ in range(per_thread):
                check_ins.record_check_in(runtime, actor, patient, CHECK_IN)
        except BaseException as exc:
            errors.append(exc)

    def reads_of(runtime: Any, patient: int) -> None:
        try:
            for _ in range(per_thread):
                audit.record_reads(runtime.db, actor, "patient", [(patient, patient)])
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(runtime, patient))
        for runtime in runtimes
        for patient in patients
        for work in (check_ins_of, check_ins_of, reads_of)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    second.db.dispose()
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    written = entries_after(service, before)
    assert len(written) == len(threads) * per_thread
    code, report = verify(url)
    assert code == 0, report


# ------------------------------------------------------------------ existing databases


@pytest.fixture
def empty_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    if is_sqlite(database_url):
        yield f"sqlite:///{tmp_path / 'older.sqlite'}"
        return
    base = database_url.rsplit("/", 1)[0]
    name = f"nw_a_{uuid.uuid4().hex[:12]}"
    with postgres.admin(base) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    yield f"{base}/{name}"
    with postgres.admin(base) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_the_migration_chains_and_scopes_existing_entries(empty_url: str) -> None:
    scripts = ScriptDirectory.from_config(config(empty_url))
    older = scripts.get_revision(MIGRATION).down_revision
    assert isinstance(older, str)
    upgrade(empty_url, older)

    now = datetime.now(UTC)
    stamps = {"created_at": now, "updated_at": now, "version": 1}

    def stamped() -> tuple[sa.ColumnClause[Any], ...]:
        return (
            sa.column("created_at", UtcDateTime()),
            sa.column("updated_at", UtcDateTime()),
            sa.column("version"),
        )

    clinics = sa.table(
        "clinics",
        sa.column("id"),
        sa.column("name"),
        sa.column("phones", sa.JSON()),
        sa.column("languages", sa.JSON()),
        *stamped(),
    )
    users = sa.table(
        "users",
        *(
            sa.column(c)
            for c in ("id", "clinic_id", "email", "name", "role", "password_hash", "active")
        ),
        *stamped(),
    )
    patients = sa.table(
        "patients",
        *(
            sa.column(c)
            for c in ("id", "clinic_id", "given_name", "family_name", "preferred_language")
        ),
        *stamped(),
    )
    links = sa.table(
        "patient_links",
        *(sa.column(c) for c in ("id", "patient_id", "purpose", "created_by")),
        sa.column("created_at", UtcDateTime()),
        sa.column("expires_at", UtcDateTime()),
    )
    log = sa.table(
        "audit_log",
        sa.column("at", UtcDateTime()),
        *(
            sa.column(c)
            for c in (
                "actor",
                "action",
                "resource_type",
                "resource_id",
                "patient_id",
                "remote",
                "outcome",
            )
        ),
    )
    engine = make_engine(empty_url, pool=False)
    with engine.begin() as connection:
        for clinic in (1, 2):
            connection.execute(
                clinics.insert().values(
                    id=clinic, name=f"C{clinic}", phones=[], languages=["en"], **stamps
                )
            )
        connection.execute(
            users.insert().values(
                id=7,
                clinic_id=2,
                email="u@x.example",
                name="U",
                role="admin",
                password_hash="x",
                active=True,
                **stamps,
            )
        )
        connection.execute(
            patients.insert().values(
                id=3,
                clinic_id=2,
                given_name="P",
                family_name="Q",
                preferred_language="en",
                **stamps,
            )
        )
        connection.execute(
            links.insert().values(
                id=5,
                patient_id=3,
                purpose="check-in",
                created_by="user:7",
                created_at=now,
                expires_at=now,
            )
        )
        old = [
            ("user:7", "read", "patient", "3", 3),
            ("link:5", "create", "check-in", "11", 3),
            ("system", "create", "clinic", "1", None),
            ("system", "create", "patient", "3", 3),
            ("anonymous", "login", "session", None, None),
            ("user:404", "read", "patient", "3", 3),
        ]
        for i, (actor, action, kind, resource, patient) in enumerate(old):
            connection.execute(
                log.insert().values(
                    at=now + timedelta(microseconds=i),
                    actor=actor,
                    action=action,
                    resource_type=kind,
                    resource_id=resource,
                    patient_id=patient,
                    remote="127.0.0.1",
                    outcome="ok",
                )
            )
    engine.dispose()

    upgrade(empty_url)
    code, report = verify(empty_url)
    assert code == 0, report
    assert report["entries"] == len(old)
    db = Database(empty_url, pool=False)
    with db.read() as session:
        scoped = session.execute(
            select(AuditEntry.actor, AuditEntry.clinic_id).order_by(AuditEntry.id)
        )
        assert [tuple(row) for row in scoped] == [
            ("user:7", 2),  # the user's clinic
            ("link:5", 2),  # the link's patient's clinic
            ("system", 1),  # the clinic it created
            ("system", 2),  # the patient's clinic
            ("anonymous", None),  # no clinic: operators only
            ("user:404", 2),  # an unknown user: the patient's clinic
        ]
    # new entries chain on to the migrated ones
    audit.record_reads(db, Actor(ref="user:7", clinic_id=2), "patient", [(3, 3)])
    db.dispose()
    code, report = verify(empty_url)
    assert (code, report["entries"]) == (0, len(old) + 1)
