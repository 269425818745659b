"""decisions and measures: programmes, measures, milestones, progress, experience, letters

Revision ID: 0007_decisions
Revises: 0006_assessment
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_decisions"
down_revision = "0006_assessment"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "delivered",
                "review_due",
                name="noticekind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_template")),
        sa.UniqueConstraint("kind", "language", name=op.f("uq_notice_template_kind")),
    )
    op.create_table(
        "programme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme")),
        sa.UniqueConstraint("name", name=op.f("uq_programme_name")),
    )
    op.create_table(
        "measure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_organisation_id", sa.Integer(), nullable=True),
        sa.Column("responsible_name", sa.String(length=200), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "in_progress",
                "delivered",
                "stopped",
                name="measurestatus",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("input_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status != 'stopped' OR stop_reason IS NOT NULL",
            name=op.f("ck_measure_stopped_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["input_id"],
            ["proposal_input.id"],
            name=op.f("fk_measure_input_id_proposal_input"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_organisation_id"],
            ["organisation.id"],
            name=op.f("fk_measure_owner_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programme.id"], name=op.f("fk_measure_programme_id_programme")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure")),
        sa.UniqueConstraint("input_id", name=op.f("uq_measure_input_id")),
    )
    with op.batch_alter_table("measure", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_measure_owner_organisation_id"), ["owner_organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_measure_programme_id"), ["programme_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_measure_status"), ["status"], unique=False)

    op.create_table(
        "review_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("review_by_date", sa.Date(), nullable=False),
        sa.Column("outbox_message_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["need_id"],
            ["need.id"],
            name=op.f("fk_review_reminder_need_id_need"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_message_id"],
            ["outbox_message.id"],
            name=op.f("fk_review_reminder_outbox_message_id_outbox_message"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_reminder")),
        sa.UniqueConstraint("need_id", "review_by_date", name=op.f("uq_review_reminder_need_id")),
    )
    op.create_table(
        "experience_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("solution_id", sa.Integer(), nullable=True),
        sa.Column("measure_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(solution_id IS NULL) != (measure_id IS NULL)",
            name=op.f("ck_experience_note_one_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_experience_note_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["measure.id"],
            name=op.f("fk_experience_note_measure_id_measure"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_experience_note_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["solution_id"],
            ["solution.id"],
            name=op.f("fk_experience_note_solution_id_solution"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experience_note")),
    )
    with op.batch_alter_table("experience_note", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_experience_note_measure_id"), ["measure_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_experience_note_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_experience_note_solution_id"), ["solution_id"], unique=False
        )

    op.create_table(
        "measure_need",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["measure.id"],
            name=op.f("fk_measure_need_measure_id_measure"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["need_id"], ["need.id"], name=op.f("fk_measure_need_need_id_need"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_need")),
        sa.UniqueConstraint("measure_id", "need_id", name=op.f("uq_measure_need_measure_id")),
    )
    with op.batch_alter_table("measure_need", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_measure_need_measure_id"), ["measure_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_measure_need_need_id"), ["need_id"], unique=False)

    op.create_table(
        "milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("planned_date", sa.Date(), nullable=False),
        sa.Column("done_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["measure.id"],
            name=op.f("fk_milestone_measure_id_measure"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone")),
    )
    with op.batch_alter_table("milestone", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_milestone_measure_id"), ["measure_id"], unique=False)

    op.create_table(
        "progress_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column(
            "rag",
            sa.Enum(
                "green",
                "amber",
                "red",
                name="rag",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("next_milestone", sa.String(length=200), nullable=False),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["measure.id"],
            name=op.f("fk_progress_report_measure_id_measure"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_id"],
            ["user_account.id"],
            name=op.f("fk_progress_report_reported_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_report")),
    )
    with op.batch_alter_table("progress_report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_progress_report_measure_id"), ["measure_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_progress_report_reported_at"), ["reported_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("progress_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_progress_report_reported_at"))
        batch_op.drop_index(batch_op.f("ix_progress_report_measure_id"))

    op.drop_table("progress_report")
    with op.batch_alter_table("milestone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_measure_id"))

    op.drop_table("milestone")
    with op.batch_alter_table("measure_need", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measure_need_need_id"))
        batch_op.drop_index(batch_op.f("ix_measure_need_measure_id"))

    op.drop_table("measure_need")
    with op.batch_alter_table("experience_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experience_note_solution_id"))
        batch_op.drop_index(batch_op.f("ix_experience_note_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_experience_note_measure_id"))

    op.drop_table("experience_note")
    op.drop_table("review_reminder")
    with op.batch_alter_table("measure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measure_status"))
        batch_op.drop_index(batch_op.f("ix_measure_programme_id"))
        batch_op.drop_index(batch_op.f("ix_measure_owner_organisation_id"))

    op.drop_table("measure")
    op.drop_table("programme")
    op.drop_table("notice_template")
