"""municipal situation reports and the needs registered from them

Revision ID: 0008_situation
Revises: 0007_decisions
Create Date: 2026-12-02

One report per municipality and ISO week (a unique constraint); corrections change the row
and the audit log keeps the history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_situation"
down_revision = "0007_decisions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "situation_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality_number", sa.String(length=4), nullable=False),
        sa.Column("iso_year", sa.Integer(), nullable=False),
        sa.Column("iso_week", sa.Integer(), nullable=False),
        sa.Column("nursing_home_beds_free", sa.Integer(), nullable=False),
        sa.Column("acute_beds_free", sa.Integer(), nullable=False),
        sa.Column("test_capacity_per_day", sa.Integer(), nullable=False),
        sa.Column("staff_absence_percent", sa.Float(), nullable=False),
        sa.Column("home_care_load", sa.Integer(), nullable=False),
        sa.Column("tracing_capacity_per_day", sa.Integer(), nullable=False),
        sa.Column("needs_text", sa.Text(), nullable=False),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "length(municipality_number) = 4",
            name=op.f("ck_situation_report_municipality_number_length"),
        ),
        sa.CheckConstraint(
            "iso_week BETWEEN 1 AND 53", name=op.f("ck_situation_report_iso_week_range")
        ),
        sa.CheckConstraint(
            "nursing_home_beds_free >= 0",
            name=op.f("ck_situation_report_nursing_home_beds_free_range"),
        ),
        sa.CheckConstraint(
            "acute_beds_free >= 0", name=op.f("ck_situation_report_acute_beds_free_range")
        ),
        sa.CheckConstraint(
            "test_capacity_per_day >= 0",
            name=op.f("ck_situation_report_test_capacity_per_day_range"),
        ),
        sa.CheckConstraint(
            "staff_absence_percent >= 0 AND staff_absence_percent <= 100",
            name=op.f("ck_situation_report_staff_absence_percent_range"),
        ),
        sa.CheckConstraint(
            "home_care_load BETWEEN 1 AND 5", name=op.f("ck_situation_report_home_care_load_range")
        ),
        sa.CheckConstraint(
            "tracing_capacity_per_day >= 0",
            name=op.f("ck_situation_report_tracing_capacity_per_day_range"),
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_id"],
            ["user_account.id"],
            name=op.f("fk_situation_report_reported_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_situation_report")),
        sa.UniqueConstraint(
            "municipality_number",
            "iso_year",
            "iso_week",
            name=op.f("uq_situation_report_municipality_number"),
        ),
    )
    op.create_index(
        op.f("ix_situation_report_municipality_number"),
        "situation_report",
        ["municipality_number"],
    )
    op.create_table(
        "situation_report_need",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["need_id"], ["need.id"], name=op.f("fk_situation_report_need_need_id_need")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["situation_report.id"],
            name=op.f("fk_situation_report_need_report_id_situation_report"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_situation_report_need")),
        sa.UniqueConstraint("need_id", name=op.f("uq_situation_report_need_need_id")),
    )
    op.create_index(
        op.f("ix_situation_report_need_report_id"), "situation_report_need", ["report_id"]
    )


def downgrade() -> None:
    op.drop_table("situation_report_need")
    op.drop_table("situation_report")
