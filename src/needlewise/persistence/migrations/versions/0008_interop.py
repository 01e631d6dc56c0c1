"""Interoperability: FHIR import, CDS Hooks cards and feedback, used JWT ids.

* ``patient_identifiers``: other systems' identifiers of our patients, unique per clinic,
  system and value (import finds a patient again by them).
* ``clinical_records``: Conditions, medications, Observations and AllergyIntolerances
  imported as FHIR JSON, unique per patient, resource type and identity.
* ``cds_cards`` and ``cds_feedback``: the cards our CDS Hooks services returned and what
  clinicians did with them.
* ``used_jwt_ids``: CDS clients' JWT ids until their token expires (replay refusal).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "patient_identifiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_patient_identifiers_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_patient_identifiers_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_identifiers")),
        sa.UniqueConstraint(
            "clinic_id", "system", "value", name="uq_patient_identifiers_clinic_system_value"
        ),
    )
    op.create_index("ix_patient_identifiers_patient_id", "patient_identifiers", ["patient_id"])
    op.create_table(
        "clinical_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("identity", sa.String(length=600), nullable=False),
        sa.Column("resource", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_clinical_records_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinical_records")),
        sa.UniqueConstraint(
            "patient_id",
            "resource_type",
            "identity",
            name="uq_clinical_records_patient_type_identity",
        ),
    )
    op.create_index("ix_clinical_records_patient_id", "clinical_records", ["patient_id"])
    op.create_table(
        "cds_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.String(length=80), nullable=False),
        sa.Column("hook", sa.String(length=60), nullable=False),
        sa.Column("hook_instance", sa.String(length=100), nullable=False),
        sa.Column("client", sa.String(length=255), nullable=False),
        sa.Column("indicator", sa.String(length=10), nullable=False),
        sa.Column("summary", sa.String(length=140), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_cds_cards_clinic_id_clinics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cds_cards")),
        sa.UniqueConstraint("uuid", name=op.f("uq_cds_cards_uuid")),
    )
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_uuid", sa.String(length=36), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.String(length=80), nullable=False),
        sa.Column("client", sa.String(length=255), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("accepted_suggestions", sa.JSON(), nullable=False),
        sa.Column("override_system", sa.String(length=255), nullable=True),
        sa.Column("override_code", sa.String(length=100), nullable=True),
        sa.Column("override_display", sa.String(length=255), nullable=True),
        sa.Column("user_comment", sa.Text(), nullable=True),
        sa.Column("outcome_timestamp", _TS, nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_cds_feedback_clinic_id_clinics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cds_feedback")),
    )
    op.create_index("ix_cds_feedback_card_uuid", "cds_feedback", ["card_uuid"])
    op.create_table(
        "used_jwt_ids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("jti", sa.String(length=255), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_used_jwt_ids")),
        sa.UniqueConstraint("issuer", "jti", name="uq_used_jwt_ids_issuer_jti"),
    )
    op.create_index("ix_used_jwt_ids_expires_at", "used_jwt_ids", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_used_jwt_ids_expires_at", table_name="used_jwt_ids")
    op.drop_table("used_jwt_ids")
    op.drop_index("ix_cds_feedback_card_uuid", table_name="cds_feedback")
    op.drop_table("cds_feedback")
    op.drop_table("cds_cards")
    op.drop_index("ix_clinical_records_patient_id", table_name="clinical_records")
    op.drop_table("clinical_records")
    op.drop_index("ix_patient_identifiers_patient_id", table_name="patient_identifiers")
    op.drop_table("patient_identifiers")
