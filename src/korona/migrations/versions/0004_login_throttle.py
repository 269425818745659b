"""login_failure: failed logins kept for throttling

Revision ID: 0004_login
Revises: 0003_outbox
Create Date: 2026-12-01

Failed logins per account and per client address live in the database so that every server
process counts the same attempts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_login"
down_revision = "0003_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failure")),
    )
    op.create_index("ix_login_failure_email_failed_at", "login_failure", ["email", "failed_at"])
    op.create_index("ix_login_failure_address_failed_at", "login_failure", ["address", "failed_at"])
    op.create_index("ix_login_failure_failed_at", "login_failure", ["failed_at"])


def downgrade() -> None:
    op.drop_index("ix_login_failure_failed_at", table_name="login_failure")
    op.drop_index("ix_login_failure_address_failed_at", table_name="login_failure")
    op.drop_index("ix_login_failure_email_failed_at", table_name="login_failure")
    op.drop_table("login_failure")
