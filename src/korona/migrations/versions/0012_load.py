"""login_failure.settled: attempts still checking a password apart from real failures

Revision ID: 0012_load
Revises: 0011_invitations
Create Date: 2026-12-02

An attempt is recorded before its password is checked (so parallel guesses share one
allowance) and marked settled when the check fails; a success removes it. Existing rows are
failures.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_load"
down_revision = "0011_invitations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_failure") as batch:
        batch.add_column(
            sa.Column("settled", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("login_failure") as batch:
        batch.drop_column("settled")
