"""Credentials that end with a change of password, activity or role; labelled API
tokens; login attempts from known devices.

* ``users.credential_epoch`` and ``auth_sessions.user_epoch``: a session or token works
  only while its epoch is its user's (every change of password, activity or role raises
  the user's), so no credential outlives such a change, even one made in a race with it.
* ``auth_sessions.label``: what an API token is for (shown when tokens are listed), and
  an index on ``auth_sessions.user_id`` (tokens are listed and ended per user).
* ``login_attempts.device_key``: which known device (signed cookie) an attempt came
  from, for the per-device limit that lets the right password through a lockout.

Existing rows get epoch 0 on both sides, so every current session goes on working.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("credential_epoch", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("auth_sessions") as batch:
        batch.add_column(sa.Column("user_epoch", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("label", sa.String(length=100), nullable=True))
        batch.create_index("ix_auth_sessions_user_id", ["user_id"])
    with op.batch_alter_table("login_attempts") as batch:
        batch.add_column(sa.Column("device_key", sa.String(length=64), nullable=True))
        batch.create_index("ix_login_attempts_device_at", ["device_key", "at"])


def downgrade() -> None:
    # plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch rebuild of ``users`` would
    # drop the table, which the foreign keys of a database with users refuse
    op.drop_index("ix_login_attempts_device_at", table_name="login_attempts")
    op.drop_column("login_attempts", "device_key")
    op.drop_index("ix_auth_sessions_user_id", table_name="auth_sessions")
    op.drop_column("auth_sessions", "label")
    op.drop_column("auth_sessions", "user_epoch")
    op.drop_column("users", "credential_epoch")
