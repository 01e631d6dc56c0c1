"""Idempotency keys for retried creates, and flood counters on check-ins.

* ``idempotency_keys``: the first answer to each (caller scope, ``Idempotency-Key``),
  unique per scope and key, with an expiry.
* ``check_ins``: ``answers_sha256`` (finds an identical repeat), ``repeat_count`` and
  ``refused_count`` (repeats collapsed into it, submissions the rate limit refused),
  ``last_seen_at`` and ``flagged``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("etag", sa.String(length=80), nullable=True),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("resource_id", sa.String(length=40), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("key", "scope", name="uq_idempotency_keys_key_scope"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])
    with op.batch_alter_table("check_ins") as batch:
        batch.add_column(sa.Column("answers_sha256", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("repeat_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("refused_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("flagged", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("check_ins") as batch:
        for column in ("flagged", "last_seen_at", "refused_count", "repeat_count"):
            batch.drop_column(column)
        batch.drop_column("answers_sha256")
    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
