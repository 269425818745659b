"""office: triage outcome time of an input, and need links carried by a merge

Revision ID: 0010_office
Revises: 0009_subscriptions
Create Date: 2026-12-02

``proposal_input.triaged_at`` marks an input the office has dealt with while its status stays
"received" (linked to needs): it leaves the triage queue. ``input_need.merged_from_id`` names
the merged input a link was carried over from, so undoing the merge removes exactly those.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_office"
down_revision = "0009_subscriptions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("proposal_input") as batch:
        batch.add_column(sa.Column("triaged_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("input_need") as batch:
        batch.add_column(sa.Column("merged_from_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_input_need_merged_from_id_proposal_input"),
            "proposal_input",
            ["merged_from_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("input_need") as batch:
        batch.drop_constraint(
            op.f("fk_input_need_merged_from_id_proposal_input"), type_="foreignkey"
        )
        batch.drop_column("merged_from_id")
    with op.batch_alter_table("proposal_input") as batch:
        batch.drop_column("triaged_at")
