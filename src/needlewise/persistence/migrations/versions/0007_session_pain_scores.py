"""Pain before and after a session: the NPRS score (0-10) the clinician asked for.

* ``treatment_sessions``: ``pain_before`` and ``pain_after`` (nullable integers; the
  Numeric Pain Rating Scale of ``measures.yaml``, 0 no pain to 10 worst imaginable). The
  patient chart draws their trend.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("treatment_sessions") as batch:
        batch.add_column(sa.Column("pain_before", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("pain_after", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("treatment_sessions") as batch:
        batch.drop_column("pain_after")
        batch.drop_column("pain_before")
