"""Aftercare: scheduled messages and alerts, outcome scores, clinic time zone.

* ``outbound_messages``: check-in invitations, reminders and clinic alerts, the queue of
  record the worker sends from (a transactional outbox; ``idempotency_key`` unique).
* ``outcome_scores``: NPRS, PSFS, NDI, ODI and other scored measures.
* ``clinics``: ``time_zone``, quiet hours, ``alert_email`` and ``aftercare`` (the clinic's
  changes to the check-in schedule).
* ``patients``: who opted out of check-in messages, and when.
* ``check_ins``: ``next_alert_at``, when an unacknowledged alert is repeated.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite supports it, with a constant default for NOT NULL): a batch
    # "copy and move" would drop and rebuild tables that others reference, which SQLite
    # refuses while foreign keys are enforced and rows point at them.
    op.add_column(
        "clinics",
        sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC"),
    )
    op.add_column(
        "clinics",
        sa.Column("quiet_hours_start", sa.String(length=5), nullable=False, server_default="21:00"),
    )
    op.add_column(
        "clinics",
        sa.Column("quiet_hours_end", sa.String(length=5), nullable=False, server_default="08:00"),
    )
    op.add_column("clinics", sa.Column("alert_email", sa.String(length=320), nullable=True))
    op.add_column("clinics", sa.Column("aftercare", sa.JSON(), nullable=True))
    op.add_column("patients", sa.Column("check_ins_opted_out_at", _TS, nullable=True))
    op.add_column(
        "patients", sa.Column("check_ins_opted_out_by", sa.String(length=40), nullable=True)
    )
    op.add_column("check_ins", sa.Column("next_alert_at", _TS, nullable=True))
    op.create_index(
        op.f("ix_check_ins_next_alert_at"), "check_ins", ["next_alert_at"], unique=False
    )

    op.create_table(
        "outbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("check_in_id", sa.Integer(), nullable=True),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("rule", sa.String(length=80), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("due_at", _TS, nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", _TS, nullable=True),
        sa.Column("sent_at", _TS, nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("cancel_reason", sa.String(length=40), nullable=True),
        sa.Column("handled_by", sa.Integer(), nullable=True),
        sa.Column("handled_at", _TS, nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_outbound_messages_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_outbound_messages_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_outbound_messages_session_id_treatment_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["check_in_id"],
            ["check_ins.id"],
            name=op.f("fk_outbound_messages_check_in_id_check_ins"),
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["patient_links.id"],
            name=op.f("fk_outbound_messages_link_id_patient_links"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["outbound_messages.id"],
            name=op.f("fk_outbound_messages_parent_id_outbound_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["handled_by"], ["users.id"], name=op.f("fk_outbound_messages_handled_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_messages")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbound_messages_idempotency_key")),
    )
    op.create_index(
        op.f("ix_outbound_messages_patient_id"), "outbound_messages", ["patient_id"], unique=False
    )
    op.create_index(
        op.f("ix_outbound_messages_session_id"), "outbound_messages", ["session_id"], unique=False
    )
    op.create_index(
        op.f("ix_outbound_messages_check_in_id"),
        "outbound_messages",
        ["check_in_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_outbound_messages_parent_id"), "outbound_messages", ["parent_id"], unique=False
    )
    op.create_index(
        "ix_outbound_messages_state_due", "outbound_messages", ["state", "due_at"], unique=False
    )
    op.create_index(
        "ix_outbound_messages_clinic_created",
        "outbound_messages",
        ["clinic_id", "created_at"],
        unique=False,
    )

    op.create_table(
        "outcome_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("check_in_id", sa.Integer(), nullable=True),
        sa.Column("measure", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("knowledge_version", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_outcome_scores_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            name=op.f("fk_outcome_scores_session_id_treatment_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["check_in_id"], ["check_ins.id"], name=op.f("fk_outcome_scores_check_in_id_check_ins")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_scores")),
    )
    op.create_index(
        op.f("ix_outcome_scores_session_id"), "outcome_scores", ["session_id"], unique=False
    )
    op.create_index(
        op.f("ix_outcome_scores_check_in_id"), "outcome_scores", ["check_in_id"], unique=False
    )
    op.create_index(
        "ix_outcome_scores_patient_measure",
        "outcome_scores",
        ["patient_id", "measure", "recorded_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("outcome_scores")
    op.drop_table("outbound_messages")
    # plain DROP COLUMN (SQLite 3.35 and newer), for the reason given in upgrade()
    op.drop_index(op.f("ix_check_ins_next_alert_at"), table_name="check_ins")
    op.drop_column("check_ins", "next_alert_at")
    op.drop_column("patients", "check_ins_opted_out_by")
    op.drop_column("patients", "check_ins_opted_out_at")
    for column in ("aftercare", "alert_email", "quiet_hours_end", "quiet_hours_start", "time_zone"):
        op.drop_column("clinics", column)
