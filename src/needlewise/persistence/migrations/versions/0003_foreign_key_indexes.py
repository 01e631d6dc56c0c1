"""Index the foreign keys that lists and joins filter on.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_session_muscles_session_id", "session_muscles", "session_id"),
    ("ix_adverse_events_session_id", "adverse_events", "session_id"),
    ("ix_check_ins_session_id", "check_ins", "session_id"),
    ("ix_patient_links_patient_id", "patient_links", "patient_id"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _column in INDEXES:
        op.drop_index(name, table_name=table)
