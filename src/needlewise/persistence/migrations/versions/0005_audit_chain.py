"""Scope the audit log by clinic, give refusals a reason, chain every entry by hash, and
refuse TRUNCATE of the audit log on PostgreSQL.

The entries already there get a clinic (the acting user's or patient link's clinic; else
the clinic of the patient or clinic they name; else none: system and anonymous entries
are then seen by operators only) and are chained in id order, in one pass that reads
them in batches. The append-only triggers are lifted for that pass and put back after.
On a large log this takes a while (roughly a minute per million entries) and, on
PostgreSQL, leaves a dead copy of every row for autovacuum: run ``VACUUM audit_log``
after the upgrade if disk is short.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from needlewise.persistence.audit_chain import GENESIS, chain_hash
from needlewise.persistence.models.base import UtcDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "audit_log is append-only"  # as in 0002
BATCH = 2000

_log = sa.table(
    "audit_log",
    sa.column("id", sa.Integer()),
    sa.column("at", UtcDateTime()),
    *(
        sa.column(name, sa.String())
        for name in ("actor", "action", "resource_type", "resource_id", "remote", "outcome")
    ),
    sa.column("patient_id", sa.Integer()),
    sa.column("clinic_id", sa.Integer()),
    sa.column("reason", sa.String()),
    sa.column("hash", sa.String()),
)


def _drop_append_only(postgres: bool) -> None:
    if postgres:
        op.execute("DROP TRIGGER audit_log_no_change ON audit_log")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute("DROP TRIGGER audit_log_no_delete")


def _create_append_only(postgres: bool) -> None:
    if postgres:
        op.execute(
            "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )


def _clinics(connection: sa.Connection) -> tuple[dict[str, int], dict[int, int], set[int]]:
    """(actor ref -> clinic, patient id -> clinic, clinic ids) from the current tables."""
    actors: dict[str, int] = {}
    for user_id, clinic_id in connection.execute(sa.text("SELECT id, clinic_id FROM users")):
        actors[f"user:{user_id}"] = clinic_id
    patients: dict[int, int] = {}
    for patient_id, clinic_id in connection.execute(sa.text("SELECT id, clinic_id FROM patients")):
        patients[patient_id] = clinic_id
    for link_id, patient_id in connection.execute(
        sa.text("SELECT id, patient_id FROM patient_links")
    ):
        if patient_id in patients:
            actors[f"link:{link_id}"] = patients[patient_id]
    clinics = {cid for (cid,) in connection.execute(sa.text("SELECT id FROM clinics"))}
    return actors, patients, clinics


def _clinic_of(
    row: dict[str, Any], actors: dict[str, int], patients: dict[int, int], clinics: set[int]
) -> int | None:
    if row["actor"] in actors:
        return actors[row["actor"]]
    if row["patient_id"] in patients:
        return patients[row["patient_id"]]
    resource = row["resource_id"]
    if row["resource_type"] == "clinic" and resource and resource.isdigit():
        return int(resource) if int(resource) in clinics else None
    return None


def _chain_existing(connection: sa.Connection) -> None:
    """Give every existing entry its clinic and hash, in id order, batch by batch."""
    actors, patients, clinics = _clinics(connection)
    update = (
        _log.update()
        .where(_log.c.id == sa.bindparam("row_id"))
        .values(clinic_id=sa.bindparam("row_clinic"), hash=sa.bindparam("row_hash"))
    )
    previous, after = GENESIS, 0
    while True:
        rows = [
            dict(row._mapping)
            for row in connection.execute(
                sa.select(_log).where(_log.c.id > after).order_by(_log.c.id).limit(BATCH)
            )
        ]
        if not rows:
            return
        changes = []
        for row in rows:
            row["clinic_id"] = _clinic_of(row, actors, patients, clinics)
            row["reason"] = None
            previous = chain_hash(row, previous)
            changes.append(
                {"row_id": row["id"], "row_clinic": row["clinic_id"], "row_hash": previous}
            )
        connection.execute(update, changes)
        after = rows[-1]["id"]


def upgrade() -> None:
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    _drop_append_only(postgres)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clinic_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    _chain_existing(connection)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index("ix_audit_log_clinic_id", ["clinic_id", "id"], unique=False)
    _create_append_only(postgres)
    if postgres:
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        # the chain gave ids itself: the id sequence must not hand out one of them again
        op.execute(
            "SELECT setval(pg_get_serial_sequence('audit_log', 'id'), "
            "GREATEST((SELECT MAX(id) FROM audit_log), 1))"
        )
    _drop_append_only(postgres)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_clinic_id")
        batch_op.drop_column("hash")
        batch_op.drop_column("reason")
        batch_op.drop_column("clinic_id")
    _create_append_only(postgres)
