"""password_link: single-use, expiring set-password links (invitations and resets)

Revision ID: 0011_invitations
Revises: 0010_office
Create Date: 2026-12-02

The portfolio office adds users in the browser; each gets an e-mail with a link to choose a
password. Only the hash of the link's token is stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_invitations"
down_revision = "0010_office"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "password_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_password_link_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_link_token_hash")),
    )
    op.create_index(op.f("ix_password_link_user_id"), "password_link", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_password_link_user_id"), table_name="password_link")
    op.drop_table("password_link")
