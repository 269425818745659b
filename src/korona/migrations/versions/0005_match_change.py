"""match change log: one row per solution, need or input a commit changed

Revision ID: 0005_match
Revises: 0004_login
Create Date: 2026-12-01

The log starts empty: an index built after this revision reads the tables themselves and
then follows the log.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_match"
down_revision = "0004_login"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "match_change",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_match_change")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("match_change")
